#pragma once
// The shared machinery of frame-prediction video detectors (ffp, infp): a FramePredictor network
// made by a factory from the detector's configuration, trained on clips of t+1 consecutive
// frames (t input frames, the next one the target) and scored by how badly it predicts each frame.
//
// Frames: read in order with FrameReader, resized to (height, width) (bicubic or bilinear), scaled
// to [-1, 1]. Training: an epoch is every clip that starts at a multiple of `clip_stride` in every
// training video, each once. Clips are streamed: up to kOpenVideos videos are read at once,
// sequentially (so video files are never re-decoded), a random one of them yields its next clip
// into a shuffle buffer of `shuffle_buffer` clips, and batches are drawn at random from the buffer;
// everything is seeded by the run seed and the epoch, so a run is deterministic and a resumed run
// replays the same order. Memory: the buffer (at most shuffle_buffer x (t+1) resized 8-bit frames,
// frames shared between overlapping clips) plus t+1 frames per open video; never a whole video.
// Adam (PyTorch's update rule) with optional learning-rate milestones (x lr_gamma at given epochs);
// the budget is `epochs` and/or `iterations` (whichever ends first; 0 = no limit from that one).
// Checkpoints (model, optimiser state, position) go to ctx.checkpoint_dir every
// `checkpoint_every` epochs and at the end; ctx.resume continues from the latest one there.
//
// Prediction slides over a video keeping the last t frames: frames 0..t-1 get NaN and no map;
// frame i >= t gets score = -PSNR(predicted, actual) = 10 log10(mse) on images mapped to [0, 1]
// (mse floored at 1e-10), and, when ctx.want_maps, a map: the squared error averaged over channels,
// Gaussian-smoothed (`sigma` px at network resolution), bilinearly resized to the frame's size.
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <opencv2/core.hpp>
#include <string>
#include <vector>

#include "adbench/detectors/detector.hpp"
#include "common/training.hpp"

namespace adbench::video {

class FramePredictor;  // video_common/frame_predictor.hpp (torch/nn.h, slow to compile: not included here)

/// Per-detector defaults of the shared settings.
struct TrainingDefaults {
  int height = 256, width = 256, frames = 4, clip_stride = 1;
  std::string resize = "bicubic";
  int batch = 4;
  std::int64_t epochs = 0, iterations = 0;
  double lr = 2e-4, beta1 = 0.9, beta2 = 0.999;
  std::vector<int> lr_milestones;
  double lr_gamma = 0.1;
  int checkpoint_every = 1;
  double sigma = 4.0;
};

/// The settings rows every frame-prediction detector has (height, width, frames, clip_stride,
/// resize, batch, epochs, iterations, lr, beta1, beta2, lr_milestones, lr_gamma, shuffle_buffer,
/// checkpoint_every, keep_checkpoints, sigma) with these defaults; a detector appends its own.
SettingsTable training_settings(const TrainingDefaults& d);

/// Settings that may differ between a checkpoint and the run resuming from it (the budget and the
/// checkpoint schedule); every other setting must be equal.
const std::vector<std::string>& resumable_keys();

/// Makes a fresh (randomly initialised from the current at:: seed) network for a configuration.
using PredictorFactory = std::function<std::shared_ptr<FramePredictor>(const nlohmann::json& config)>;

class VideoPredictionDetector : public Detector {
 public:
  /// `config`: the merged, range-checked configuration (training_settings rows plus the
  /// detector's own). InputError when height/width are not multiples of `size_multiple`.
  VideoPredictionDetector(std::string name, nlohmann::json config, PredictorFactory factory,
                          int size_multiple = 1);

  std::string name() const override { return name_; }
  Modality modality() const override { return Modality::Video; }
  nlohmann::json config() const override { return config_; }
  int context_frames() const override { return t_; }
  void fit(const std::vector<Sample>& train, const RunContext& ctx) override;
  std::vector<Prediction> predict(const std::vector<Sample>& batch, const RunContext& ctx) override;
  double predict_units(const Sample& sample, const RunContext& ctx, const UnitSink& sink) override;
  /// Network parameters and buffers by their module names.
  std::map<std::string, at::Tensor> state() const override;
  void load_state(const std::map<std::string, at::Tensor>& tensors) override;

  /// The network (made on first use with the current at:: seed).
  FramePredictor& network();
  /// Mean training loss of each optimiser step of the last fit() (a resumed fit: its own steps).
  const std::vector<double>& step_losses() const { return step_losses_; }
  /// A frame as the network sees it: RGB 8-bit -> float [3, height, width] in [-1, 1] (CPU).
  at::Tensor to_input(const cv::Mat& rgb) const;
  /// -PSNR of predicted vs actual frames [B,3,H,W] in [-1, 1]: 10 log10(max(mse, 1e-10)) on [0, 1].
  static std::vector<double> neg_psnr(const at::Tensor& predicted, const at::Tensor& actual);

 protected:
  std::string name_;
  nlohmann::json config_;

 private:
  struct Budget;
  /// A frame resized to the network: uint8 [3, height, width] (CPU).
  at::Tensor to_u8(const cv::Mat& rgb) const;
  /// What a checkpoint of this run must agree on.
  train::CheckpointKey checkpoint_key(const std::string& data_id, std::uint64_t seed) const;
  PredictorFactory factory_;
  std::shared_ptr<FramePredictor> net_;
  int t_, height_, width_, stride_;
  double sigma_;
  std::vector<double> step_losses_;
  train::Adam adam_;
};

}  // namespace adbench::video
