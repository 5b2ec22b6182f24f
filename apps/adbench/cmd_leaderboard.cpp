// `adbench leaderboard RESULT.json...`: one comparison table of result JSONs (mean over categories
// per detector, plus train and infer seconds), best mean image AUROC first.
#include <algorithm>
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>

#include "adbench/core/error.hpp"
#include "adbench/core/fs.hpp"
#include "cli_common.hpp"

namespace adbench::cli {

namespace {

struct Column {
  const char* level;
  const char* metric;
  const char* heading;
};
constexpr Column kColumns[] = {{"image", "auroc", "I-AUROC"},  {"image", "ap", "I-AP"},
                               {"image", "f1_max", "I-F1max"}, {"pixel", "auroc", "P-AUROC"},
                               {"pixel", "ap", "P-AP"},        {"pixel", "aupro_0.3", "AUPRO@0.3"}};

struct Row {
  std::string name;
  std::vector<std::optional<double>> values;
  double train = 0, infer = 0;
  std::size_t categories = 0;
};

Row read_row(const std::string& path) {
  const nlohmann::json j = read_result_json(path);
  Row r;
  const auto& pb = j.value("produced_by", nlohmann::json::object());
  r.name = pb.is_object() && pb.contains("detector") && pb["detector"].is_string()
               ? pb["detector"].get<std::string>()
               : path;
  if (pb.is_object() && pb.contains("backbone") && pb["backbone"].is_string() &&
      !pb["backbone"].get<std::string>().empty())
    r.name += " (" + pb["backbone"].get<std::string>() + ")";
  for (const auto& c : kColumns) {
    const auto& m = j["mean"];
    std::optional<double> v;
    if (m.contains(c.level) && m[c.level].is_object() && m[c.level].contains("metrics") &&
        m[c.level]["metrics"].contains(c.metric) && m[c.level]["metrics"][c.metric].is_number())
      v = m[c.level]["metrics"][c.metric].get<double>();
    r.values.push_back(v);
  }
  for (const auto& c : j["categories"]) {
    if (!c.is_object() || !c.contains("seconds") || !c["seconds"].is_object()) continue;
    r.train += c["seconds"].value("train", 0.0);
    r.infer += c["seconds"].value("infer", 0.0);
    ++r.categories;
  }
  return r;
}

}  // namespace

nlohmann::json read_result_json(const std::string& path) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(read_file(path));
  } catch (const nlohmann::json::exception& e) {
    throw InputError(path + ": not a result JSON (" + std::string(e.what()) + ")");
  }
  if (!j.is_object() || !j.contains("schema") || !j["schema"].is_string() ||
      j["schema"].get<std::string>().rfind("adbench.result/", 0) != 0 || !j.contains("categories") ||
      !j["categories"].is_array() || !j.contains("mean") || !j["mean"].is_object())
    throw InputError(path +
                     ": not an adbench result JSON (schema adbench.result/N with categories and mean)");
  return j;
}

Action setup_leaderboard(CLI::App& app, const Globals&) {
  auto files = std::make_shared<std::vector<std::string>>();
  app.add_option("results", *files, "Result JSON files (eval --out)")->required();
  app.footer(
      "Prints one row per result: the mean over its categories of image AUROC / AP / F1-max, pixel\n"
      "AUROC / AP and AUPRO@0.3 (in %, '-' where not computed), and its train and infer seconds summed\n"
      "over categories; rows sorted by mean image AUROC, best first.\n"
      "Example:\n  adbench leaderboard results/demo/*.json");
  return [files]() {
    std::vector<Row> rows;
    for (const auto& f : *files) rows.push_back(read_row(f));
    std::stable_sort(rows.begin(), rows.end(), [](const Row& a, const Row& b) {
      return a.values[0].value_or(-1) > b.values[0].value_or(-1);
    });
    std::size_t w0 = 8;
    for (const auto& r : rows) w0 = std::max(w0, r.name.size());
    char buf[96];
    std::snprintf(buf, sizeof buf, "%-*s", static_cast<int>(w0), "detector");
    std::string out = buf;
    for (const auto& c : kColumns) {
      std::snprintf(buf, sizeof buf, " %9s", c.heading);
      out += buf;
    }
    out += "   train s   infer s\n";
    for (const auto& r : rows) {
      std::snprintf(buf, sizeof buf, "%-*s", static_cast<int>(w0), r.name.c_str());
      out += buf;
      for (const auto& v : r.values) {
        if (v)
          std::snprintf(buf, sizeof buf, " %9.2f", 100.0 * *v);
        else
          std::snprintf(buf, sizeof buf, " %9s", "-");
        out += buf;
      }
      std::snprintf(buf, sizeof buf, " %9.1f %9.1f\n", r.train, r.infer);
      out += buf;
    }
    out += "(mean over each result's categories, values in %; seconds summed over categories)\n";
    std::cout << out;
    return 0;
  };
}

}  // namespace adbench::cli
