// `adbench leaderboard RESULTS...`: without pivot options, one comparison table of result JSONs
// (mean over categories per detector, plus train and infer seconds), best mean image AUROC first.
// With --by / --metric / --format: pivot tables of result JSONs or leaderboard CSVs, category rows
// x detector (backbone, seed) columns, a mean row, mean +- std where a cell holds several results
// (seeds); as a terminal table, Markdown, CSV, or the papers' I-AUROC / P-AUROC / AUPRO layout.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <functional>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <sstream>

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

/// One metric value of one category of one result, with the keys it can be grouped by.
struct Point {
  std::string category, metric;  ///< metric: "<level>_<name>", e.g. image_auroc, pixel_aupro_0.3
  std::string detector, backbone, seed;
  double value = 0;
  std::string spec;  ///< the detector with its settings, "padim(backbone=...,d_reduced=100,...)"
};

std::string text_of(const nlohmann::json& j, const char* key) {
  if (!j.is_object() || !j.contains(key)) return "";
  const auto& v = j[key];
  return v.is_string() ? v.get<std::string>() : v.is_null() ? "" : v.dump();
}

void points_from_json(const std::string& path, std::vector<Point>& out) {
  const nlohmann::json j = read_result_json(path);
  const auto pb = j.value("produced_by", nlohmann::json::object());
  std::string detector = text_of(pb, "detector");
  if (detector.empty()) detector = text_of(j.value("source", nlohmann::json::object()), "kind");
  const std::string backbone = text_of(pb, "backbone"), seed = text_of(j, "seed");
  std::string spec = text_of(pb, "spec");
  if (spec.empty()) spec = detector;
  for (const auto& [category, row] : metric_table(j))
    for (const auto& [metric, value] : row)
      out.push_back({category, metric, detector, backbone, seed, value, spec});
}

/// Splits one CSV line (RFC 4180 quotes, as adbench writes them).
std::vector<std::string> csv_fields(const std::string& line) {
  std::vector<std::string> f(1);
  bool quoted = false;
  for (std::size_t i = 0; i < line.size(); ++i) {
    const char ch = line[i];
    if (quoted) {
      if (ch == '"' && i + 1 < line.size() && line[i + 1] == '"')
        f.back() += '"', ++i;
      else if (ch == '"')
        quoted = false;
      else
        f.back() += ch;
    } else if (ch == '"') {
      quoted = true;
    } else if (ch == ',') {
      f.emplace_back();
    } else {
      f.back() += ch;
    }
  }
  return f;
}

void points_from_csv(const std::string& path, std::vector<Point>& out) {
  std::istringstream in(read_file(path));
  std::string line;
  std::getline(in, line);
  const auto head = csv_fields(line);
  if (head.empty() || head[0].rfind("adbench.csv/", 0) != 0)
    throw InputError(path +
                     ": not an adbench leaderboard CSV (first line does not start with adbench.csv/N)");
  std::map<std::string, std::size_t> col;
  for (std::size_t i = 0; i < head.size(); ++i) col[head[i]] = i;
  for (const char* need : {"category", "level", "detector", "backbone", "seed"})
    if (!col.count(need))
      throw InputError(path + ": leaderboard CSV without a '" + std::string(need) + "' column");
  const std::vector<std::string> metrics = {"auroc", "ap", "f1_max", "aupro_0.3", "aupro_0.05", "aupro_0.01"};
  int row = 1;
  while (std::getline(in, line)) {
    ++row;
    if (line.empty()) continue;
    const auto f = csv_fields(line);
    if (f.size() != head.size())
      throw InputError(path + ": row " + std::to_string(row) + " has " + std::to_string(f.size()) +
                       " fields, the header " + std::to_string(head.size()));
    for (const auto& m : metrics) {
      auto it = col.find(m);
      if (it == col.end() || f[it->second].empty()) continue;
      char* end = nullptr;
      const double v = std::strtod(f[it->second].c_str(), &end);
      if (end == f[it->second].c_str() || *end)
        throw InputError(path + ": row " + std::to_string(row) + ": " + m + " is not a number: '" +
                         excerpt(f[it->second], 40) + "'");
      const std::string spec =
          col.count("spec") && !f[col["spec"]].empty() ? f[col["spec"]] : f[col["detector"]];
      out.push_back({f[col["category"]], f[col["level"]] + "_" + m, f[col["detector"]], f[col["backbone"]],
                     f[col["seed"]], v, spec});
    }
  }
}

struct Cell {
  double mean = 0, sd = 0;
  int n = 0;
};

Cell cell_of(const std::vector<double>& v) {
  Cell c;
  c.n = static_cast<int>(v.size());
  for (double x : v) c.mean += x;
  c.mean /= c.n;
  if (c.n > 1) {
    double ss = 0;
    for (double x : v) ss += (x - c.mean) * (x - c.mean);
    c.sd = std::sqrt(ss / (c.n - 1));  // sample standard deviation over seeds
  }
  return c;
}

std::string fmt(double v, int decimals) {
  char b[32];
  std::snprintf(b, sizeof b, "%.*f", decimals, 100.0 * v);
  return b;
}

std::string cell_text(const std::optional<Cell>& c, int decimals) {
  if (!c) return "-";
  return c->n > 1 ? fmt(c->mean, decimals) + " ± " + fmt(c->sd, decimals) : fmt(c->mean, decimals);
}

struct PivotOptions {
  std::string by = "detector", format = "table";
  std::vector<std::string> metrics;
};

std::string pivot(const std::vector<Point>& points, const PivotOptions& o) {
  auto key = [&](const Point& p) {
    return o.by == "backbone" ? (p.backbone.empty() ? "-" : p.backbone)
           : o.by == "seed"   ? "seed " + p.seed
           : o.by == "spec"   ? p.spec
                              : p.detector;
  };
  std::vector<std::string> columns, categories;
  for (const auto& p : points) {
    if (std::find(columns.begin(), columns.end(), key(p)) == columns.end()) columns.push_back(key(p));
    if (std::find(categories.begin(), categories.end(), p.category) == categories.end())
      categories.push_back(p.category);
  }
  std::sort(categories.begin(), categories.end());
  // metric -> category -> column -> values
  std::map<std::string, std::map<std::string, std::map<std::string, std::vector<double>>>> v;
  for (const auto& p : points) v[p.metric][p.category][key(p)].push_back(p.value);
  auto get = [&](const std::string& m, const std::string& cat,
                 const std::string& col) -> std::optional<Cell> {
    auto a = v.find(m);
    if (a == v.end()) return std::nullopt;
    auto b = a->second.find(cat);
    if (b == a->second.end()) return std::nullopt;
    auto c = b->second.find(col);
    if (c == b->second.end()) return std::nullopt;
    return cell_of(c->second);
  };
  // The mean row: the mean over categories of each cell's mean (only where every category has it).
  auto mean_of = [&](const std::string& m, const std::string& col) -> std::optional<Cell> {
    std::vector<double> means;
    for (const auto& cat : categories) {
      auto c = get(m, cat, col);
      if (!c) return std::nullopt;
      means.push_back(c->mean);
    }
    Cell c = cell_of(means);
    c.sd = 0, c.n = 1;  // a mean over categories, not over repeats
    return c;
  };
  std::vector<std::string> metrics = o.metrics;
  if (o.format == "paper") metrics = {"image_auroc", "pixel_auroc", "pixel_aupro_0.3"};
  for (const auto& m : metrics)
    if (!v.count(m) && o.format != "paper") {
      std::string have;
      for (const auto& [name, _] : v) have += (have.empty() ? "" : ", ") + name;
      throw InputError("adbench leaderboard: no result has metric '" + m + "' (they have: " + have + ")");
    }
  std::ostringstream out;
  if (o.format == "csv") {
    out << "metric,category," << o.by << ",mean,std,n\n";
    for (const auto& m : metrics)
      for (const auto& cat : categories)
        for (const auto& col : columns)
          if (auto c = get(m, cat, col)) {
            char b[96];
            std::snprintf(b, sizeof b, "%.10g,%.10g,%d", c->mean, c->sd, c->n);
            out << m << "," << cat << "," << col << "," << b << "\n";
          }
    return out.str();
  }
  auto table = [&](const std::string& title, const std::vector<std::string>& head,
                   const std::vector<std::vector<std::string>>& rows) {
    if (o.format == "table") {
      // Column widths in characters: "±" is two bytes and one column wide.
      auto width = [](const std::string& t) {
        return t.size() - static_cast<std::size_t>(std::count(t.begin(), t.end(), '\xC2'));
      };
      std::vector<std::size_t> w(head.size());
      for (std::size_t i = 0; i < head.size(); ++i) w[i] = width(head[i]);
      for (const auto& r : rows)
        for (std::size_t i = 0; i < r.size(); ++i) w[i] = std::max(w[i], width(r[i]));
      out << title << "\n";
      auto line = [&](const std::vector<std::string>& r) {
        for (std::size_t i = 0; i < r.size(); ++i) {
          const std::size_t pad = w[i] - width(r[i]);
          if (i == 0)
            out << r[i] << std::string(pad, ' ');
          else
            out << "  " << std::string(pad, ' ') << r[i];
        }
        out << "\n";
      };
      line(head);
      for (const auto& r : rows) line(r);
      out << "\n";
    } else {
      out << "### " << title << "\n\n|";
      for (const auto& h : head) out << " " << h << " |";
      out << "\n|";
      for (std::size_t i = 0; i < head.size(); ++i) out << (i == 0 ? "---|" : "---:|");
      out << "\n";
      for (const auto& r : rows) {
        out << "|";
        for (const auto& c : r) out << " " << c << " |";
        out << "\n";
      }
      out << "\n";
    }
  };
  std::vector<std::string> head = {"category"};
  for (const auto& c : columns) head.push_back(c);
  if (o.format == "paper") {
    std::vector<std::vector<std::string>> rows;
    auto triple = [&](const std::function<std::optional<Cell>(const std::string&)>& at) {
      std::string t;
      for (const auto& m : metrics) t += (t.empty() ? "" : " / ") + cell_text(at(m), 1);
      return t;
    };
    for (const auto& cat : categories) {
      rows.push_back({cat});
      for (const auto& col : columns)
        rows.back().push_back(triple([&](const std::string& m) { return get(m, cat, col); }));
    }
    rows.push_back({"mean"});
    for (const auto& col : columns)
      rows.back().push_back(triple([&](const std::string& m) { return mean_of(m, col); }));
    table("I-AUROC / P-AUROC / AUPRO@0.3 (%)", head, rows);
    return out.str();
  }
  for (const auto& m : metrics) {
    std::vector<std::vector<std::string>> rows;
    for (const auto& cat : categories) {
      rows.push_back({cat});
      for (const auto& col : columns) rows.back().push_back(cell_text(get(m, cat, col), 2));
    }
    rows.push_back({"mean"});
    for (const auto& col : columns) rows.back().push_back(cell_text(mean_of(m, col), 2));
    table(m + " (%)", head, rows);
  }
  return out.str();
}

}  // namespace

std::string leaderboard_pivot(const std::vector<std::string>& files,
                              const std::vector<std::string>& metrics) {
  std::vector<Point> points;
  for (const auto& f : files) {
    const bool csv = f.size() >= 4 && f.compare(f.size() - 4, 4, ".csv") == 0;
    (csv ? points_from_csv : points_from_json)(f, points);
  }
  if (points.empty()) return "";
  PivotOptions o;
  o.metrics = metrics;
  // One column per detector, unless a detector appears with several settings: then one per spec.
  std::map<std::string, std::set<std::string>> specs;
  for (const auto& p : points) specs[p.detector].insert(p.spec);
  for (const auto& [d, s] : specs)
    if (s.size() > 1) o.by = "spec";
  return pivot(points, o);
}

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

MetricTable metric_table(const nlohmann::json& r) {
  MetricTable t;
  for (const auto& c : r["categories"]) {
    if (!c.is_object() || !c.contains("category") || !c["category"].is_string()) continue;
    auto& row = t[c["category"].get<std::string>()];
    if (!c.contains("levels") || !c["levels"].is_array()) continue;
    for (const auto& l : c["levels"]) {
      if (!l.is_object() || !l.contains("level") || !l["level"].is_string() || !l.contains("metrics") ||
          !l["metrics"].is_object())
        continue;
      for (const auto& [m, v] : l["metrics"].items())
        if (v.is_number()) row[l["level"].get<std::string>() + "_" + m] = v.get<double>();
    }
  }
  return t;
}

Action setup_leaderboard(CLI::App& app, const Globals&) {
  auto files = std::make_shared<std::vector<std::string>>();
  auto po = std::make_shared<PivotOptions>();
  app.add_option("results", *files,
                 "Result JSON files (eval --out); with the pivot options also leaderboard CSVs")
      ->required();
  app.add_option(
         "--by", po->by,
         "Pivot: the columns are detectors, backbones, seeds, or specs (a detector with its settings: "
         "one column per setting swept by a batch)")
      ->check(one_of({"detector", "backbone", "seed", "spec"}));
  app.add_option(
         "--metric", po->metrics,
         "Pivot: one table per metric, as <level>_<metric> (image_auroc, pixel_aupro_0.3, ...; default "
         "image_auroc)")
      ->delimiter(',');
  app.add_option("--format", po->format,
                 "Pivot output: table (terminal), markdown, csv (metric,category,<by>,mean,std,n), or paper "
                 "(I-AUROC / P-AUROC / AUPRO@0.3 per category, Markdown)")
      ->check(one_of({"table", "markdown", "csv", "paper"}));
  app.footer(
      "Without --by, --metric or --format: one row per result JSON, the mean over its categories of\n"
      "image AUROC / AP / F1-max, pixel AUROC / AP and AUPRO@0.3 (in %, '-' where not computed), and its\n"
      "train and infer seconds summed over categories; rows sorted by mean image AUROC, best first.\n"
      "With any of them: pivot tables, category rows x columns (--by, default detector), a mean row over\n"
      "categories; a cell that several results fill (seeds, or backbones under --by detector) shows\n"
      "mean ± sample std. Inputs may mix result JSONs and CSVs written by eval --csv.\n"
      "Examples:\n"
      "  adbench leaderboard results/demo/*.json\n"
      "  adbench leaderboard results/demo/leaderboard.csv --metric image_auroc,pixel_aupro_0.3 --format "
      "markdown\n"
      "  adbench leaderboard results/demo/*.json --format paper");
  return [files, po, &app]() {
    const bool pivoting = app.count("--by") + app.count("--metric") + app.count("--format") > 0;
    if (pivoting) {
      std::vector<Point> points;
      for (const auto& f : *files) {
        const bool csv = f.size() >= 4 && f.compare(f.size() - 4, 4, ".csv") == 0;
        (csv ? points_from_csv : points_from_json)(f, points);
      }
      if (points.empty()) throw InputError("adbench leaderboard: the inputs hold no metric values");
      PivotOptions o = *po;
      if (o.metrics.empty()) o.metrics = {"image_auroc"};
      std::cout << pivot(points, o);
      return 0;
    }
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
