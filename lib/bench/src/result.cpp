#include "adbench/bench/result.hpp"

#include <adbench/build_info.hpp>

#include <cmath>
#include <cstdlib>
#include <cstdio>
#include <sstream>

#include "adbench/core/system_info.hpp"

namespace adbench {

namespace {
nlohmann::json opt(const std::optional<double>& v) { return v ? nlohmann::json(*v) : nlohmann::json(nullptr); }

std::string limit_key(double limit) {
  std::ostringstream ss;
  ss << "aupro_" << limit;
  return ss.str();
}

std::string csv_escape(const std::string& s) {
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) out += (c == '"') ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

std::string fmt_value(const std::optional<double>& v, int digits) {
  if (!v) return "";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", digits, *v);
  return buf;
}

// Fixed AUPRO columns of the leaderboard CSV (other limits live in the JSON only).
constexpr double kCsvAuproLimits[] = {0.3, 0.05, 0.01};

/// j[key] when j is an object holding a string there, else "" (hand-edited files may hold anything).
std::string string_at(const nlohmann::json& j, const char* key) {
  if (!j.is_object()) return "";
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

std::optional<double> aupro_at(const CategoryResult& r, double limit) {
  if (!r.pixel) return std::nullopt;
  for (const auto& [l, v] : r.pixel->aupro)
    if (std::abs(l - limit) < 1e-12) return v;
  return std::nullopt;
}
}  // namespace

std::vector<std::pair<std::string, std::optional<double>>> metric_values(const CategoryResult& r) {
  std::vector<std::pair<std::string, std::optional<double>>> out = {
      {"image_auroc", r.image.auroc}, {"image_ap", r.image.ap}, {"image_f1_max", r.image.f1_max}};
  out.emplace_back("pixel_auroc", r.pixel ? r.pixel->auroc : std::nullopt);
  out.emplace_back("pixel_ap", r.pixel ? r.pixel->ap : std::nullopt);
  out.emplace_back("pixel_f1_max", r.pixel ? r.pixel->f1_max : std::nullopt);
  if (r.pixel)
    for (const auto& [l, v] : r.pixel->aupro) out.emplace_back(limit_key(l), v);
  return out;
}

nlohmann::json ResultRecord::to_json() const {
  nlohmann::json j;
  j["schema"] = kResultSchema;
  j["adbench"] = {{"version", build::kVersion}, {"git_commit", build::kGitCommit}, {"libtorch", build::kTorchVersion}};
  j["created_utc"] = created_utc;
  j["command"] = command;
  const char* omp = std::getenv("OMP_WAIT_POLICY");
  j["machine"] = {{"cpu", cpu_model_name()}, {"cores", cpu_cores()}, {"threads", threads},
                  {"omp_wait_policy", omp ? omp : "default"}};
  j["device"] = device;
  j["device_name"] = device_name;
  j["seed"] = seed;
  j["dataset"] = dataset;
  j["root"] = root;
  j["setting"] = setting;
  j["source"] = source;
  j["options"] = options;
  nlohmann::json cats = nlohmann::json::array();
  std::map<std::string, std::pair<double, int>> sums;
  for (const auto& c : categories) {
    nlohmann::json cj;
    cj["category"] = c.category;
    cj["level"] = c.level;
    const auto& n = c.counts;
    cj["counts"] = {{"train", n.train},           {"test", n.test},
                    {"test_normal", n.test_normal}, {"test_anomalous", n.test_anomalous},
                    {"masks", n.masks},           {"empty_masks", n.empty_masks},
                    {"pixels", n.pixels},         {"anomalous_pixels", n.anomalous_pixels},
                    {"regions", n.regions},       {"resized_maps", n.resized_maps}};
    nlohmann::json m = nlohmann::json::object();
    for (const auto& [k, v] : metric_values(c)) {
      m[k] = opt(v);
      if (v) {
        sums[k].first += *v;
        sums[k].second += 1;
      }
    }
    cj["metrics"] = m;
    if (c.image.f1_threshold) cj["image_f1_threshold"] = *c.image.f1_threshold;
    cj["seconds"] = {{"train", c.seconds.train}, {"infer", c.seconds.infer},
                     {"metrics", c.seconds.metrics}, {"total", c.seconds.total}};
    cj["warnings"] = c.warnings;
    if (!c.predicted_by.is_null()) cj["predicted_by"] = c.predicted_by;
    cats.push_back(cj);
  }
  j["categories"] = cats;
  nlohmann::json mean = nlohmann::json::object();
  for (const auto& [k, sv] : sums) {
    mean[k] = sv.first / sv.second;
  }
  // A mean over fewer categories than were evaluated is flagged, never silently mixed.
  nlohmann::json mean_counts = nlohmann::json::object();
  for (const auto& [k, sv] : sums) mean_counts[k] = sv.second;
  j["mean"] = {{"metrics", mean}, {"categories_counted", mean_counts}};
  j["warnings"] = warnings;
  j["wall_seconds"] = wall_seconds;
  j["peak_rss_bytes"] = peak_rss_bytes;
  return j;
}

std::string ResultRecord::csv_header() {
  return "created_utc,adbench_version,git_commit,dataset,category,setting,source,detector,config_sha256,"
         "backbone,weights_sha256,device,seed,image_auroc,image_ap,image_f1_max,pixel_auroc,pixel_ap,"
         "pixel_f1_max,aupro_0.3,aupro_0.05,aupro_0.01,train_s,infer_s,metrics_s";
}

std::string ResultRecord::csv_rows() const {
  std::ostringstream out;
  std::string kind = source.value("kind", "");
  std::string src = kind == "predictions" ? source.value("path", "") : kind;
  for (const auto& c : categories) {
    // A prediction folder written by adbench names its detector; any other source: the record's.
    const nlohmann::json& who = c.predicted_by.is_object() ? c.predicted_by : source;
    std::string detector = string_at(who, "detector");
    std::string config_sha = string_at(who, "config_sha256");
    std::string backbone, weights_sha;
    if (who.contains("provenance") && who["provenance"].is_object()) {
      // Strings when present; weights_sha256 is null for randomly initialised backbones ("none").
      const auto& prov = who["provenance"];
      backbone = string_at(prov, "backbone");
      weights_sha = string_at(prov, "weights_sha256");
      if (weights_sha.empty() && string_at(prov, "weights") == "none") weights_sha = "none";
    }
    std::vector<std::string> f = {created_utc, build::kVersion, build::kGitCommit, dataset, c.category,
                                  setting, src, detector, config_sha, backbone, weights_sha, device,
                                  std::to_string(seed)};
    f.push_back(fmt_value(c.image.auroc, 6));
    f.push_back(fmt_value(c.image.ap, 6));
    f.push_back(fmt_value(c.image.f1_max, 6));
    f.push_back(fmt_value(c.pixel ? c.pixel->auroc : std::nullopt, 6));
    f.push_back(fmt_value(c.pixel ? c.pixel->ap : std::nullopt, 6));
    f.push_back(fmt_value(c.pixel ? c.pixel->f1_max : std::nullopt, 6));
    for (double l : kCsvAuproLimits) f.push_back(fmt_value(aupro_at(c, l), 6));
    f.push_back(fmt_value(c.seconds.train, 3));
    f.push_back(fmt_value(c.seconds.infer, 3));
    f.push_back(fmt_value(c.seconds.metrics, 3));
    for (size_t i = 0; i < f.size(); ++i) out << (i ? "," : "") << csv_escape(f[i]);
    out << "\n";
  }
  return out.str();
}

std::string ResultRecord::table() const {
  if (categories.empty()) return "";
  auto cols = metric_values(categories.front());
  std::vector<std::string> names;
  for (const auto& [k, v] : cols) names.push_back(k);
  static const std::map<std::string, std::string> kShort = {
      {"image_auroc", "I-AUROC"}, {"image_ap", "I-AP"},     {"image_f1_max", "I-F1max"},
      {"pixel_auroc", "P-AUROC"}, {"pixel_ap", "P-AP"},     {"pixel_f1_max", "P-F1max"}};
  size_t w0 = 8;
  for (const auto& c : categories) w0 = std::max(w0, c.category.size());
  std::ostringstream out;
  char buf[64];
  std::snprintf(buf, sizeof buf, "%-*s", static_cast<int>(w0), "category");
  out << buf;
  for (const auto& n : names) {
    std::string h = kShort.count(n) ? kShort.at(n) : ("AUPRO@" + n.substr(6));
    std::snprintf(buf, sizeof buf, " %11s", h.c_str());
    out << buf;
  }
  out << "\n";
  std::map<std::string, std::pair<double, int>> sums;
  auto row = [&](const std::string& name, const std::vector<std::optional<double>>& vals) {
    std::snprintf(buf, sizeof buf, "%-*s", static_cast<int>(w0), name.c_str());
    out << buf;
    for (const auto& v : vals) {
      if (v) std::snprintf(buf, sizeof buf, " %11.2f", 100.0 * *v);
      else std::snprintf(buf, sizeof buf, " %11s", "-");
      out << buf;
    }
    out << "\n";
  };
  for (const auto& c : categories) {
    std::vector<std::optional<double>> vals;
    for (const auto& [k, v] : metric_values(c)) {
      vals.push_back(v);
      if (v) {
        sums[k].first += *v;
        sums[k].second++;
      }
    }
    vals.resize(names.size());
    row(c.category, vals);
  }
  if (categories.size() > 1) {
    std::vector<std::optional<double>> vals;
    for (const auto& n : names) {
      if (sums.count(n)) vals.push_back(sums[n].first / sums[n].second);
      else vals.push_back(std::nullopt);
    }
    row("mean", vals);
  }
  out << "(values in %, '-' = undefined or not computed; device " << device << ", " << wall_seconds << " s)\n";
  return out.str();
}

}  // namespace adbench
