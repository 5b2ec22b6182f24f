#include "adbench/bench/batch.hpp"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <adbench/build_info.hpp>
#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>

#include "adbench/bench/provenance.hpp"
#include "adbench/core/error.hpp"
#include "adbench/core/fs.hpp"
#include "adbench/core/interrupt.hpp"
#include "adbench/core/sha256.hpp"
#include "adbench/core/system_info.hpp"
#include "adbench/datasets/dataset.hpp"
#include "adbench/detectors/detector.hpp"

extern char** environ;

namespace adbench {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr const char* kManifestSchema = "adbench.batch/1";
constexpr const char* kCellSchema = "adbench.batch-cell/1";
constexpr const char* kBatchMarker = "batch";

[[noreturn]] void bad(const fs::path& file, const std::string& where, const std::string& what) {
  throw InputError(file.string() + ": " + (where.empty() ? "" : where + ": ") + what);
}

void only_keys(const fs::path& file, const std::string& where, const json& obj,
               const std::vector<std::string>& valid) {
  for (const auto& [k, v] : obj.items()) {
    if (std::find(valid.begin(), valid.end(), k) != valid.end()) continue;
    std::string list;
    for (const auto& s : valid) list += (list.empty() ? "" : ", ") + s;
    bad(file, where, "unknown key '" + excerpt(k, 40) + "' (valid: " + list + ")");
  }
}

std::string text_value(const fs::path& file, const std::string& where, const json& v) {
  if (!v.is_string()) bad(file, where, "expected a string, got " + excerpt(v.dump(), 40));
  return v.get<std::string>();
}

/// A name used as a folder: letters, digits, '.', '_', '-', not "." or "..".
void check_folder_name(const fs::path& file, const std::string& where, const std::string& s) {
  static const std::regex ok("[A-Za-z0-9._-]+");
  if (s.empty() || s == "." || s == ".." || !std::regex_match(s, ok))
    bad(file, where, "'" + excerpt(s, 40) + "' is not a usable folder name (letters, digits, '.', '_', '-')");
}

fs::path absolute_from(const fs::path& base, const std::string& p) {
  fs::path q(p);
  return (q.is_absolute() ? q : base / q).lexically_normal();
}

/// The cross product of a settings object: every array value is swept (a list-valued setting is
/// given as a list of lists), in key order.
std::vector<json> expand_settings(const json& settings) {
  std::vector<json> out{json::object()};
  for (const auto& [k, v] : settings.items()) {
    std::vector<json> next;
    const std::vector<json> values = v.is_array() ? v.get<std::vector<json>>() : std::vector<json>{v};
    for (const auto& base : out)
      for (const auto& value : values) {
        json s = base;
        s[k] = value;
        next.push_back(std::move(s));
      }
    out = std::move(next);
  }
  return out;
}

/// eval's metric options a matrix may set, and the flag each becomes.
struct MetricKey {
  const char* key;
  const char* flag;
  enum { Numbers, Text, Integer, Flag } type;
};
constexpr MetricKey kMetricKeys[] = {
    {"aupro_limits", "--aupro-limits", MetricKey::Numbers},
    {"ap_convention", "--ap-convention", MetricKey::Text},
    {"aupro_bins", "--aupro-bins", MetricKey::Integer},
    {"aupro_convention", "--aupro-convention", MetricKey::Text},
    {"curves", "--curves", MetricKey::Flag},
    {"no_resize", "--no-resize", MetricKey::Flag},
    {"frame_norm", "--frame-norm", MetricKey::Text},
    {"skip_frames", "--skip-frames", MetricKey::Integer},
    {"score_direction", "--score-direction", MetricKey::Text},
    {"sample_agg", "--sample-agg", MetricKey::Text},
    {"batch_size", "--batch-size", MetricKey::Integer},
};

json check_metrics(const fs::path& file, const json& m) {
  if (!m.is_object()) bad(file, "/metrics", "expected an object");
  std::vector<std::string> valid;
  for (const auto& k : kMetricKeys) valid.push_back(k.key);
  only_keys(file, "/metrics", m, valid);
  for (const auto& k : kMetricKeys) {
    if (!m.contains(k.key)) continue;
    const json& v = m[k.key];
    const std::string where = std::string("/metrics/") + k.key;
    switch (k.type) {
      case MetricKey::Numbers:
        if (!v.is_array() || v.empty() ||
            !std::all_of(v.begin(), v.end(), [](const json& x) { return x.is_number(); }))
          bad(file, where, "expected a non-empty list of numbers, got " + excerpt(v.dump(), 40));
        break;
      case MetricKey::Text:
        text_value(file, where, v);
        break;
      case MetricKey::Integer:
        if (!v.is_number_integer() || v.get<std::int64_t>() < 0)
          bad(file, where, "expected an integer >= 0, got " + excerpt(v.dump(), 40));
        break;
      case MetricKey::Flag:
        if (!v.is_boolean()) bad(file, where, "expected true or false, got " + excerpt(v.dump(), 40));
        break;
    }
  }
  return m;
}

std::vector<std::string> metric_args(const json& m) {
  std::vector<std::string> args;
  for (const auto& k : kMetricKeys) {
    if (!m.contains(k.key)) continue;
    const json& v = m[k.key];
    switch (k.type) {
      case MetricKey::Numbers:
        args.push_back(k.flag);
        for (const auto& x : v) args.push_back(x.dump());
        break;
      case MetricKey::Text:
        args.push_back(k.flag);
        args.push_back(v.get<std::string>());
        break;
      case MetricKey::Integer:
        args.push_back(k.flag);
        args.push_back(v.dump());
        break;
      case MetricKey::Flag:
        if (v.get<bool>()) args.push_back(k.flag);
        break;
    }
  }
  return args;
}

SlurmOptions slurm_from(const fs::path& file, const json& s) {
  if (!s.is_object()) bad(file, "/slurm", "expected an object");
  only_keys(file, "/slurm", s,
            {"partition", "gres", "time", "mem", "cpus_per_task", "extra", "max_parallel", "job_name"});
  SlurmOptions o;
  auto text = [&](const char* k, std::string& dst) {
    if (s.contains(k)) dst = text_value(file, std::string("/slurm/") + k, s[k]);
  };
  text("partition", o.partition);
  text("gres", o.gres);
  text("time", o.time);
  text("mem", o.mem);
  text("job_name", o.job_name);
  auto integer = [&](const char* k, int& dst) {
    if (!s.contains(k)) return;
    if (!s[k].is_number_integer() || s[k].get<std::int64_t>() < 1 || s[k].get<std::int64_t>() > 1000000)
      bad(file, std::string("/slurm/") + k, "expected an integer >= 1, got " + excerpt(s[k].dump(), 40));
    dst = s[k].get<int>();
  };
  integer("cpus_per_task", o.cpus_per_task);
  integer("max_parallel", o.max_parallel);
  if (s.contains("extra")) {
    if (!s["extra"].is_array()) bad(file, "/slurm/extra", "expected a list of strings");
    for (std::size_t i = 0; i < s["extra"].size(); ++i)
      o.extra.push_back(text_value(file, "/slurm/extra/" + std::to_string(i), s["extra"][i]));
  }
  return o;
}

std::string hash_of(const json& j) { return sha256_bytes(j.dump()); }

/// A small JSON file, or null when missing or unreadable (a cell folder is ours, but may be torn by
/// a kill at any point: a bad cell.json just means "pending").
json small_json_or_null(const fs::path& p) {
  std::error_code ec;
  if (!fs::is_regular_file(fs::symlink_status(p, ec))) return nullptr;
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return json::parse(ss.str(), nullptr, false);
}

std::string hostname() {
  char buf[256] = {0};
  if (::gethostname(buf, sizeof buf - 1) != 0) return "";
  return buf;
}

json status_json(const BatchCell& cell, const CellStatus& st, const std::vector<std::string>& argv) {
  json j = {{"schema", kCellSchema},
            {"index", cell.index},
            {"id", cell.id()},
            {"config_hash", cell.config_hash},
            {"status", cell_state_name(st.state)},
            {"host", st.host},
            {"started_utc", st.started_utc}};
  if (st.state != CellState::Running) {
    j["finished_utc"] = st.finished_utc;
    j["seconds"] = st.seconds;
    j["exit_code"] = st.exit_code;
    if (!st.error.empty()) j["error"] = st.error;
  }
  if (!argv.empty()) j["command"] = argv;
  return j;
}

/// The eval's error line from its log: the last "adbench: error: <line>" (<line>) or "adbench:
/// internal error ..." ("internal error ...").
std::string error_line_of(const fs::path& log) {
  std::ifstream in(log, std::ios::binary);
  std::string line, found;
  while (std::getline(in, line)) {
    if (line.rfind("adbench: error: ", 0) == 0)
      found = line.substr(16);
    else if (line.rfind("adbench: internal error", 0) == 0)
      found = line.substr(9);
  }
  return excerpt(found, 400);
}

std::string shell_quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

}  // namespace

std::string BatchCell::id() const {
  return dataset + "/" + category + "/" + spec_hash + "/seed" + std::to_string(seed);
}

json BatchCell::to_json() const {
  return {{"index", index},
          {"id", id()},
          {"dataset", dataset},
          {"adapter", adapter},
          {"root", root.string()},
          {"split", split},
          {"category", category},
          {"detector", detector},
          {"settings", settings},
          {"setting", setting},
          {"seed", seed},
          {"spec_hash", spec_hash},
          {"config_hash", config_hash},
          {"metrics", metrics},
          {"predictions", predictions},
          {"heatmaps", heatmaps},
          {"runs", runs}};
}

BatchCell BatchCell::from_json(const json& j, const std::string& where) {
  auto need = [&](const char* k) -> const json& {
    if (!j.is_object() || !j.contains(k)) throw InputError(where + ": missing '" + k + "'");
    return j[k];
  };
  BatchCell c;
  try {
    c.index = need("index").get<int>();
    c.dataset = need("dataset").get<std::string>();
    c.adapter = need("adapter").get<std::string>();
    c.root = need("root").get<std::string>();
    c.split = need("split").get<std::string>();
    c.category = need("category").get<std::string>();
    c.detector = need("detector").get<std::string>();
    c.settings = need("settings");
    c.setting = need("setting").get<std::string>();
    c.seed = need("seed").get<std::uint64_t>();
    c.spec_hash = need("spec_hash").get<std::string>();
    c.config_hash = need("config_hash").get<std::string>();
    c.metrics = need("metrics");
    c.predictions = need("predictions").get<bool>();
    c.heatmaps = need("heatmaps").get<bool>();
    c.runs = j.value("runs", false);  // absent in manifests of adbench before 'outputs.run'
  } catch (const json::exception&) {
    throw InputError(where + ": a field has the wrong type");
  }
  return c;
}

void SlurmOptions::update_from(const SlurmOptions& o) {
  if (!o.partition.empty()) partition = o.partition;
  if (!o.gres.empty()) gres = o.gres;
  if (!o.time.empty()) time = o.time;
  if (!o.mem.empty()) mem = o.mem;
  if (!o.job_name.empty()) job_name = o.job_name;
  if (o.cpus_per_task > 0) cpus_per_task = o.cpus_per_task;
  if (o.max_parallel > 0) max_parallel = o.max_parallel;
  extra.insert(extra.end(), o.extra.begin(), o.extra.end());
}

const char* cell_state_name(CellState s) {
  switch (s) {
    case CellState::Pending:
      return "pending";
    case CellState::Running:
      return "running";
    case CellState::Ok:
      return "ok";
    case CellState::Failed:
      return "failed";
  }
  return "?";
}

BatchMatrix load_batch_matrix(const fs::path& file_in, const std::string& device) {
  BatchMatrix m;
  m.file = fs::absolute(file_in).lexically_normal();
  const fs::path& file = m.file;
  const fs::path base = file.parent_path();
  const json j = json::parse(read_file(file), nullptr, false);
  if (j.is_discarded()) bad(file, "", "not valid JSON");
  if (!j.is_object()) bad(file, "", "expected a JSON object (datasets, detectors, seeds, ...)");
  only_keys(file, "", j,
            {"name", "out", "datasets", "detectors", "seeds", "setting", "metrics", "outputs", "slurm"});
  m.name = j.contains("name") ? text_value(file, "/name", j["name"]) : file.stem().string();
  if (j.contains("out")) m.out = absolute_from(base, text_value(file, "/out", j["out"]));

  // Seeds and settings.
  std::vector<std::uint64_t> seeds{0};
  if (j.contains("seeds")) {
    const json& s = j["seeds"];
    if (!s.is_array() || s.empty()) bad(file, "/seeds", "expected a non-empty list of integers >= 0");
    seeds.clear();
    for (std::size_t i = 0; i < s.size(); ++i) {
      if (!s[i].is_number_unsigned())
        bad(file, "/seeds/" + std::to_string(i), "expected an integer >= 0, got " + excerpt(s[i].dump(), 40));
      seeds.push_back(s[i].get<std::uint64_t>());
    }
  }
  std::vector<std::string> class_settings{"single-class"};
  if (j.contains("setting")) {
    const json& s = j["setting"];
    class_settings.clear();
    const std::vector<json> values = s.is_array() ? s.get<std::vector<json>>() : std::vector<json>{s};
    for (const auto& v : values) {
      const std::string t = text_value(file, "/setting", v);
      if (t != "single-class" && t != "multi-class")
        bad(file, "/setting", "expected single-class or multi-class, got '" + excerpt(t, 40) + "'");
      class_settings.push_back(t);
    }
    if (class_settings.empty()) bad(file, "/setting", "expected single-class, multi-class or a list of them");
  }
  const json metrics = j.contains("metrics") ? check_metrics(file, j["metrics"]) : json::object();
  bool predictions = false, heatmaps = false, runs = false;
  if (j.contains("outputs")) {
    const json& o = j["outputs"];
    if (!o.is_object()) bad(file, "/outputs", "expected an object");
    only_keys(file, "/outputs", o, {"predictions", "heatmaps", "run"});
    for (const char* k : {"predictions", "heatmaps", "run"})
      if (o.contains(k) && !o[k].is_boolean())
        bad(file, std::string("/outputs/") + k, "expected true or false");
    predictions = o.value("predictions", false);
    heatmaps = o.value("heatmaps", false);
    runs = o.value("run", false);
    if (heatmaps && !predictions) bad(file, "/outputs/heatmaps", "needs \"predictions\": true");
  }
  if (j.contains("slurm")) m.slurm = slurm_from(file, j["slurm"]);

  // Detectors: every swept combination, checked against the detector's settings table.
  struct Spec {
    std::string detector;
    json settings, effective;
    json weights;  ///< each weight file's content: {"<key>": "sha256:<hex>"} (see weights_digest)
  };
  // Weight files enter the config hash by content, as in a result's config_sha256: the same path
  // with another file behind it is another configuration. One digest per file and matrix.
  std::map<std::string, std::string> digests;
  auto weights_digest = [&digests](const std::string& path) -> std::string {
    auto it = digests.find(path);
    if (it != digests.end()) return it->second;
    std::error_code ec;
    std::string d = fs::is_regular_file(path, ec) ? "sha256:" + sha256_file(path)
                                                  : "missing";  // the cell's eval names the problem
    return digests.emplace(path, d).first->second;
  };
  std::vector<Spec> specs;
  if (!j.contains("detectors") || !j["detectors"].is_array() || j["detectors"].empty())
    bad(file, "/detectors", "expected a non-empty list of {\"name\": ..., \"settings\": {...}}");
  for (std::size_t i = 0; i < j["detectors"].size(); ++i) {
    const std::string where = "/detectors/" + std::to_string(i);
    const json& d = j["detectors"][i];
    if (!d.is_object()) bad(file, where, "expected an object {\"name\": ..., \"settings\": {...}}");
    only_keys(file, where, d, {"name", "settings"});
    if (!d.contains("name")) bad(file, where, "missing \"name\" (adbench list detectors)");
    const std::string name = text_value(file, where + "/name", d["name"]);
    json settings = d.value("settings", json::object());
    if (!settings.is_object()) bad(file, where + "/settings", "expected an object of settings");
    try {
      const auto& table = detector_settings(name);
      for (auto& s : expand_settings(settings)) {
        json weights = json::object();
        for (auto& [k, v] : s.items()) {
          if (!names_weights_file(k, v)) continue;
          v = absolute_from(base, v.get<std::string>()).string();
          weights[k] = weights_digest(v.get<std::string>());
        }
        json effective = merge_config(name, table, s);
        specs.push_back({name, s, std::move(effective), std::move(weights)});
      }
    } catch (const InputError& e) {
      bad(file, where, e.what());
    }
  }

  // Datasets, then the cross product.
  if (!j.contains("datasets") || !j["datasets"].is_array() || j["datasets"].empty())
    bad(file, "/datasets", "expected a non-empty list of {\"adapter\": ..., \"root\": ...}");
  std::set<std::string> names;
  for (std::size_t i = 0; i < j["datasets"].size(); ++i) {
    const std::string where = "/datasets/" + std::to_string(i);
    const json& d = j["datasets"][i];
    if (!d.is_object()) bad(file, where, "expected an object {\"adapter\": ..., \"root\": ...}");
    only_keys(file, where, d, {"name", "adapter", "root", "categories", "split"});
    if (!d.contains("adapter")) bad(file, where, "missing \"adapter\" (adbench list datasets)");
    if (!d.contains("root")) bad(file, where, "missing \"root\"");
    const std::string adapter = text_value(file, where + "/adapter", d["adapter"]);
    const std::string name = d.contains("name") ? text_value(file, where + "/name", d["name"]) : adapter;
    check_folder_name(file, where + "/name", name);
    if (!names.insert(name).second)
      bad(file, where + "/name", "'" + name + "' names two datasets (give each a distinct \"name\")");
    const fs::path root = absolute_from(base, text_value(file, where + "/root", d["root"]));
    DatasetOptions options;
    if (d.contains("split")) options.split = text_value(file, where + "/split", d["split"]);
    std::vector<std::string> categories;
    try {
      auto a = make_dataset_adapter(adapter, options);
      const auto available = a->categories(root);
      const json c = d.value("categories", json("all"));
      if (c == "all") {
        categories = available;
      } else if (c.is_array() && !c.empty()) {
        for (std::size_t k = 0; k < c.size(); ++k) {
          const std::string name_k = text_value(file, where + "/categories/" + std::to_string(k), c[k]);
          if (std::find(available.begin(), available.end(), name_k) == available.end()) {
            std::string list;
            for (const auto& s : available) list += (list.empty() ? "" : ", ") + s;
            bad(file, where + "/categories/" + std::to_string(k),
                root.string() + ": unknown category '" + excerpt(name_k, 40) + "' (valid: " + list + ")");
          }
          categories.push_back(name_k);
        }
      } else {
        bad(file, where + "/categories", "expected \"all\" or a non-empty list of category names");
      }
    } catch (const InputError& e) {
      const std::string what = e.what();
      if (what.rfind(file.string() + ":", 0) == 0) throw;
      bad(file, where, what);
    }
    for (const auto& setting : class_settings) {
      const std::vector<std::string> cats =
          setting == "multi-class" ? std::vector<std::string>{"all"} : categories;
      for (const auto& category : cats)
        for (const auto& spec : specs)
          for (std::uint64_t seed : seeds) {
            BatchCell c;
            c.index = static_cast<int>(m.cells.size());
            c.dataset = name;
            c.adapter = adapter;
            c.root = root;
            c.split = options.split;
            c.category = category;
            c.detector = spec.detector;
            c.settings = spec.settings;
            c.setting = setting;
            c.seed = seed;
            c.metrics = metrics;
            c.predictions = predictions;
            c.heatmaps = heatmaps;
            c.runs = runs;
            c.spec_hash =
                hash_of({{"detector", spec.detector}, {"settings", spec.settings}, {"setting", setting}})
                    .substr(0, 12);
            // Everything that decides the result; multi-class cells evaluate every category of
            // the dataset, so the list enters too.
            c.config_hash = hash_of({{"adapter", adapter},
                                     {"root", root.string()},
                                     {"split", options.split},
                                     {"category", category},
                                     {"categories", setting == "multi-class" ? json(categories) : json()},
                                     {"detector", spec.detector},
                                     {"config", spec.effective},
                                     {"weights", spec.weights},
                                     {"setting", setting},
                                     {"seed", seed},
                                     {"metrics", metrics},
                                     {"predictions", predictions},
                                     {"heatmaps", heatmaps},
                                     {"runs", runs},
                                     {"device", device}});
            m.cells.push_back(std::move(c));
          }
    }
  }
  return m;
}

CellStatus read_cell_status(const fs::path& out, const BatchCell& cell) {
  CellStatus st;
  const json j = small_json_or_null(out / cell.id() / "cell.json");
  if (!j.is_object() || j.value("schema", "") != kCellSchema ||
      j.value("config_hash", "") != cell.config_hash)
    return st;
  const std::string s = j.value("status", "");
  st.error = j.value("error", "");
  st.exit_code = j.value("exit_code", 0);
  st.seconds = j.value("seconds", 0.0);
  st.started_utc = j.value("started_utc", "");
  st.finished_utc = j.value("finished_utc", "");
  st.host = j.value("host", "");
  std::error_code ec;
  if (s == "ok" && fs::is_regular_file(fs::symlink_status(out / cell.id() / "result.json", ec)))
    st.state = CellState::Ok;
  else if (s == "failed")
    st.state = CellState::Failed;
  else if (s == "running")
    st.state = CellState::Running;
  return st;
}

void open_batch_folder(const fs::path& out, const std::vector<BatchCell>& cells) {
  for (const auto& c : cells) protect_input(c.root, "the dataset root");
  std::error_code ec;
  const auto st = fs::symlink_status(out, ec);
  if (fs::exists(st)) {
    if (!fs::is_directory(st)) throw InputError(out.string() + ": exists and is not a folder");
    const json marker = small_json_or_null(out / kMarkerFile);
    if (!marker.is_object() || marker.value("adbench_output", "") != kBatchMarker)
      throw InputError(out.string() + ": exists and is not an adbench batch folder (no " + kMarkerFile +
                       " marker); give a new folder, or the --out of an earlier batch to resume it");
    check_output(out, OutputKind::BatchFolder, true);  // an earlier batch: resumed, never replaced
    return;
  }
  check_output(out, OutputKind::BatchFolder, false);
  fs::create_directories(out, ec);
  if (ec) throw InputError(out.string() + ": cannot create folder (" + ec.message() + ")");
  write_file_atomic(
      out / kMarkerFile,
      json{{"adbench_output", kBatchMarker}, {"adbench_version", build::kVersion}}.dump() + "\n");
}

CellStatus run_batch_cell(const BatchCell& cell, const BatchRunOptions& o) {
  const fs::path dir = o.out / cell.id();
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw InputError(dir.string() + ": cannot create folder (" + ec.message() + ")");

  std::vector<std::string> argv{o.exe.string(),
                                "--device",
                                o.device,
                                "--threads",
                                std::to_string(o.threads_per_cell),
                                "--seed",
                                std::to_string(cell.seed)};
  if (!cell.split.empty()) argv.insert(argv.end(), {"--split", cell.split});
  if (o.label_mismatch != "error") argv.insert(argv.end(), {"--label-mismatch", o.label_mismatch});
  if (o.max_image_pixels > 0)
    argv.insert(argv.end(), {"--max-image-pixels", std::to_string(o.max_image_pixels)});
  if (o.verbose) argv.push_back("--verbose");
  argv.insert(argv.end(), {"eval", "--dataset", cell.adapter, "--root", cell.root.string(), "--category",
                           cell.category, "--detector", cell.detector, "--setting", cell.setting});
  for (const auto& [k, v] : cell.settings.items()) argv.insert(argv.end(), {"--set", k + "=" + v.dump()});
  argv.insert(argv.end(), {"--out", (dir / "result.json").string(), "--csv", (dir / "rows.csv").string()});
  if (cell.predictions) {
    argv.insert(argv.end(), {"--pred-out", (dir / "pred").string()});
    if (cell.heatmaps) argv.push_back("--heatmaps");
  }
  if (cell.runs) argv.insert(argv.end(), {"--run-out", (dir / "run").string()});
  for (auto& a : metric_args(cell.metrics)) argv.push_back(std::move(a));
  // A rerun replaces the cell's own outputs: the result and prediction folder by --force, the CSV
  // rows (which eval appends) by removing them first.
  if (fs::exists(dir / "result.json", ec) || fs::exists(dir / "pred", ec) || fs::exists(dir / "run", ec))
    argv.push_back("--force");
  fs::remove(dir / "rows.csv", ec);

  CellStatus st;
  st.state = CellState::Running;
  st.host = hostname();
  st.started_utc = utc_timestamp();
  write_file_atomic(dir / "cell.json", status_json(cell, st, argv).dump(2) + "\n");

  const auto t0 = std::chrono::steady_clock::now();
  const fs::path log = dir / "eval.log";
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 1, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  posix_spawn_file_actions_adddup2(&fa, 1, 2);
  std::vector<char*> cargv;
  for (auto& a : argv) cargv.push_back(a.data());
  cargv.push_back(nullptr);
  pid_t pid = 0;
  const int rc = ::posix_spawn(&pid, o.exe.c_str(), &fa, nullptr, cargv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  int wstatus = 0;
  if (rc == 0) {
    forward_interrupt_to(pid);
    while (::waitpid(pid, &wstatus, 0) < 0 && errno == EINTR) {
    }
    stop_forwarding_to(pid);
  }
  // Interrupted: the cell stays "running" (rerun by the next batch); the write below would park.
  if (interrupted()) {
    WriteScope park;
  }
  st.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  st.finished_utc = utc_timestamp();
  if (rc != 0) {
    st.state = CellState::Failed;
    st.exit_code = 127;
    st.error = o.exe.string() + ": cannot start (" + std::strerror(rc) + ")";
  } else if (WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 0 &&
             fs::is_regular_file(fs::symlink_status(dir / "result.json", ec))) {
    st.state = CellState::Ok;
  } else {
    st.state = CellState::Failed;
    st.exit_code = WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : 128 + WTERMSIG(wstatus);
    st.error = error_line_of(log);
    if (st.error.empty())
      st.error = WIFSIGNALED(wstatus)
                     ? std::string("killed by signal ") + std::to_string(WTERMSIG(wstatus)) + " (" +
                           strsignal(WTERMSIG(wstatus)) + ")"
                     : "exit code " + std::to_string(st.exit_code) + " with no error line (see eval.log)";
  }
  write_file_atomic(dir / "cell.json", status_json(cell, st, argv).dump(2) + "\n");
  return st;
}

json batch_manifest(const BatchMatrix& m, const fs::path& out, const std::vector<CellStatus>& statuses,
                    const json& slurm) {
  std::map<std::string, int> counts{{"ok", 0}, {"failed", 0}, {"pending", 0}, {"running", 0}};
  json cells = json::array();
  for (std::size_t i = 0; i < m.cells.size(); ++i) {
    const CellStatus& st = statuses.at(i);
    json c = m.cells[i].to_json();
    c["status"] = cell_state_name(st.state);
    ++counts[cell_state_name(st.state)];
    c["result"] = st.state == CellState::Ok ? json(m.cells[i].id() + "/result.json") : json();
    if (!st.error.empty()) c["error"] = st.error;
    if (st.state == CellState::Ok || st.state == CellState::Failed) {
      c["seconds"] = st.seconds;
      c["exit_code"] = st.exit_code;
      c["finished_utc"] = st.finished_utc;
      c["host"] = st.host;
    }
    cells.push_back(std::move(c));
  }
  std::error_code ec;
  const bool has_file = fs::is_regular_file(m.file, ec);
  json j = {{"schema", kManifestSchema},
            {"adbench_version", build::kVersion},
            {"git_commit", build::kGitCommit},
            {"name", m.name},
            {"matrix", m.file.string()},
            {"matrix_sha256", has_file ? sha256_file(m.file) : ""},
            {"out", fs::absolute(out).lexically_normal().string()},
            {"updated_utc", utc_timestamp()},
            {"counts",
             {{"total", m.cells.size()},
              {"ok", counts["ok"]},
              {"failed", counts["failed"]},
              {"running", counts["running"]},
              {"pending", counts["pending"]}}},
            {"slurm", slurm},
            {"cells", cells}};
  return j;
}

BatchMatrix read_batch_manifest(const fs::path& out, json* slurm) {
  const fs::path file = out / "batch.json";
  std::error_code ec;
  if (!fs::is_regular_file(fs::symlink_status(file, ec)))
    throw InputError(file.string() + ": no batch manifest (is " + out.string() + " a batch folder?)");
  const json j = json::parse(read_file(file), nullptr, false);
  if (!j.is_object() || j.value("schema", "") != kManifestSchema || !j.contains("cells") ||
      !j["cells"].is_array())
    throw InputError(file.string() + ": not an adbench batch manifest (schema " + kManifestSchema + ")");
  BatchMatrix m;
  m.file = j.value("matrix", "");
  m.name = j.value("name", "");
  for (std::size_t i = 0; i < j["cells"].size(); ++i) {
    m.cells.push_back(BatchCell::from_json(j["cells"][i], file.string() + ": /cells/" + std::to_string(i)));
    if (m.cells.back().index != static_cast<int>(i))
      throw InputError(file.string() + ": /cells/" + std::to_string(i) + ": index " +
                       std::to_string(m.cells.back().index) + " out of order");
  }
  if (slurm) *slurm = j.value("slurm", json());
  return m;
}

std::size_t merge_batch_csv(const fs::path& out, const std::vector<BatchCell>& cells,
                            const std::vector<CellStatus>& statuses) {
  std::string header, rows;
  std::size_t n = 0;
  for (std::size_t i = 0; i < cells.size(); ++i) {
    if (statuses.at(i).state != CellState::Ok) continue;
    const fs::path f = out / cells[i].id() / "rows.csv";
    std::error_code ec;
    if (!fs::is_regular_file(fs::symlink_status(f, ec))) continue;
    std::istringstream in(read_file(f));
    std::string line;
    bool first = true;
    while (std::getline(in, line)) {
      if (first) {
        first = false;
        if (header.empty())
          header = line;
        else if (line != header)
          throw InputError(f.string() +
                           ": its CSV header differs from the other cells' (written by another "
                           "adbench version?)");
        continue;
      }
      if (line.empty()) continue;
      rows += line + "\n";
      ++n;
    }
  }
  if (header.empty()) return 0;
  write_file_atomic(out / "leaderboard.csv", header + "\n" + rows);
  return n;
}

std::string array_ranges(const std::vector<int>& idx) {
  std::string s;
  for (std::size_t i = 0; i < idx.size();) {
    std::size_t k = i;
    while (k + 1 < idx.size() && idx[k + 1] == idx[k] + 1) ++k;
    s += (s.empty() ? "" : ",") + std::to_string(idx[i]);
    if (k > i) s += "-" + std::to_string(idx[k]);
    i = k + 1;
  }
  return s;
}

std::string slurm_script(const BatchMatrix& m, const std::vector<int>& indices, const BatchRunOptions& o,
                         const SlurmOptions& s) {
  const fs::path out = fs::absolute(o.out).lexically_normal();
  std::string t = "#!/bin/bash\n";
  t += "# adbench batch '" + m.name + "': " + std::to_string(indices.size()) + " of " +
       std::to_string(m.cells.size()) + " cells as one array task each (written by adbench " +
       build::kVersion + ").\n";
  t += "# Each task runs one cell in its own process; a preempted or failed task can simply rerun.\n";
  t += "# Afterwards: adbench batch --collect " + shell_quote(out.string()) + "\n";
  const std::string job = s.job_name.empty() ? "adbench-" + m.name : s.job_name;
  t += "#SBATCH --job-name=" + job + "\n";
  t += "#SBATCH --array=" + array_ranges(indices) +
       (s.max_parallel > 0 ? "%" + std::to_string(s.max_parallel) : "") + "\n";
  t += "#SBATCH --output=" + (out / "slurm" / "%A_%a.log").string() + "\n";
  if (!s.partition.empty()) t += "#SBATCH --partition=" + s.partition + "\n";
  if (!s.gres.empty()) t += "#SBATCH --gres=" + s.gres + "\n";
  if (!s.time.empty()) t += "#SBATCH --time=" + s.time + "\n";
  if (!s.mem.empty()) t += "#SBATCH --mem=" + s.mem + "\n";
  if (s.cpus_per_task > 0) t += "#SBATCH --cpus-per-task=" + std::to_string(s.cpus_per_task) + "\n";
  for (const auto& e : s.extra) t += (e.rfind("#SBATCH", 0) == 0 ? e : "#SBATCH " + e) + "\n";
  t += "set -eu\n";
  std::string cmd = "exec " + shell_quote(o.exe.string()) + " --device " + shell_quote(o.device) +
                    " --threads \"${SLURM_CPUS_PER_TASK:-0}\"";
  if (o.label_mismatch != "error") cmd += " --label-mismatch " + o.label_mismatch;
  if (o.max_image_pixels > 0) cmd += " --max-image-pixels " + std::to_string(o.max_image_pixels);
  cmd += " batch --out " + shell_quote(out.string()) + " --run-cell \"$SLURM_ARRAY_TASK_ID\"\n";
  return t + cmd;
}

}  // namespace adbench
