#include "adbench/bench/result.hpp"

#include <adbench/build_info.hpp>
#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <sstream>

#include "adbench/core/system_info.hpp"

namespace adbench {

namespace {
nlohmann::json opt(const std::optional<double>& v) {
  return v ? nlohmann::json(*v) : nlohmann::json(nullptr);
}

std::string csv_escape(const std::string& s) {
  if (s.find_first_of(",\"\n\r") == std::string::npos) return s;
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

/// The producer's field, "" when unknown.
std::string produced(const ResultRow& r, std::string Provenance::*field) {
  return r.produced_by ? r.produced_by->*field : std::string();
}

/// A metric field of the field table: CSV cell with 6 decimals, table value.
ResultField metric_field(const std::string& key, const std::string& heading) {
  return {key, heading, [key](const ResultRow& r) { return fmt_value(r.level.metric(key), 6); },
          [key](const ResultRow& r) { return r.level.metric(key); }};
}

ResultField text_field(const std::string& name, std::function<std::string(const ResultRow&)> f) {
  return {name, "", std::move(f), nullptr};
}

/// Table headings: "I-AUROC" for the image level's auroc, "P-AUPRO@0.3" for the pixel level's aupro_0.3.
/// A multi-view sample's views are the papers' "image" columns (Real-IAD, MVAD: S-, I-, P-AUROC), so
/// the view level is "I" too (no result has both a view and an image level).
std::string level_prefix(const std::string& level) {
  static const std::map<std::string, std::string> kPrefix = {
      {"sample", "S"}, {"frame", "F"}, {"view", "I"}, {"image", "I"}, {"pixel", "P"}, {"point", "Pt"}};
  auto it = kPrefix.find(level);
  return it == kPrefix.end() ? level : it->second;
}

/// The field table's heading of a metric key; for metrics that are not CSV fields, the heading of
/// their first word plus the rest ("auroc_raw" -> "AUROC-raw", "aupro_0.2" -> "AUPRO@0.2"), else
/// the key in capitals ("eer" -> "EER").
std::string metric_heading(const std::string& key) {
  auto heading_of = [](const std::string& k) -> std::string {
    for (const auto& f : result_fields())
      if (f.name == k && !f.table_heading.empty()) return f.table_heading;
    return "";
  };
  if (std::string h = heading_of(key); !h.empty()) return h;
  if (key.rfind("aupro_", 0) == 0) return "AUPRO@" + key.substr(6);
  const std::size_t cut = key.find('_');
  if (cut != std::string::npos)
    if (std::string h = heading_of(key.substr(0, cut)); !h.empty()) return h + "-" + key.substr(cut + 1);
  std::string upper = key;
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return upper;
}
}  // namespace

ScoreHistogram score_histogram(const std::vector<double>& scores, const std::vector<std::int64_t>& labels,
                               int bins) {
  ScoreHistogram h;
  h.normal.assign(static_cast<size_t>(bins), 0);
  h.anomalous.assign(static_cast<size_t>(bins), 0);
  if (scores.empty()) return h;
  h.lo = *std::min_element(scores.begin(), scores.end());
  h.hi = *std::max_element(scores.begin(), scores.end());
  for (size_t i = 0; i < scores.size(); ++i) {
    std::int64_t b = 0;
    if (h.hi > h.lo) {
      b = static_cast<std::int64_t>(std::floor((scores[i] - h.lo) / (h.hi - h.lo) * bins));
      b = std::clamp<std::int64_t>(b, 0, bins - 1);
    }
    (labels[i] != 0 ? h.anomalous : h.normal)[static_cast<size_t>(b)] += 1;
  }
  return h;
}

const std::vector<std::string>& known_levels() {
  static const std::vector<std::string> k = {"sample", "frame", "view", "image", "pixel", "point"};
  return k;
}

std::optional<double> LevelResult::metric(const std::string& key) const {
  for (const auto& [k, v] : metrics)
    if (k == key) return v;
  return std::nullopt;
}

std::int64_t LevelResult::count(const std::string& key) const {
  for (const auto& [k, v] : counts)
    if (k == key) return v;
  return 0;
}

const LevelResult* CategoryResult::level(const std::string& name) const {
  for (const auto& l : levels)
    if (l.level == name) return &l;
  return nullptr;
}

const std::vector<ResultField>& result_fields() {
  static const std::vector<ResultField> fields = [] {
    std::vector<ResultField> f;
    f.push_back(text_field(kCsvSchema, [](const ResultRow&) { return std::string(build::kVersion); }));
    f.push_back(text_field("created_utc", [](const ResultRow& r) { return r.record.created_utc; }));
    f.push_back(text_field("git_commit", [](const ResultRow&) { return std::string(build::kGitCommit); }));
    f.push_back(text_field("dataset", [](const ResultRow& r) { return r.record.dataset; }));
    f.push_back(text_field("category", [](const ResultRow& r) { return r.category.category; }));
    f.push_back(text_field("setting", [](const ResultRow& r) { return r.record.setting; }));
    f.push_back(text_field("level", [](const ResultRow& r) { return r.level.level; }));
    f.push_back(text_field("source", [](const ResultRow& r) {
      const auto& s = r.record.source;
      std::string kind = s.is_object() ? s.value("kind", "") : "";
      std::string path = s.is_object() ? s.value("path", "") : "";
      return path.empty() ? kind : kind + ":" + path;
    }));
    f.push_back(
        text_field("detector", [](const ResultRow& r) { return produced(r, &Provenance::detector); }));
    f.push_back(text_field("spec", [](const ResultRow& r) { return produced(r, &Provenance::spec); }));
    f.push_back(text_field("config_sha256",
                           [](const ResultRow& r) { return produced(r, &Provenance::config_sha256); }));
    f.push_back(
        text_field("backbone", [](const ResultRow& r) { return produced(r, &Provenance::backbone); }));
    f.push_back(text_field("weights_sha256", [](const ResultRow& r) {
      std::string sha = produced(r, &Provenance::weights_sha256);
      return sha.empty() && produced(r, &Provenance::weights) == "none" ? std::string("none") : sha;
    }));
    f.push_back(text_field("device", [](const ResultRow& r) { return r.record.device; }));
    f.push_back(text_field("seed", [](const ResultRow& r) { return std::to_string(r.record.seed); }));
    f.push_back(metric_field("auroc", "AUROC"));
    f.push_back(metric_field("ap", "AP"));
    f.push_back(metric_field("f1_max", "F1max"));
    f.push_back(metric_field("aupro_0.3", "AUPRO@0.3"));
    f.push_back(metric_field("aupro_0.05", "AUPRO@0.05"));
    f.push_back(metric_field("aupro_0.01", "AUPRO@0.01"));
    f.push_back(
        text_field("units", [](const ResultRow& r) { return std::to_string(r.level.count("units")); }));
    f.push_back(text_field("anomalous",
                           [](const ResultRow& r) { return std::to_string(r.level.count("anomalous")); }));
    f.push_back(
        text_field("train_s", [](const ResultRow& r) { return fmt_value(r.category.seconds.train, 3); }));
    f.push_back(
        text_field("infer_s", [](const ResultRow& r) { return fmt_value(r.category.seconds.infer, 3); }));
    f.push_back(
        text_field("metrics_s", [](const ResultRow& r) { return fmt_value(r.category.seconds.metrics, 3); }));
    return f;
  }();
  return fields;
}

std::string ResultRecord::csv_header() {
  std::string out;
  for (const auto& f : result_fields()) out += (out.empty() ? "" : ",") + f.name;
  return out;
}

std::string ResultRecord::csv_rows() const {
  std::ostringstream out;
  for (const auto& c : categories) {
    const Provenance* who = c.produced_by ? &*c.produced_by : (produced_by ? &*produced_by : nullptr);
    for (const auto& l : c.levels) {
      ResultRow row{*this, c, l, who};
      bool first = true;
      for (const auto& f : result_fields()) {
        out << (first ? "" : ",") << csv_escape(f.cell(row));
        first = false;
      }
      out << "\n";
    }
  }
  return out.str();
}

nlohmann::json ResultRecord::to_json() const {
  nlohmann::json j;
  j["schema"] = kResultSchema;
  j["adbench"] = {{"version", build::kVersion},
                  {"git_commit", build::kGitCommit},
                  {"libtorch", build::kTorchVersion},
                  {"cuda", build::kCudaVersion}};
  j["created_utc"] = created_utc;
  j["command"] = command;
  const char* omp = std::getenv("OMP_WAIT_POLICY");
  const char* tunables = std::getenv("GLIBC_TUNABLES");
  const char* blas_timeout = std::getenv("OPENBLAS_THREAD_TIMEOUT");
  j["machine"] = {{"cpu", cpu_model_name()},
                  {"cores", cpu_cores()},
                  {"threads", threads},
                  {"omp_wait_policy", omp ? omp : "default"},
                  {"glibc_tunables", tunables ? tunables : "default"},
                  {"openblas_thread_timeout", blas_timeout ? blas_timeout : "default"}};
  j["device"] = device;
  j["device_name"] = device_name;
  j["seed"] = seed;
  j["dataset"] = dataset;
  j["root"] = root;
  j["setting"] = setting;
  j["source"] = source;
  j["produced_by"] = produced_by ? produced_by->to_json() : nlohmann::json(nullptr);
  j["options"] = options;
  nlohmann::json cats = nlohmann::json::array();
  // level -> metric -> (sum, n), for the means over categories.
  std::map<std::string, std::map<std::string, std::pair<double, int>>> sums;
  for (const auto& c : categories) {
    nlohmann::json cj;
    cj["category"] = c.category;
    cj["modality"] = to_string(c.modality);
    cj["counts"] = {{"train", c.train}, {"test", c.test}};
    nlohmann::json levels = nlohmann::json::array();
    for (const auto& l : c.levels) {
      nlohmann::json lj;
      lj["level"] = l.level;
      nlohmann::json m = nlohmann::json::object();
      for (const auto& [k, v] : l.metrics) {
        m[k] = opt(v);
        if (v) {
          sums[l.level][k].first += *v;
          sums[l.level][k].second += 1;
        }
      }
      lj["metrics"] = m;
      lj["f1_threshold"] = opt(l.f1_threshold);
      nlohmann::json counts = nlohmann::json::object();
      for (const auto& [k, v] : l.counts) counts[k] = v;
      lj["counts"] = counts;
      lj["warnings"] = l.warnings;
      nlohmann::json curves = nlohmann::json::object();
      for (const auto& [name, c] : {std::pair{"roc", &l.roc}, {"pr", &l.pr}, {"pro", &l.pro}})
        if (*c) curves[name] = {{"x", (*c)->x}, {"y", (*c)->y}};
      if (!curves.empty()) lj["curves"] = curves;
      if (l.histogram)
        lj["histogram"] = {{"lo", l.histogram->lo},
                           {"hi", l.histogram->hi},
                           {"bins", l.histogram->normal.size()},
                           {"normal", l.histogram->normal},
                           {"anomalous", l.histogram->anomalous}};
      levels.push_back(lj);
    }
    cj["levels"] = levels;
    cj["seconds"] = {{"train", c.seconds.train},
                     {"infer", c.seconds.infer},
                     {"metrics", c.seconds.metrics},
                     {"total", c.seconds.total}};
    cj["warnings"] = c.warnings;
    if (c.produced_by) cj["produced_by"] = c.produced_by->to_json();
    cats.push_back(cj);
  }
  j["categories"] = cats;
  // Means over categories per level and metric; a mean over fewer categories than were evaluated
  // is flagged by its count, never silently mixed.
  nlohmann::json mean = nlohmann::json::object();
  for (const auto& [level, metrics] : sums) {
    nlohmann::json m = nlohmann::json::object(), n = nlohmann::json::object();
    for (const auto& [k, sv] : metrics) {
      m[k] = sv.first / sv.second;
      n[k] = sv.second;
    }
    mean[level] = {{"metrics", m}, {"categories_counted", n}};
  }
  j["mean"] = mean;
  j["warnings"] = warnings;
  j["wall_seconds"] = wall_seconds;
  j["peak_rss_bytes"] = peak_rss_bytes;
  return j;
}

std::string ResultRecord::table() const {
  if (categories.empty()) return "";
  // Columns: every (level, metric) some category has, levels coarse to fine.
  std::vector<std::pair<std::string, std::string>> cols;
  for (const auto& level : known_levels())
    for (const auto& c : categories)
      if (const LevelResult* l = c.level(level))
        for (const auto& [k, v] : l->metrics)
          if (std::find(cols.begin(), cols.end(), std::make_pair(level, k)) == cols.end())
            cols.emplace_back(level, k);
  size_t w0 = 8;
  for (const auto& c : categories) w0 = std::max(w0, c.category.size());
  std::ostringstream out;
  char buf[64];
  std::snprintf(buf, sizeof buf, "%-*s", static_cast<int>(w0), "category");
  out << buf;
  for (const auto& [level, key] : cols) {
    std::string h = level_prefix(level) + "-" + metric_heading(key);
    std::snprintf(buf, sizeof buf, " %11s", h.c_str());
    out << buf;
  }
  out << "\n";
  auto row = [&](const std::string& name, const std::vector<std::optional<double>>& vals) {
    std::snprintf(buf, sizeof buf, "%-*s", static_cast<int>(w0), name.c_str());
    out << buf;
    for (const auto& v : vals) {
      if (v)
        std::snprintf(buf, sizeof buf, " %11.2f", 100.0 * *v);
      else
        std::snprintf(buf, sizeof buf, " %11s", "-");
      out << buf;
    }
    out << "\n";
  };
  std::vector<std::pair<double, int>> sums(cols.size());
  for (const auto& c : categories) {
    std::vector<std::optional<double>> vals;
    for (size_t i = 0; i < cols.size(); ++i) {
      const LevelResult* l = c.level(cols[i].first);
      std::optional<double> v = l ? l->metric(cols[i].second) : std::nullopt;
      vals.push_back(v);
      if (v) sums[i].first += *v, sums[i].second++;
    }
    row(c.category, vals);
  }
  if (categories.size() > 1) {
    std::vector<std::optional<double>> vals;
    for (const auto& [s, n] : sums) vals.push_back(n ? std::optional<double>(s / n) : std::nullopt);
    row("mean", vals);
  }
  out << "(values in %, '-' = undefined or not computed; device " << device << ", " << wall_seconds
      << " s)\n";
  return out.str();
}

}  // namespace adbench
