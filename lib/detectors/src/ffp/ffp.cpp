#include "ffp/ffp.hpp"

#include <torch/nn.h>

#include "ffp/unet.hpp"

namespace nn = torch::nn;

namespace adbench {

namespace video {

UNetPredictor::UNetPredictor(int frames, std::vector<int> widths, double intensity_weight,
                             double gradient_weight)
    : wi_(intensity_weight), wg_(gradient_weight) {
  const std::size_t levels = widths.size();
  auto conv = [](int in, int out, int k) { return nn::Conv2d(nn::Conv2dOptions(in, out, k).padding(k / 2)); };
  int in = 3 * frames;
  for (std::size_t l = 0; l < levels; ++l) {
    enc_a_.push_back(register_module("enc" + std::to_string(l) + "_a", conv(in, widths[l], 3)));
    enc_b_.push_back(register_module("enc" + std::to_string(l) + "_b", conv(widths[l], widths[l], 3)));
    in = widths[l];
  }
  // Up path from the deepest level: dec index l rebuilds level l (l = levels-2 .. 0).
  up_.resize(levels > 0 ? levels - 1 : 0, nullptr);
  dec_a_.resize(up_.size(), nullptr);
  dec_b_.resize(up_.size(), nullptr);
  for (std::size_t k = up_.size(); k-- > 0;) {
    const int w = widths[k], deeper = widths[k + 1];
    up_[k] = register_module("up" + std::to_string(k),
                             nn::ConvTranspose2d(nn::ConvTranspose2dOptions(deeper, w, 2).stride(2)));
    dec_a_[k] = register_module("dec" + std::to_string(k) + "_a", conv(2 * w, w, 3));
    dec_b_[k] = register_module("dec" + std::to_string(k) + "_b", conv(w, w, 3));
  }
  out_ = register_module("out", conv(widths[0], 3, 3));
  at::NoGradGuard no_grad;
  for (auto& p : named_parameters(true)) {
    if (p.key().size() >= 6 && p.key().compare(p.key().size() - 6, 6, "weight") == 0)
      nn::init::xavier_uniform_(p.value());
    else
      nn::init::zeros_(p.value());
  }
}

at::Tensor UNetPredictor::predict(const at::Tensor& clip) {
  at::Tensor x = clip.flatten(1, 2);  // [B, 3t, H, W], oldest frame first
  std::vector<at::Tensor> skips;
  for (std::size_t l = 0; l < enc_a_.size(); ++l) {
    x = at::relu(enc_b_[l]->forward(at::relu(enc_a_[l]->forward(x))));
    if (l + 1 < enc_a_.size()) {
      skips.push_back(x);
      x = at::max_pool2d(x, {2, 2}, {2, 2});
    }
  }
  for (std::size_t k = up_.size(); k-- > 0;) {
    at::Tensor u = at::relu(up_[k]->forward(x));
    x = at::cat({skips[k], u}, 1);
    x = at::relu(dec_b_[k]->forward(at::relu(dec_a_[k]->forward(x))));
  }
  return at::tanh(out_->forward(x));
}

at::Tensor UNetPredictor::gradient_loss(const at::Tensor& predicted, const at::Tensor& target) {
  auto grads = [](const at::Tensor& x) {
    const int64_t h = x.size(2), w = x.size(3);
    at::Tensor p = at::constant_pad_nd(x, {0, 1, 0, 1}, 0.0);  // right column, bottom row
    at::Tensor dx = (p.slice(2, 0, h).slice(3, 1, w + 1) - p.slice(2, 0, h).slice(3, 0, w)).abs();
    at::Tensor dy = (p.slice(2, 0, h).slice(3, 0, w) - p.slice(2, 1, h + 1).slice(3, 0, w)).abs();
    return std::make_pair(dx, dy);
  };
  auto [pdx, pdy] = grads(predicted);
  auto [tdx, tdy] = grads(target);
  return ((tdx - pdx).abs() + (tdy - pdy).abs()).mean();
}

at::Tensor UNetPredictor::loss(const at::Tensor& predicted, const at::Tensor& target) {
  return wi_ * (predicted - target).pow(2).mean() + wg_ * gradient_loss(predicted, target);
}

}  // namespace video

const SettingsTable& Ffp::settings() {
  static const SettingsTable table = [] {
    video::TrainingDefaults d;
    d.height = 256;
    d.width = 256;
    d.frames = 4;
    d.clip_stride = 1;
    d.resize = "bilinear";  // cv2.resize's default in the official code
    d.batch = 4;
    d.epochs = 0;
    d.iterations = 80000;
    d.lr = 2e-4;
    d.lr_gamma = 0.1;
    SettingsTable t = video::training_settings(d);
    t.push_back({"widths", std::vector<int>{64, 128, 256, 512}, SettingRange::integers(2, 6, 1, 4096),
                 "U-Net channels per level (levels = entries; height and width must be multiples of "
                 "2^(levels-1))"});
    t.push_back(
        {"intensity_weight", 1.0, SettingRange::number(0, false, 1e6), "weight of the intensity (L2) loss"});
    t.push_back({"gradient_weight", 1.0, SettingRange::number(0, false, 1e6), "weight of the gradient loss"});
    return t;
  }();
  return table;
}

namespace {
nlohmann::json ffp_config(const nlohmann::json& overrides) {
  return merge_config("ffp", Ffp::settings(), overrides);
}
int size_multiple(const nlohmann::json& c) { return 1 << (c.at("widths").size() - 1); }
}  // namespace

Ffp::Ffp(const nlohmann::json& overrides) : Ffp(ffp_config(overrides), 0) {}

Ffp::Ffp(nlohmann::json config, int)
    : VideoPredictionDetector(
          "ffp", config,
          [](const nlohmann::json& c) -> std::shared_ptr<video::FramePredictor> {
            return std::make_shared<video::UNetPredictor>(
                c.at("frames").get<int>(), c.at("widths").get<std::vector<int>>(),
                c.at("intensity_weight").get<double>(), c.at("gradient_weight").get<double>());
          },
          size_multiple(config)) {}

}  // namespace adbench
