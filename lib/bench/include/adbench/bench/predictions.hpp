#pragma once
// Prediction folders in the MVTec AD evaluation layout:
//   PRED/<category>/test/<defect>/<stem>.tiff   float32 single-channel anomaly map (.npy also read)
//   PRED/<category>/scores.csv                  path,score (path relative to the category's test folder)
//   PRED/<category>/heatmaps/<defect>/<stem>.png  optional overlays for people
//   PRED/<category>/prediction.json             provenance (written by adbench infer)
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
  PredictionWriter(const std::filesystem::path& pred_root, const std::string& category, bool heatmaps,
                   bool force);
  void add(const Sample& sample, const Prediction& prediction);
  /// Writes scores.csv, heatmaps (normalised over the whole category) and prediction.json, then
  /// renames the folder into place.
  void commit(const nlohmann::json& provenance);
  std::filesystem::path category_dir() const { return staging_.target(); }

 private:
  StagingDir staging_;
  bool heatmaps_;
  std::vector<std::pair<Sample, double>> written_;
  double lo_ = 0, hi_ = 0;
  bool have_range_ = false;
};

/// Reads one category's predictions. The constructor checks that every test sample has a map
/// (InputError "<dir>: N of M predictions missing (first: ...)") and parses scores.csv.
class PredictionReader {
 public:
  PredictionReader(const std::filesystem::path& pred_root, const std::string& category,
                   const std::vector<Sample>& test);
  /// Map and score (scores.csv when present, else the map's maximum).
  Prediction read(const Sample& sample) const;
  bool has_scores_csv() const { return !scores_.empty(); }

 private:
  std::filesystem::path dir_;
  std::map<std::string, std::filesystem::path> maps_;  ///< rel key "<defect>/<stem>" -> file
  std::map<std::string, double> scores_;               ///< rel key -> score
};

/// "<defect>/<stem>": the key of a sample in prediction folders and scores.csv.
std::string prediction_key(const Sample& s);

}  // namespace adbench
