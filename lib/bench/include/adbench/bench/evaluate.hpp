#pragma once
// The one evaluation driver, for every modality: runs a predictor over a category's test samples
// in batches, checks every prediction (count, map shape, finite values), feeds the prediction
// writer, and accumulates the metric levels. What differs between modalities is only the
// ground-truth strategy that turns a unit's map and truth into pixel or point metrics:
//   - Masks:       a mask image per anomalous image / view / frame; maps resized to the mask on request
//   - GridMasks:   an mvtec_3d xyz grid: mask on the grid, missing points excluded, AUPRO at 0.3 and 0.01
//   - PointLabels: per-point labels of unorganised clouds; no regions, so no AUPRO
// The sample level is "image" for 2-D image datasets and "sample" otherwise; samples of several
// units (multi-view, video) also get a "view" / "frame" level from the units' own scores.
#include <cstdint>
#include <functional>
#include <vector>

#include "adbench/bench/frames.hpp"
#include "adbench/bench/predictions.hpp"
#include "adbench/bench/result.hpp"
#include "adbench/bench/video_predictions.hpp"
#include "adbench/datasets/dataset.hpp"
#include "adbench/detectors/detector.hpp"
#include "adbench/metrics/metrics.hpp"

namespace adbench {

/// Settings shared by every command.
struct CommonOptions {
  at::Device device = at::kCPU;
  int threads = 0;
  std::uint64_t seed = 0;
  int batch_size = 16;
  std::string command_line;
  DatasetOptions dataset;  ///< how adapters read (--label-mismatch)
};

/// --sample-agg: a multi-view sample's score from its views' scores.
enum class SampleAgg { Max, Mean };

struct EvalOptions {
  metrics::Options metrics;
  bool resize = true;   ///< resize a map to its mask's size (bilinear) instead of failing
  FrameOptions frames;  ///< videos: the frame-level protocol (frames.hpp)
  /// Multi-view samples: the sample score is the max (default) or mean of its views' scores,
  /// whatever the detector or prediction folder says the sample score is (so every method is
  /// aggregated the same way).
  SampleAgg sample_agg = SampleAgg::Max;
};

/// Predicts a batch of test samples (same order, same count).
using BatchPredictor = std::function<std::vector<Prediction>(const std::vector<Sample>&)>;

/// Runs `predict` over `samples` in batches of common.batch_size with a progress line, checks that
/// each batch returns one prediction per sample with one map per unit (InternalError otherwise: a
/// detector bug), and hands each (sample, prediction) to `each`. Returns the seconds spent in `predict`.
double predict_all(const std::vector<Sample>& samples, const BatchPredictor& predict,
                   const CommonOptions& common, const std::string& progress_label,
                   const std::function<void(const Sample&, Prediction&)>& each);

/// The name of unit `u`'s map in error lines, e.g. "PRED/cat/OK/S0001/x_C1.tiff (view
/// OK/S0001/x_C1.jpg)" for a view read from a prediction folder.
using UnitNamer = std::function<std::string(const Sample&, std::size_t u)>;

/// Evaluates one category: predictions streamed into the metric levels, optionally written through
/// `writer`. Timings: infer and metrics. Errors about a unit's map name it by `unit_name` when
/// given, else by Prediction::origin, else by the unit's image.
CategoryResult evaluate_category(const CategoryData& data, const BatchPredictor& predict,
                                 const EvalOptions& eval, const CommonOptions& common,
                                 PredictionWriter* writer, const UnitNamer& unit_name = {});

/// Predicts a video frame by frame, in order, handing each frame's output to the sink (no map
/// needed when `want_maps` is false).
struct VideoPredictor {
  /// Frames at the start of each video without a prediction (the detector's input window); the
  /// default of --skip-frames.
  int context_frames = 0;
  /// False when the source has no maps (a prediction folder of scores only): no pixel level then.
  bool maps = true;
  /// How error lines name a video's scores: "video <stem>" by default; a prediction folder names its file.
  std::function<std::string(const Sample& video)> source_name;
  std::function<void(const Sample& video, bool want_maps, const UnitSink& sink)> predict;
};

/// Evaluates one scene of videos: level "frame" (frames.hpp) and, when frames have masks, "pixel"
/// over the evaluated frames. Maps are checked, written through `writer` and dropped frame by frame.
CategoryResult evaluate_video_category(const CategoryData& data, const VideoPredictor& predict,
                                       const EvalOptions& eval, const CommonOptions& common,
                                       VideoPredictionWriter* writer);

/// The frames each video skips in evaluate_video_category: --skip-frames, else the predictor's window.
int frames_to_skip(const EvalOptions& eval, const VideoPredictor& predict);

/// The sample level's name for a modality: "image" for Image, else "sample".
std::string sample_level(Modality m);

}  // namespace adbench
