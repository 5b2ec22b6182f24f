#pragma once
// Prediction folders in the MVTec AD evaluation layout:
//   PRED/<category>/test/<defect>/<stem>.tiff   float32 single-channel anomaly map (.npy also read)
//   PRED/<category>/scores.csv                  path,score (path relative to the category's test folder)
//   PRED/<category>/heatmaps/<defect>/<stem>.png  optional overlays for people
//   PRED/<category>/prediction.json             provenance (written by adbench infer)
// Multi-view samples (Real-IAD's evaluation layout, issue 10), one file per view:
//   PRED/<category>/<image_path with .tiff>     float32 map of the view (.npy also read)
//   PRED/<category>/scores.csv                  path,score: one row per view, path = image_path
// where image_path is the view's image relative to the category folder (<root>/<category>), as in
// Real-IAD's JSON ("NG/HS/S0001/pcb_0001_NG_HS_C1_20230922101010.jpg").
#include <filesystem>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "adbench/core/fs.hpp"
#include "adbench/core/sample.hpp"

namespace adbench {

/// PRED/<category>/test/<defect>/<stem><ext>
std::filesystem::path prediction_map_path(const std::filesystem::path& pred_root, const Sample& s,
                                          const std::string& ext = ".tiff");

/// Writes one category's predictions into a staging folder; commit() moves it to PRED/<category>.
/// Nothing is left behind when the writer is destroyed without commit().
class PredictionWriter {
 public:
  /// `views_dir`: for multi-view categories, the category folder the views' image_paths are
  /// relative to (per-view files and scores.csv rows); empty for one-unit samples. Heatmaps are
  /// not written for multi-view samples.
  PredictionWriter(const std::filesystem::path& pred_root, const std::string& category, bool heatmaps,
                   bool force, std::filesystem::path views_dir = {});
  void add(const Sample& sample, const Prediction& prediction);
  /// Writes scores.csv, heatmaps (normalised over the whole category) and prediction.json, then
  /// renames the folder into place.
  void commit(const nlohmann::json& provenance);
  std::filesystem::path category_dir() const { return staging_.target(); }

 private:
  StagingDir staging_;
  bool heatmaps_;
  std::filesystem::path views_dir_;
  std::vector<std::pair<Sample, double>> written_;
  std::vector<std::pair<std::string, double>> view_rows_;  ///< multi-view: (image_path, score)
  double lo_ = 0, hi_ = 0;
  bool have_range_ = false;
};

/// Reads one category's predictions. The constructor checks that every test sample has a map
/// (InputError "<dir>: N of M predictions missing (first: ...)") and parses scores.csv.
class PredictionReader {
 public:
  /// `views_dir`: as for PredictionWriter (multi-view categories: one map and score per view).
  PredictionReader(const std::filesystem::path& pred_root, const std::string& category,
                   const std::vector<Sample>& test, std::filesystem::path views_dir = {});
  /// Map and score (scores.csv when present, else the map's maximum); per view for multi-view
  /// samples (the sample score is aggregated by the evaluation).
  Prediction read(const Sample& sample) const;
  bool has_scores_csv() const { return !scores_.empty(); }
  /// Multi-view: "<map file> (view <image_path>)", the name of view u's map in error lines.
  std::string view_name(const Sample& sample, std::size_t u) const;

 private:
  void read_views(const std::vector<Sample>& test);
  std::filesystem::path dir_, views_dir_;
  std::map<std::string, std::filesystem::path> maps_;  ///< rel key "<defect>/<stem>" (or image_path) -> file
  std::map<std::string, double> scores_;               ///< rel key -> score
};

/// "<defect>/<stem>": the key of a sample in prediction folders and scores.csv.
std::string prediction_key(const Sample& s);

/// A view's image_path: its image relative to `views_dir` ('/'-separated). InputError naming the
/// image when it does not lie inside views_dir.
std::string view_image_path(const std::filesystem::path& views_dir, const Unit& view);

}  // namespace adbench
