#pragma once
// ffp's generator (the official code's U-Net) and losses; see ffp.hpp and README.md.
#include <vector>

#include "video_common/frame_predictor.hpp"

namespace adbench {

namespace video {

/// The FFP generator: `levels` = widths.size() levels of two 3x3 conv + ReLU, 2x2 max pool between
/// levels; up path: 2x2 stride-2 ConvTranspose + ReLU, concat [skip, up], two 3x3 conv + ReLU; a
/// final 3x3 conv to 3 channels and tanh. Weights Xavier-uniform, biases 0 (TF contrib defaults).
class UNetPredictor : public FramePredictor {
 public:
  UNetPredictor(int frames, std::vector<int> widths, double intensity_weight, double gradient_weight);
  at::Tensor predict(const at::Tensor& clip) override;
  /// intensity_weight * mean((p - g)^2) + gradient_weight * gradient_loss(p, g).
  at::Tensor loss(const at::Tensor& predicted, const at::Tensor& target) override;
  /// FFP's gradient loss (alpha 1): mean over pixels and channels of ||dx(g)| - |dx(p)|| +
  /// ||dy(g)| - |dy(p)||, with dx(x)[j] = x[j+1] - x[j] and dy(x)[i] = x[i] - x[i+1], the frame
  /// padded with one zero column on the right and one zero row at the bottom (TF 'SAME' padding
  /// of the official code's 1x2 and 2x1 filters).
  static at::Tensor gradient_loss(const at::Tensor& predicted, const at::Tensor& target);

 private:
  std::vector<torch::nn::Conv2d> enc_a_, enc_b_, dec_a_, dec_b_;
  std::vector<torch::nn::ConvTranspose2d> up_;
  torch::nn::Conv2d out_{nullptr};
  double wi_, wg_;
};

}  // namespace video

}  // namespace adbench
