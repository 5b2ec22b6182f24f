#pragma once
// adbench report: one self-contained HTML page (inline CSS, inline SVG drawn here, a few lines of
// inline JS for sorting; nothing fetched from the network) from result JSONs (eval --out):
//  - a sortable leaderboard table, one row per category, one column group per result;
//  - per category, the ROC / PR / PRO curves eval --curves stored (every result in one plot) and
//    each result's normal vs anomalous score histogram;
//  - with prediction folders (eval --pred-out --heatmaps), the best and worst cases as heatmap
//    thumbnails (base64 PNG data URIs);
//  - the provenance of every number (adbench version and commit, device, detector spec, weights
//    SHA-256, metric options, command line), as the JSON holds it.
// Every text taken from the inputs is HTML-escaped.
#include <cstdint>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace adbench {

/// One result JSON to report on.
struct ReportResult {
  std::string path;     ///< the file, as given (shown in the provenance)
  nlohmann::json json;  ///< the parsed result (schema adbench.result/N)
  /// category -> "<level>_<metric>" -> value (the CLI's metric_table()).
  std::map<std::string, std::map<std::string, double>> metrics;
};

/// One test image shown as a thumbnail.
struct ReportCase {
  std::string rel_path;  ///< relative to the category's test folder, e.g. "crack/001"
  bool anomalous = false;
  double score = 0;
  std::string png_base64;  ///< the heatmap overlay, scaled down, PNG, base64
};

/// The best and worst cases of one category of one prediction folder.
struct ReportCases {
  std::string pred;      ///< the prediction folder, as given
  std::string category;  ///< its subfolder
  std::string detector;  ///< from its prediction.json ("" when unknown)
  /// Lowest-scored anomalous (missed defects) and highest-scored normal (false alarms) images,
  /// worst first; then the best: highest-scored anomalous and lowest-scored normal.
  std::vector<ReportCase> missed, false_alarms, best_anomalous, best_normal;
};

/// Reads PRED/<category>/scores.csv and heatmaps/ for every category folder of `pred` that has both
/// (InputError when none has: the folder was not written by eval --pred-out --heatmaps); `per_group`
/// cases per list, thumbnails at most `thumb_px` pixels on their longer side.
std::vector<ReportCases> read_report_cases(const std::filesystem::path& pred, int per_group = 4,
                                           int thumb_px = 160);

/// `text` with & < > " ' replaced by entities.
std::string html_escape(const std::string& text);

/// The HTML page. `command` is the report's own command line (shown at the bottom).
std::string render_report(const std::vector<ReportResult>& results, const std::vector<ReportCases>& cases,
                          const std::string& title, const std::string& command);

}  // namespace adbench
