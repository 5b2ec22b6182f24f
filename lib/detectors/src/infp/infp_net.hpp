#pragma once
// INFP (Yu et al., IJCAI 2025, "Industrial video anomaly detection via frequency prioritization"):
// future-frame prediction with a dilated WideResNet-38-A2 encoder shared by the t input frames,
// a frequency/temporal fusion block on the deepest feature map, a channel-attention decoder with
// skips and a frequency-domain "trajectory filter". Written from the official PyTorch code's
// architecture (GitHub YuQianzi/INFP, models/wresnet1024_cattn_tsm.py, mfusion.py,
// models/wider_resnet.py, utils/loss_util.py); every place where the code and the paper differ is
// a setting whose default is the code. See README.md next to this file.
#include <torch/nn.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <tuple>
#include <vector>

#include "adbench/detectors/detector.hpp"
#include "video_common/frame_predictor.hpp"

namespace adbench::infp {

enum class FilterAxes {
  Code,   ///< the official code: the NCHW map read as [B, H', W', C'] = [B, C, H, W]: FFT over (C, H), MLP
          ///< over W
  Paper,  ///< the paper: FFT over (H, W), MLP over channels
};

/// The network's settings (make_infp_net reads them from a JSON config).
struct InfpOptions {
  bool fusion = true;  ///< Ctx(x + TSM(x) + Freq(x)) on the deepest map
  bool filter = true;  ///< trajectory filter after the last decoder stage
  FilterAxes filter_axes = FilterAxes::Code;
  int64_t width_div = 1;              ///< every channel width divided by this (1 = the official widths)
  bool msssim_quirk = true;           ///< the official MS-SSIM product (see infp_loss.hpp)
  int64_t height = 224, width = 288;  ///< input frame size (the code-mode filter's weights depend on it)
  int64_t frames = 4;                 ///< t, input frames per prediction
};

/// Network settings: fusion, filter, filter_axes, width_div, msssim_quirk.
SettingsTable infp_net_settings();

/// Reads InfpOptions from `cfg`: the keys of infp_net_settings() plus `height`, `width` and
/// `frames` (owned by the video detector's training settings; defaults 224, 288, 4). Other keys are ignored.
/// InputError "detector infp: ..." for a value out of range (height/width must be multiples of 8, >= 16).
InfpOptions infp_options(const nlohmann::json& cfg);

/// TSM as in the official code: x [B, C, H, W] seen as `segments` groups of C/segments channels;
/// the first (C/segments)/fold_div channels of each group take the values of the next group (the
/// last group's become 0); the rest is unchanged.
at::Tensor temporal_shift(const at::Tensor& x, int64_t segments = 4, int64_t fold_div = 8);

/// s * relu(x)^2 + b with learnable scalars s (1) and b (0).
class StarReLUImpl : public torch::nn::Module {
 public:
  StarReLUImpl();
  at::Tensor forward(const at::Tensor& x);
  at::Tensor scale, bias;
};
TORCH_MODULE(StarReLU);

/// The dynamic frequency filter on a channels-last tensor [B, S0, S1, D]: routing weights
/// softmax_f(MLP(mean_{S0,S1} x)) over `num_filters` learned complex filters [S0, S1/2+1]
/// (one mix per channel of the expanded features), applied as
///   pwconv2(irfft2(rfft2(StarReLU(pwconv1(x)), ortho) * W, ortho))   (FFT over S0, S1).
class TrajectoryCoreImpl : public torch::nn::Module {
 public:
  TrajectoryCoreImpl(int64_t dim, int64_t size0, int64_t size1, int64_t num_filters = 4);
  at::Tensor forward(const at::Tensor& x);
  int64_t dim, size0, size1, num_filters, med;
  torch::nn::Linear pwconv1{nullptr}, pwconv2{nullptr}, fc1{nullptr}, fc2{nullptr};
  StarReLU act1{nullptr}, act_mlp{nullptr};
  at::Tensor complex_weights;  ///< [S0, S1/2+1, num_filters, 2] (real, imaginary)
};
TORCH_MODULE(TrajectoryCore);

/// The trajectory filter on an NCHW map [B, C, H, W]: FilterAxes::Code hands the tensor to the
/// core as it is (S0 = C, S1 = H, D = W); FilterAxes::Paper permutes to [B, H, W, C] and back.
class TrajectoryFilterImpl : public torch::nn::Module {
 public:
  TrajectoryFilterImpl(int64_t channels, int64_t height, int64_t width, FilterAxes axes);
  at::Tensor forward(const at::Tensor& x);
  FilterAxes axes;
  TrajectoryCore core{nullptr};
};
TORCH_MODULE(TrajectoryFilter);

class Wrn38Encoder;
class MultiFeatureFusion;

/// The INFP frame predictor. predict(): clip [B, t, 3, H, W] in [-1, 1] -> [B, 3, H, W].
class InfpNet : public adbench::video::FramePredictor {
 public:
  explicit InfpNet(const InfpOptions& options);
  at::Tensor predict(const at::Tensor& clip) override;
  at::Tensor loss(const at::Tensor& predicted, const at::Tensor& target) override;
  const InfpOptions& options() const { return opt_; }
  /// The fusion block alone, x8 [B, 2048/width_div, h, w] (InternalError when fusion is off).
  at::Tensor fuse(const at::Tensor& x8);
  /// The trajectory filter alone, [B, 256/width_div, H, W] (InternalError when the filter is off).
  at::Tensor filter(const at::Tensor& x);
  /// The encoder on one frame [B, 3, H, W]: the H/2, H/4 and H/8 maps.
  std::tuple<at::Tensor, at::Tensor, at::Tensor> encode(const at::Tensor& frame);

 private:
  InfpOptions opt_;
  std::shared_ptr<Wrn38Encoder> enc_;
  torch::nn::Conv2d conv_x8_{nullptr}, conv_x2_{nullptr}, conv_x1_{nullptr};
  torch::nn::Sequential up8_{nullptr}, up4_{nullptr}, up2_{nullptr};
  torch::nn::Sequential attn8_{nullptr}, attn4_{nullptr}, attn2_{nullptr};
  std::shared_ptr<MultiFeatureFusion> fusion_;
  TrajectoryFilter filter_{nullptr};
  torch::nn::Sequential final_{nullptr};
};

/// The factory the video detector uses: infp_options(cfg), then a fresh network.
std::shared_ptr<adbench::video::FramePredictor> make_infp_net(const nlohmann::json& cfg);

}  // namespace adbench::infp
