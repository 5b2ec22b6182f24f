#pragma once
// One record, many writers. A ResultRecord holds, per category, a list of metric *levels*
// (sample, frame, view, image, pixel, point); the result JSON, the leaderboard CSV rows and the
// stdout table are all rendered from it through one field table (result_fields()).
#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "adbench/bench/provenance.hpp"
#include "adbench/core/sample.hpp"
#include "adbench/metrics/metrics.hpp"

namespace adbench {

inline constexpr const char* kResultSchema = "adbench.result/2";
/// The leaderboard CSV's schema: the name of its first column (whose cells hold the adbench version
/// that wrote the row), so a header names its own version.
inline constexpr const char* kCsvSchema = "adbench.csv/2";

/// The metric levels adbench knows, coarse to fine. A level's name is what the JSON's "level" and
/// the CSV's `level` column hold.
///  - sample: one score per sample (point clouds: the object; multi-view: the 5 views together)
///  - frame / view: one score per video frame / camera view
///  - image: one score per image (2-D image datasets: the sample level)
///  - pixel: every pixel of every map (images, views, frames, mvtec_3d xyz grids without missing points)
///  - point: every point of every unorganised test cloud
const std::vector<std::string>& known_levels();

/// Score histogram of a binary level (eval --curves): `bins` equal-width bins over [lo, hi] (the
/// level's lowest and highest score; a score equal to hi falls in the last bin), counted apart for
/// normal and anomalous units.
struct ScoreHistogram {
  double lo = 0, hi = 0;
  std::vector<std::int64_t> normal, anomalous;
};
/// Number of bins of ScoreHistogram under eval --curves.
inline constexpr int kHistogramBins = 30;
/// The histogram of `scores` by `labels` (0 normal, else anomalous); every bin in one when all
/// scores are equal.
ScoreHistogram score_histogram(const std::vector<double>& scores, const std::vector<std::int64_t>& labels,
                               int bins = kHistogramBins);

/// One metric level of one category.
struct LevelResult {
  std::string level;
  /// In render order: auroc, ap, f1_max, then aupro_<limit> for the regions of 2-D ground truth.
  /// nullopt: undefined (e.g. one class only) — the level's warnings say why.
  std::vector<std::pair<std::string, std::optional<double>>> metrics;
  std::optional<double> f1_threshold;  ///< score at which F1 is maximal
  /// In render order, e.g. image: units, normal, anomalous; pixel: units (pixels), anomalous,
  /// regions, masks, empty_masks, resized_maps.
  std::vector<std::pair<std::string, std::int64_t>> counts;
  std::vector<std::string> warnings;  ///< metric warnings of this level (also in the category's)
  /// eval --curves: the down-sampled curves of the metrics (ROC and PR; PRO where AUPRO exists) and,
  /// on binary levels, the score histogram. Written to the JSON as "curves" / "histogram" only when
  /// present, so a result without --curves is unchanged.
  std::optional<metrics::Curve> roc, pr, pro;
  std::optional<ScoreHistogram> histogram;

  std::optional<double> metric(const std::string& key) const;
  std::int64_t count(const std::string& key) const;  ///< 0 when absent
};

/// Wall-clock seconds per stage.
struct StageTimes {
  double train = 0, infer = 0, metrics = 0, total = 0;
};

struct CategoryResult {
  std::string category;
  Modality modality = Modality::Image;
  std::int64_t train = 0;           ///< training samples (0 when predictions came from a folder)
  std::int64_t test = 0;            ///< test samples
  std::vector<LevelResult> levels;  ///< coarse to fine; a level without ground truth is absent
  StageTimes seconds;
  std::vector<std::string> warnings;
  /// `eval --pred` on a folder adbench wrote: what produced this category's maps (its
  /// PRED/<category>/prediction.json). The CSV row's detector columns come from it.
  std::optional<Provenance> produced_by;

  const LevelResult* level(const std::string& name) const;  ///< nullptr when absent
};

struct ResultRecord {
  std::string command;  ///< the command line that produced it
  std::string dataset;
  std::string root;
  std::string setting = "single-class";
  /// {"kind": "detector"} (trained here), {"kind": "run", "path"} or {"kind": "predictions", "path"}.
  nlohmann::json source;
  /// What computed the maps when a detector ran here (kinds detector and run); for predictions see
  /// each category's produced_by.
  std::optional<Provenance> produced_by;
  nlohmann::json options;  ///< metric options in effect
  std::string device, device_name;
  int threads = 0;
  std::uint64_t seed = 0;
  std::vector<CategoryResult> categories;
  double wall_seconds = 0;
  std::int64_t peak_rss_bytes = 0;
  std::string created_utc;
  /// Warnings about the evaluation as a whole (e.g. categories skipped by `eval --pred ... --category
  /// all`); per-category warnings live in the categories.
  std::vector<std::string> warnings;

  /// The full result document (schema adbench.result/2, README "Result JSON").
  nlohmann::json to_json() const;
  /// Leaderboard CSV: the header line (no newline) and one row per category and level.
  static std::string csv_header();
  std::string csv_rows() const;
  /// A readable table (percentages) for stdout: one block per level.
  std::string table() const;
};

/// One row of the result: a category's level, with what produced it.
struct ResultRow {
  const ResultRecord& record;
  const CategoryResult& category;
  const LevelResult& level;
  const Provenance* produced_by;  ///< the category's, else the record's; nullptr when unknown
};

/// One field of the field table: a CSV column, and where it also appears.
struct ResultField {
  std::string name;           ///< CSV column
  std::string table_heading;  ///< stdout table column; "" when not in the table
  /// The CSV cell ("" when unknown or undefined).
  std::function<std::string(const ResultRow&)> cell;
  /// The value for the table, for metric fields (nullopt: '-').
  std::function<std::optional<double>(const ResultRow&)> value;
};

/// The field table: every CSV column in order. The metric fields (auroc .. aupro_0.01) also make
/// the stdout table; the JSON holds every field of its own scope plus each level's complete metric
/// list (the CSV has the three standard AUPRO limits only).
const std::vector<ResultField>& result_fields();

}  // namespace adbench
