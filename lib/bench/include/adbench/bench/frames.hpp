#pragma once
// The frame-level protocol of video anomaly detection (level "frame"), as INFP's code and the IPAD
// papers' Table 1 compute it:
//   1. per video, the first K frames (those without a full input window) are dropped;
//   2. per video, the remaining scores are min-max normalised (a video whose scores are all equal
//      gets 0.5 everywhere and a warning: the reference code divides by zero there);
//   3. a scene's videos are concatenated and AUROC, AP, F1-max and EER are computed exactly;
//   "Avg." over scenes is the unweighted mean of the scene values (the result's mean row).
// Also reported because papers mix them: auroc_raw (step 2 skipped) and auroc_macro (the mean of
// per-video AUROCs over the videos that hold both classes; the others are counted in a warning).
#include <optional>
#include <string>
#include <vector>

#include "adbench/bench/result.hpp"
#include "adbench/metrics/metrics.hpp"

namespace adbench {

struct FrameOptions {
  bool per_video_norm = true;       ///< --frame-norm per-video (default) | none
  bool lower_is_anomalous = false;  ///< --score-direction lower (PSNR-like scores): scores are negated first
  /// --skip-frames K: frames dropped at the start of each video. Unset: the detector's input window
  /// (context_frames), or, for a prediction folder, its prediction.json's skip_frames, else 0.
  std::optional<int> skip_frames;
};

/// One video's frame scores (higher = more anomalous unless lower_is_anomalous) and 0/1 labels.
struct VideoFrameScores {
  std::string video;  ///< how error lines and warnings name it: "video 01", or its score file
  std::vector<double> scores;
  std::vector<int> labels;
};

/// The "frame" level of one scene. Metrics, in order: auroc, ap, f1_max, eer (all on the
/// normalised scores unless per_video_norm is false), auroc_raw, auroc_macro. Counts: units
/// (frames evaluated), normal, anomalous, videos, skipped_frames, constant_videos. InputError
/// naming the video when a frame that is evaluated has a non-finite score. `skip` must be >= 0.
LevelResult frame_level(const std::vector<VideoFrameScores>& videos, int skip, const FrameOptions& options,
                        const metrics::Options& metric_options);

/// Equal error rate: the false-positive rate x at which 1 - x equals the ROC's true-positive rate,
/// the ROC linearly interpolated between its points (scikit-learn roc_curve with
/// drop_intermediate=False, then brentq on 1 - x - interp(x), as the VAD codes compute it).
/// nullopt when the labels hold one class only.
std::optional<double> equal_error_rate(const std::vector<double>& scores, const std::vector<int>& labels);

}  // namespace adbench
