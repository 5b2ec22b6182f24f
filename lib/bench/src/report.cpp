#include "adbench/bench/report.hpp"

#include <adbench/build_info.hpp>
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <set>
#include <sstream>

#include "adbench/core/error.hpp"
#include "adbench/core/fs.hpp"
#include "adbench/formats/text_formats.hpp"

namespace fs = std::filesystem;

namespace adbench {

namespace {

using nlohmann::json;

constexpr const char* kColors[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e",
                                   "#9467bd", "#8c564b", "#e377c2", "#17becf"};
const char* color(size_t i) { return kColors[i % (sizeof(kColors) / sizeof(kColors[0]))]; }

std::string fmt(double v, int digits) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

std::string str(const json& j, const std::string& key) {
  if (!j.is_object() || !j.contains(key)) return "";
  const json& v = j[key];
  if (v.is_string()) return v.get<std::string>();
  if (v.is_null()) return "";
  return v.dump();
}

/// What produced a result: the record's produced_by, else its first category's (eval --pred).
const json& producer(const json& r) {
  static const json kNull;
  if (r.contains("produced_by") && r["produced_by"].is_object()) return r["produced_by"];
  if (r.contains("categories") && r["categories"].is_array())
    for (const auto& c : r["categories"])
      if (c.is_object() && c.contains("produced_by") && c["produced_by"].is_object()) return c["produced_by"];
  return kNull;
}

/// Column-group labels: the detector name, with the file's stem when two results share it.
std::vector<std::string> result_labels(const std::vector<ReportResult>& results) {
  std::vector<std::string> names;
  std::map<std::string, int> seen;
  for (const auto& r : results) {
    std::string d = str(producer(r.json), "detector");
    if (d.empty()) d = fs::path(r.path).stem().string();
    names.push_back(d);
    seen[d] += 1;
  }
  for (size_t i = 0; i < results.size(); ++i)
    if (seen[names[i]] > 1) names[i] += " (" + fs::path(results[i].path).stem().string() + ")";
  return names;
}

/// Metric columns in a readable order: image, then pixel, then the rest; within a level auroc, ap,
/// f1_max, aupro_*.
std::vector<std::string> metric_columns(const std::vector<ReportResult>& results) {
  std::set<std::string> keys;
  for (const auto& r : results)
    for (const auto& [c, row] : r.metrics)
      for (const auto& [k, v] : row) keys.insert(k);
  auto rank = [](const std::string& k) {
    static const std::vector<std::string> levels{"sample_", "image_", "frame_", "view_", "pixel_", "point_"};
    static const std::vector<std::string> metrics{"auroc", "ap", "f1_max", "aupro_"};
    size_t l = levels.size(), m = metrics.size();
    for (size_t i = 0; i < levels.size(); ++i)
      if (k.rfind(levels[i], 0) == 0) {
        l = i;
        const std::string rest = k.substr(levels[i].size());
        for (size_t j = 0; j < metrics.size(); ++j)
          if (rest == metrics[j] || (metrics[j] == "aupro_" && rest.rfind("aupro_", 0) == 0)) {
            m = j;
            break;
          }
        break;
      }
    return std::pair{l, m};
  };
  std::vector<std::string> out(keys.begin(), keys.end());
  std::stable_sort(out.begin(), out.end(), [&](const auto& a, const auto& b) { return rank(a) < rank(b); });
  return out;
}

const json* find_level(const json& r, const std::string& category, const std::string& level) {
  if (!r.contains("categories") || !r["categories"].is_array()) return nullptr;
  for (const auto& c : r["categories"]) {
    if (!c.is_object() || str(c, "category") != category || !c.contains("levels") || !c["levels"].is_array())
      continue;
    for (const auto& l : c["levels"])
      if (l.is_object() && str(l, "level") == level) return &l;
  }
  return nullptr;
}

/// A stored curve ("x" and "y" arrays of equal length, at least one point); nullptr otherwise.
bool read_curve(const json* level, const std::string& kind, std::vector<double>& x, std::vector<double>& y) {
  if (!level || !level->contains("curves") || !(*level)["curves"].is_object()) return false;
  const json& c = (*level)["curves"];
  if (!c.contains(kind) || !c[kind].is_object()) return false;
  const json& k = c[kind];
  if (!k.contains("x") || !k.contains("y") || !k["x"].is_array() || !k["y"].is_array()) return false;
  x.clear(), y.clear();
  for (const auto& v : k["x"])
    if (v.is_number()) x.push_back(v.get<double>());
  for (const auto& v : k["y"])
    if (v.is_number()) y.push_back(v.get<double>());
  return !x.empty() && x.size() == y.size();
}

// ---- SVG ----

constexpr double kW = 320, kH = 270, kX0 = 46, kY0 = 12, kPw = 260, kPh = 215;
double px(double x) { return kX0 + std::clamp(x, 0.0, 1.0) * kPw; }
double py(double y) { return kY0 + (1 - std::clamp(y, 0.0, 1.0)) * kPh; }

std::string svg_frame(const std::string& xlabel, const std::string& ylabel) {
  std::ostringstream s;
  s << "<rect x=\"" << kX0 << "\" y=\"" << kY0 << "\" width=\"" << kPw << "\" height=\"" << kPh
    << "\" fill=\"#fff\" stroke=\"#999\"/>";
  for (double t : {0.0, 0.25, 0.5, 0.75, 1.0}) {
    s << "<line x1=\"" << fmt(px(t), 1) << "\" y1=\"" << kY0 << "\" x2=\"" << fmt(px(t), 1) << "\" y2=\""
      << kY0 + kPh << "\" stroke=\"#eee\"/>";
    s << "<line x1=\"" << kX0 << "\" y1=\"" << fmt(py(t), 1) << "\" x2=\"" << kX0 + kPw << "\" y2=\""
      << fmt(py(t), 1) << "\" stroke=\"#eee\"/>";
    s << "<text x=\"" << fmt(px(t), 1) << "\" y=\"" << kY0 + kPh + 14 << "\" text-anchor=\"middle\">"
      << fmt(t, 2) << "</text>";
    s << "<text x=\"" << kX0 - 4 << "\" y=\"" << fmt(py(t) + 4, 1) << "\" text-anchor=\"end\">" << fmt(t, 2)
      << "</text>";
  }
  s << "<text x=\"" << kX0 + kPw / 2 << "\" y=\"" << kH - 4 << "\" text-anchor=\"middle\">"
    << html_escape(xlabel) << "</text>";
  s << "<text transform=\"translate(11," << kY0 + kPh / 2 << ") rotate(-90)\" text-anchor=\"middle\">"
    << html_escape(ylabel) << "</text>";
  return s.str();
}

struct Series {
  std::string label;
  size_t color;
  std::vector<double> x, y;
};

/// One plot: every series as one <path class="curve">; data-curves says how many.
std::string svg_curves(const std::string& kind, const std::vector<Series>& series) {
  const bool roc_like = kind != "pr";
  std::ostringstream s;
  s << "<svg class=\"plot\" data-kind=\"" << kind << "\" data-curves=\"" << series.size()
    << "\" xmlns=\"http://www.w3.org/2000/svg\" width=\"" << kW << "\" height=\"" << kH << "\" viewBox=\"0 0 "
    << kW << " " << kH << "\">";
  s << svg_frame(kind == "pr" ? "recall" : "false positive rate", kind == "roc"  ? "true positive rate"
                                                                  : kind == "pr" ? "precision"
                                                                                 : "per-region overlap");
  if (roc_like)
    s << "<line class=\"ref\" x1=\"" << px(0) << "\" y1=\"" << py(0) << "\" x2=\"" << px(1) << "\" y2=\""
      << py(1) << "\" stroke=\"#bbb\" stroke-dasharray=\"4 3\"/>";
  if (kind == "pro")  // AUPRO's default integration limit
    s << "<line class=\"ref\" x1=\"" << fmt(px(0.3), 1) << "\" y1=\"" << kY0 << "\" x2=\"" << fmt(px(0.3), 1)
      << "\" y2=\"" << kY0 + kPh << "\" stroke=\"#bbb\" stroke-dasharray=\"2 3\"/>";
  for (const auto& se : series) {
    s << "<path class=\"curve\" fill=\"none\" stroke-width=\"1.6\" stroke=\"" << color(se.color) << "\" d=\"";
    for (size_t i = 0; i < se.x.size(); ++i)
      s << (i ? " L" : "M") << fmt(px(se.x[i]), 2) << "," << fmt(py(se.y[i]), 2);
    s << "\"><title>" << html_escape(se.label) << "</title></path>";
  }
  s << "</svg>";
  return s.str();
}

/// Normal vs anomalous score histogram of one result (each class normalised to its own total).
std::string svg_histogram(const json& h, size_t color_index) {
  std::vector<double> n, a;
  for (const auto& v : h["normal"]) n.push_back(v.is_number() ? v.get<double>() : 0);
  for (const auto& v : h["anomalous"]) a.push_back(v.is_number() ? v.get<double>() : 0);
  const size_t bins = std::min(n.size(), a.size());
  double sn = 0, sa = 0, top = 0;
  for (size_t i = 0; i < bins; ++i) sn += n[i], sa += a[i];
  for (size_t i = 0; i < bins; ++i) top = std::max({top, sn > 0 ? n[i] / sn : 0.0, sa > 0 ? a[i] / sa : 0.0});
  std::ostringstream s;
  s << "<svg class=\"hist\" data-bins=\"" << bins << "\" xmlns=\"http://www.w3.org/2000/svg\" width=\"" << kW
    << "\" height=\"" << kH << "\" viewBox=\"0 0 " << kW << " " << kH << "\">";
  s << "<rect x=\"" << kX0 << "\" y=\"" << kY0 << "\" width=\"" << kPw << "\" height=\"" << kPh
    << "\" fill=\"#fff\" stroke=\"#999\"/>";
  const double bw = bins ? kPw / static_cast<double>(bins) : 0;
  for (int cls = 0; cls < 2; ++cls) {
    const auto& v = cls ? a : n;
    const double sum = cls ? sa : sn;
    for (size_t i = 0; i < bins; ++i) {
      const double f = sum > 0 && top > 0 ? v[i] / sum / top : 0;
      if (f <= 0) continue;
      s << "<rect class=\"" << (cls ? "anomalous" : "normal") << "\" x=\"" << fmt(kX0 + i * bw, 2)
        << "\" y=\"" << fmt(kY0 + (1 - f) * kPh, 2) << "\" width=\"" << fmt(bw, 2) << "\" height=\""
        << fmt(f * kPh, 2) << "\" fill=\"" << (cls ? "#d62728" : "#1f77b4")
        << "\" fill-opacity=\"0.45\"><title>" << (cls ? "anomalous" : "normal") << ": " << fmt(v[i], 0)
        << "</title></rect>";
    }
  }
  (void)color_index;
  const double lo = h.contains("lo") && h["lo"].is_number() ? h["lo"].get<double>() : 0;
  const double hi = h.contains("hi") && h["hi"].is_number() ? h["hi"].get<double>() : 0;
  s << "<text x=\"" << kX0 << "\" y=\"" << kY0 + kPh + 14 << "\" text-anchor=\"start\">" << fmt(lo, 4)
    << "</text><text x=\"" << kX0 + kPw << "\" y=\"" << kY0 + kPh + 14 << "\" text-anchor=\"end\">"
    << fmt(hi, 4) << "</text><text x=\"" << kX0 + kPw / 2 << "\" y=\"" << kH - 4
    << "\" text-anchor=\"middle\">score (" << bins << " bins)</text><text transform=\"translate(11,"
    << kY0 + kPh / 2 << ") rotate(-90)\" text-anchor=\"middle\">fraction of the class (scaled)</text></svg>";
  return s.str();
}

std::string base64(const std::vector<unsigned char>& d) {
  static const char* t = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((d.size() + 2) / 3 * 4);
  for (size_t i = 0; i < d.size(); i += 3) {
    const unsigned v = (unsigned(d[i]) << 16) | (i + 1 < d.size() ? unsigned(d[i + 1]) << 8 : 0u) |
                       (i + 2 < d.size() ? unsigned(d[i + 2]) : 0u);
    out += t[(v >> 18) & 63];
    out += t[(v >> 12) & 63];
    out += i + 1 < d.size() ? t[(v >> 6) & 63] : '=';
    out += i + 2 < d.size() ? t[v & 63] : '=';
  }
  return out;
}

constexpr const char* kStyle = R"(body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#222}
h1{font-size:1.5em}h2{font-size:1.25em;margin-top:1.6em;border-bottom:1px solid #ddd}h3{font-size:1.05em}
table{border-collapse:collapse;margin:.5em 0}th,td{border:1px solid #ccc;padding:3px 7px;text-align:right}
th{background:#f3f3f3}td.cat,th.cat{text-align:left}table.sortable thead tr:last-child th{cursor:pointer}
tfoot td{font-style:italic;background:#fafafa}.wrap{overflow-x:auto}
.plots{display:flex;flex-wrap:wrap;gap:12px}.plot-box{border:1px solid #eee;padding:4px}
.plot-box svg text{font-size:10px;fill:#444}.legend span{display:inline-block;margin-right:10px}
.sw{display:inline-block;width:10px;height:10px;margin-right:4px}
.note{color:#8a5300;background:#fff6e0;padding:4px 8px;display:inline-block}
.cases{display:flex;flex-wrap:wrap;gap:8px}.cases figure{margin:0;font-size:11px;max-width:170px}
.cases img{display:block;image-rendering:auto}dl.prov{display:grid;grid-template-columns:max-content auto;gap:2px 12px}
dl.prov dt{font-weight:600}dl.prov dd{margin:0;word-break:break-all;font-family:monospace;font-size:12px}
)";

// The error hook runs first so that an exception in any later script leaves a marker in the DOM
// (the marker's id is split so that the page's own source never contains it).
constexpr const char* kErrorHook = R"(window.addEventListener('error',function(e){
var d=document.createElement('pre');d.id='js-'+'error-marker';d.textContent=String(e.message);
(document.body||document.documentElement).appendChild(d);});
)";

constexpr const char* kSortScript = R"(document.querySelectorAll('table.sortable').forEach(function(t){
var hr=t.tHead.rows[t.tHead.rows.length-1];
Array.prototype.forEach.call(hr.cells,function(th){th.addEventListener('click',function(){
var i=+th.getAttribute('data-col'),b=t.tBodies[0],rows=Array.prototype.slice.call(b.rows);
var asc=th.getAttribute('data-dir')!=='asc';
rows.sort(function(p,q){var a=p.cells[i].getAttribute('data-v'),c=q.cells[i].getAttribute('data-v');
var x=parseFloat(a),y=parseFloat(c);var r=(isNaN(x)||isNaN(y))?String(a).localeCompare(String(c)):x-y;
if(isNaN(x)&&!isNaN(y))r=1;if(!isNaN(x)&&isNaN(y))r=-1;return asc?r:-r;});
th.setAttribute('data-dir',asc?'asc':'desc');rows.forEach(function(r){b.appendChild(r);});});});});
document.body.setAttribute('data-ready','1');
)";

void provenance(std::ostringstream& h, const ReportResult& r, const std::string& label) {
  const json& j = r.json;
  const json& p = producer(j);
  std::vector<std::pair<std::string, std::string>> rows{
      {"file", r.path},
      {"adbench", str(j.value("adbench", json::object()), "version") + " (commit " +
                      str(j.value("adbench", json::object()), "git_commit") + ", LibTorch " +
                      str(j.value("adbench", json::object()), "libtorch") + ")"},
      {"created (UTC)", str(j, "created_utc")},
      {"device", str(j, "device") + " (" + str(j, "device_name") + ")"},
      {"machine", j.contains("machine") ? j["machine"].dump() : ""},
      {"dataset", str(j, "dataset") + " at " + str(j, "root")},
      {"setting", str(j, "setting")},
      {"seed", str(j, "seed")},
      {"source", j.contains("source") ? j["source"].dump() : ""},
      {"detector spec", str(p, "spec")},
      {"config SHA-256", str(p, "config_sha256")},
      {"backbone", str(p, "backbone")},
      {"weights", str(p, "weights")},
      {"weights SHA-256", str(p, "weights_sha256")},
      {"produced by", p.is_object()
                          ? "adbench " + str(p, "adbench_version") + " commit " + str(p, "git_commit") +
                                " on " + str(p, "device") + " (" + str(p, "device_name") + ")"
                          : ""},
      {"detector config", p.is_object() && p.contains("config") ? p["config"].dump() : ""},
      {"metric options", j.contains("options") ? j["options"].dump() : ""},
      {"command", str(j, "command")},
  };
  h << "<h3>" << html_escape(label) << "</h3><dl class=\"prov\">";
  for (const auto& [k, v] : rows) h << "<dt>" << html_escape(k) << "</dt><dd>" << html_escape(v) << "</dd>";
  h << "</dl>";
}

void case_list(std::ostringstream& h, const std::string& title, const std::vector<ReportCase>& cs) {
  if (cs.empty()) return;
  h << "<h4>" << html_escape(title) << "</h4><div class=\"cases\">";
  for (const auto& c : cs)
    h << "<figure><img alt=\"" << html_escape(c.rel_path) << "\" src=\"data:image/png;base64," << c.png_base64
      << "\"><figcaption>" << html_escape(c.rel_path) << "<br>score " << fmt(c.score, 4)
      << "</figcaption></figure>";
  h << "</div>";
}

}  // namespace

std::string html_escape(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::vector<ReportCases> read_report_cases(const fs::path& pred, int per_group, int thumb_px) {
  std::error_code ec;
  if (!fs::is_directory(pred, ec)) throw_file_error(pred, "is not a folder (expected eval --pred-out's)");
  std::vector<fs::path> dirs;
  for (const auto& e : fs::directory_iterator(pred, ec))
    if (e.is_directory() && fs::is_regular_file(e.path() / "scores.csv") &&
        fs::is_directory(e.path() / "heatmaps"))
      dirs.push_back(e.path());
  std::sort(dirs.begin(), dirs.end());
  if (dirs.empty())
    throw_file_error(pred,
                     "no <category>/scores.csv with heatmaps/ inside (write it with eval --pred-out DIR "
                     "--heatmaps)");
  std::vector<ReportCases> out;
  for (const auto& dir : dirs) {
    ReportCases rc;
    rc.pred = pred.string();
    rc.category = dir.filename().string();
    if (fs::is_regular_file(dir / "prediction.json")) {
      json pj = json::parse(read_file(dir / "prediction.json"), nullptr, false);
      rc.detector = str(pj, "detector");
    }
    std::vector<ReportCase> all;
    const fs::path csv = dir / "scores.csv";
    for (const auto& row : formats::parse_scores_csv(read_file(csv), csv.string())) {
      ReportCase c;
      c.rel_path = row.key;
      c.anomalous = row.key.substr(0, row.key.find('/')) != "good";
      c.score = row.score;
      all.push_back(std::move(c));
    }
    std::stable_sort(all.begin(), all.end(), [](const auto& a, const auto& b) { return a.score < b.score; });
    std::vector<ReportCase> an, no;
    for (const auto& c : all) (c.anomalous ? an : no).push_back(c);
    auto take = [&](const std::vector<ReportCase>& v, bool from_top) {
      std::vector<ReportCase> r;
      for (size_t i = 0; i < v.size() && static_cast<int>(r.size()) < per_group; ++i) {
        ReportCase c = v[from_top ? v.size() - 1 - i : i];
        const fs::path png = dir / "heatmaps" / (c.rel_path + ".png");
        cv::Mat img = fs::is_regular_file(png) ? cv::imread(png.string(), cv::IMREAD_COLOR) : cv::Mat();
        if (img.empty()) continue;  // no overlay for it (e.g. multi-view): show the others
        const double f = static_cast<double>(thumb_px) / std::max(img.cols, img.rows);
        if (f < 1) cv::resize(img, img, cv::Size(), f, f, cv::INTER_AREA);
        std::vector<unsigned char> buf;
        cv::imencode(".png", img, buf);
        c.png_base64 = base64(buf);
        r.push_back(std::move(c));
      }
      return r;
    };
    rc.missed = take(an, false);
    rc.false_alarms = take(no, true);
    rc.best_anomalous = take(an, true);
    rc.best_normal = take(no, false);
    out.push_back(std::move(rc));
  }
  return out;
}

std::string render_report(const std::vector<ReportResult>& results, const std::vector<ReportCases>& cases,
                          const std::string& title, const std::string& command) {
  const auto labels = result_labels(results);
  const auto columns = metric_columns(results);
  std::vector<std::string> categories;
  for (const auto& r : results)
    for (const auto& [c, row] : r.metrics)
      if (std::find(categories.begin(), categories.end(), c) == categories.end()) categories.push_back(c);
  std::sort(categories.begin(), categories.end());

  std::ostringstream h;
  h << "<!DOCTYPE html>\n"
    << kReportMarker << "\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
    << "<meta name=\"generator\" content=\"adbench " << html_escape(build::kVersion) << "\"><title>"
    << html_escape(title) << "</title><style>" << kStyle << "</style><script>" << kErrorHook
    << "</script></head><body>\n<h1>" << html_escape(title) << "</h1>\n";
  h << "<p>" << results.size() << " result file(s), " << categories.size()
    << " categories. Values in %; click a column heading to sort.</p>\n";

  // ---- leaderboard ----
  h << "<h2 id=\"leaderboard\">Leaderboard</h2><div class=\"wrap\"><table class=\"sortable\" "
       "id=\"leaderboard-table\"><thead><tr><th class=\"cat\"></th>";
  for (size_t i = 0; i < results.size(); ++i)
    h << "<th colspan=\"" << columns.size() << "\" title=\"" << html_escape(results[i].path) << "\">"
      << "<span class=\"sw\" style=\"background:" << color(i) << "\"></span>" << html_escape(labels[i])
      << "</th>";
  h << "</tr><tr><th class=\"cat\" data-col=\"0\">category</th>";
  int col = 1;
  for (size_t i = 0; i < results.size(); ++i)
    for (const auto& m : columns) h << "<th data-col=\"" << col++ << "\">" << html_escape(m) << "</th>";
  h << "</tr></thead><tbody>\n";
  for (const auto& c : categories) {
    h << "<tr><td class=\"cat\" data-v=\"" << html_escape(c) << "\">" << html_escape(c) << "</td>";
    for (const auto& r : results) {
      auto row = r.metrics.find(c);
      for (const auto& m : columns) {
        if (row == r.metrics.end() || !row->second.count(m)) {
          h << "<td data-v=\"\">–</td>";
          continue;
        }
        const double v = row->second.at(m);
        h << "<td data-v=\"" << fmt(v, 17) << "\">" << fmt(100 * v, 2) << "</td>";
      }
    }
    h << "</tr>\n";
  }
  h << "</tbody><tfoot><tr><td class=\"cat\">mean</td>";
  for (const auto& r : results)
    for (const auto& m : columns) {
      const auto us = m.find('_');
      const std::string level = m.substr(0, us), metric = m.substr(us + 1);
      const json& mean = r.json["mean"];
      if (mean.contains(level) && mean[level].contains("metrics") &&
          mean[level]["metrics"].contains(metric) && mean[level]["metrics"][metric].is_number())
        h << "<td>" << fmt(100 * mean[level]["metrics"][metric].get<double>(), 2) << "</td>";
      else
        h << "<td>–</td>";
    }
  h << "</tr></tfoot></table></div>\n";

  // ---- curves and histograms per category ----
  h << "<h2 id=\"curves\">Curves</h2>\n";
  h << "<p>Stored by <code>eval --curves</code>: each curve is down-sampled to at most ~1,000 points "
       "(a point is kept each time FPR + TPR, or the recall for PR, passes the next multiple of 1/500 "
       "(1/1000 for PR); the first and last points of the exact curve are always kept).</p>\n";
  for (const auto& c : categories) {
    h << "<section class=\"category\" data-category=\"" << html_escape(c) << "\"><h3>" << html_escape(c)
      << "</h3>";
    std::vector<std::string> levels;
    for (const auto& r : results)
      if (r.json.contains("categories"))
        for (const auto& cj : r.json["categories"])
          if (str(cj, "category") == c && cj.contains("levels") && cj["levels"].is_array())
            for (const auto& l : cj["levels"])
              if (std::find(levels.begin(), levels.end(), str(l, "level")) == levels.end())
                levels.push_back(str(l, "level"));
    bool any = false;
    std::vector<std::string> without;
    std::ostringstream plots;
    for (const auto& level : levels) {
      for (const std::string kind : {"roc", "pr", "pro"}) {
        std::vector<Series> series;
        for (size_t i = 0; i < results.size(); ++i) {
          Series s{labels[i], i, {}, {}};
          if (!read_curve(find_level(results[i].json, c, level), kind, s.x, s.y)) continue;
          series.push_back(std::move(s));
        }
        if (series.empty()) continue;
        any = true;
        const std::string metric = kind == "roc" ? "auroc" : kind == "pr" ? "ap" : "aupro_0.3";
        plots << "<div class=\"plot-box\"><div><b>" << html_escape(level) << " "
              << (kind == "roc"  ? "ROC"
                  : kind == "pr" ? "PR"
                                 : "PRO")
              << "</b></div>" << svg_curves(kind, series) << "<div class=\"legend\">";
        for (const auto& s : series) {
          auto row = results[s.color].metrics.find(c);
          std::string v;
          if (row != results[s.color].metrics.end() && row->second.count(level + "_" + metric))
            v = " " + metric + " " + fmt(100 * row->second.at(level + "_" + metric), 2);
          plots << "<span><i class=\"sw\" style=\"background:" << color(s.color) << "\"></i>"
                << html_escape(s.label + v) << "</span>";
        }
        plots << "</div></div>";
      }
    }
    for (size_t i = 0; i < results.size(); ++i)
      for (const auto& level : levels) {
        const json* l = find_level(results[i].json, c, level);
        if (!l || !l->contains("histogram") || !(*l)["histogram"].is_object()) continue;
        const json& hj = (*l)["histogram"];
        if (!hj.contains("normal") || !hj.contains("anomalous") || !hj["normal"].is_array() ||
            !hj["anomalous"].is_array())
          continue;
        plots << "<div class=\"plot-box\"><div><b>" << html_escape(labels[i] + ": " + level)
              << " scores</b></div>" << svg_histogram(hj, i)
              << "<div class=\"legend\"><span><i class=\"sw\" style=\"background:#1f77b4\"></i>normal</span>"
                 "<span><i class=\"sw\" style=\"background:#d62728\"></i>anomalous</span></div></div>";
      }
    for (size_t i = 0; i < results.size(); ++i) {
      bool has = false;
      for (const auto& level : levels) {
        std::vector<double> x, y;
        has = has || read_curve(find_level(results[i].json, c, level), "roc", x, y);
      }
      if (!has && results[i].metrics.count(c)) without.push_back(labels[i]);
    }
    if (any) h << "<div class=\"plots\">" << plots.str() << "</div>";
    if (!without.empty()) {
      std::string names;
      for (const auto& w : without) names += (names.empty() ? "" : ", ") + w;
      h << "<p class=\"note no-curves\">" << html_escape(names)
        << ": no curves stored; rerun eval with --curves</p>";
    }
    for (const auto& rc : cases) {
      if (rc.category != c) continue;
      h << "<div class=\"case-set\"><h4>Cases from " << html_escape(rc.pred)
        << (rc.detector.empty() ? "" : " (" + html_escape(rc.detector) + ")") << "</h4>";
      case_list(h, "worst: lowest-scored anomalous (missed defects)", rc.missed);
      case_list(h, "worst: highest-scored normal (false alarms)", rc.false_alarms);
      case_list(h, "best: highest-scored anomalous", rc.best_anomalous);
      case_list(h, "best: lowest-scored normal", rc.best_normal);
      h << "</div>";
    }
    h << "</section>\n";
  }

  // ---- provenance ----
  h << "<h2 id=\"provenance\">Provenance</h2>\n";
  for (size_t i = 0; i < results.size(); ++i) provenance(h, results[i], labels[i]);
  h << "<p>Report written by adbench " << html_escape(build::kVersion) << " (commit "
    << html_escape(build::kGitCommit) << "): <code>" << html_escape(command) << "</code></p>\n";
  h << "<script>" << kSortScript << "</script>\n</body></html>\n";
  return h.str();
}

}  // namespace adbench
