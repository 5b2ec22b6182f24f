#pragma once
// Prediction folders of videos (README "Video prediction folders"):
//   PRED/<scene>/test/<video>.npy            float32 [T]: one anomaly score per frame, higher = more
//                                            anomalous; NaN for frames without a prediction (the
//                                            detector's first input window)
//   PRED/<scene>/test/<video>/NNNN.tiff      optional float32 map per frame (NNNN = frame_name(i))
//   PRED/<scene>/heatmaps/<video>/NNNN.png   optional overlays for people
//   PRED/<scene>/prediction.json             provenance and skip_frames (written by adbench)
// Other methods' outputs are read from the same layout: `eval --pred PRED` with a .npy per video
// (any float dtype, any shape that flattens to the frame count) and optionally the maps.
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "adbench/core/fs.hpp"
#include "adbench/core/sample.hpp"

namespace adbench {

/// Writes one scene's video predictions into a staging folder; commit() moves it into place.
class VideoPredictionWriter {
 public:
  VideoPredictionWriter(const std::filesystem::path& pred_root, const std::string& scene, bool heatmaps,
                        bool force);
  /// One frame's map, when it has one (written at once: memory stays O(frame)).
  void add_frame(const Sample& video, std::size_t frame, const UnitOutput& out);
  /// After a video's frames: its score vector (NaN where no prediction).
  void end_video(const Sample& video, const std::vector<double>& scores);
  /// Heatmaps (one colour range over the whole scene), then prediction.json (with `skip_frames`),
  /// then the rename into place.
  void commit(nlohmann::json provenance, int skip_frames);

 private:
  StagingDir staging_;
  bool heatmaps_;
  std::vector<std::pair<Sample, std::vector<double>>> videos_;
  double lo_ = 0, hi_ = 0;
  bool have_range_ = false;
  std::size_t maps_ = 0;
};

/// Reads one scene's video predictions. The constructor checks that every test video has its
/// score file and that its length is the video's frame count.
class VideoPredictionReader {
 public:
  VideoPredictionReader(const std::filesystem::path& pred_root, const std::string& scene,
                        const std::vector<Sample>& test);
  /// The video's frame scores (NaN kept: the evaluation decides).
  const std::vector<double>& scores(const Sample& video) const;
  /// PRED/<scene>/test/<video>.npy
  std::filesystem::path score_file(const Sample& video) const {
    return dir_ / "test" / (video.stem + ".npy");
  }
  /// Whether PRED/<scene>/test/<video>/ holds maps.
  bool has_maps(const Sample& video) const;
  /// The map of one frame; InputError naming the file when it is missing or unreadable.
  at::Tensor map(const Sample& video, std::size_t frame) const;
  /// skip_frames from the folder's prediction.json when adbench wrote it.
  std::optional<int> skip_frames() const { return skip_frames_; }

 private:
  std::filesystem::path dir_;
  std::vector<std::pair<std::string, std::vector<double>>> scores_;
  std::optional<int> skip_frames_;
};

}  // namespace adbench
