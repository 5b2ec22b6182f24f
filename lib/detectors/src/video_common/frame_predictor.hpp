#pragma once
// Frame-prediction video detectors (ffp, infp and the AstNet-style baseline): a network predicts
// frame i from the `t` frames before it; the worse the prediction (lower PSNR), the more anomalous
// frame i. The training loop, clip sampling, scoring and checkpoints are shared (video_detector.*);
// each detector brings its network and loss through this interface.
#include <torch/nn.h>

#include <memory>

namespace adbench::video {

class FramePredictor : public torch::nn::Module {
 public:
  /// clip: float [B, t, 3, H, W] in [-1, 1] (frames i-t .. i-1, oldest first). Returns the
  /// predicted frame i, float [B, 3, H, W] (no output activation is guaranteed).
  virtual at::Tensor predict(const at::Tensor& clip) = 0;
  /// Training loss of a batch (a scalar tensor): predicted and target frames [B, 3, H, W].
  virtual at::Tensor loss(const at::Tensor& predicted, const at::Tensor& target) = 0;
};

}  // namespace adbench::video
