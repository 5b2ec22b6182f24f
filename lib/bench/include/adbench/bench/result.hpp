#pragma once
// One record, many writers: a ResultRecord is the source of truth of an evaluation; the result
// JSON, the leaderboard CSV rows and the stdout table all derive from it.
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "adbench/metrics/metrics.hpp"

namespace adbench {

inline constexpr const char* kResultSchema = "adbench.result/1";

/// Counts of what one category's evaluation saw.
struct CategoryCounts {
  std::int64_t train = 0;          ///< training samples (0 when predictions came from a folder)
  std::int64_t test = 0, test_normal = 0, test_anomalous = 0;
  std::int64_t masks = 0;          ///< anomalous test samples with a mask file
  std::int64_t empty_masks = 0;    ///< of those, masks with no anomalous pixel
  std::int64_t pixels = 0, anomalous_pixels = 0, regions = 0;
  std::int64_t resized_maps = 0;   ///< maps resized to their mask's size
};

/// Wall-clock seconds per stage.
struct StageTimes {
  double train = 0, infer = 0, metrics = 0, total = 0;
};

struct CategoryResult {
  std::string category;
  CategoryCounts counts;
  metrics::BinaryMetrics image;
  std::optional<metrics::PixelMetrics> pixel;  ///< absent when the category has no masks
  /// What the pixel_* metrics count: "pixel" (image maps; mvtec_3d xyz grid, missing points
  /// excluded) or "point" (every point of unorganised test clouds). Written to the JSON as "level".
  std::string level = "pixel";
  StageTimes seconds;
  std::vector<std::string> warnings;
  /// `eval --pred` on a folder adbench wrote: what produced this category's maps, from its
  /// PRED/<category>/prediction.json ({"detector", "config_sha256", "provenance"}); null when the
  /// folder has none. The CSV row's detector, config_sha256, backbone and weights_sha256 come
  /// from it. Written to the JSON as "predicted_by" when present.
  nlohmann::json predicted_by;
};

struct ResultRecord {
  std::string command;     ///< the command line that produced it
  std::string dataset;
  std::string root;
  std::string setting = "single-class";
  nlohmann::json source;   ///< {"kind":"detector",...} or {"kind":"predictions","path":...}
  nlohmann::json options;  ///< metric options in effect
  std::string device, device_name;
  int threads = 0;
  std::uint64_t seed = 0;
  std::vector<CategoryResult> categories;
  double wall_seconds = 0;
  std::int64_t peak_rss_bytes = 0;
  std::string created_utc;
  /// Warnings about the evaluation as a whole (e.g. categories skipped by `eval --pred ... --category
  /// all`); per-category warnings live in the categories. Written to the JSON as "warnings".
  std::vector<std::string> warnings;

  /// The full result document (schema in README "Result JSON").
  nlohmann::json to_json() const;
  /// Leaderboard CSV: a fixed header and one row per category.
  static std::string csv_header();
  std::string csv_rows() const;
  /// A readable table (percentages) for stdout.
  std::string table() const;
};

/// Names of the metric columns, in table and CSV order, with their value for a category
/// (nullopt: undefined or not computed).
std::vector<std::pair<std::string, std::optional<double>>> metric_values(const CategoryResult& r);

}  // namespace adbench
