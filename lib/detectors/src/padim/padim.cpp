#include "padim.hpp"

#include <chrono>

#include "adbench/core/batching.hpp"
#include "adbench/core/error.hpp"
#include "adbench/core/log.hpp"
#include "adbench/core/progress.hpp"

namespace adbench {

const SettingsTable& Padim::settings() {
  static const SettingsTable table = [] {
    SettingsTable t = feat::backbone_settings("resnet18", {"layer1", "layer2", "layer3"});
    t.push_back({"channels", 100, SettingRange::integer(1, 65536),
                 "size of the seeded random channel subset (at most what the layers give)"});
    t.push_back({"covariance_eps", 0.01, SettingRange::number(0, true),
                 "regulariser added to every covariance (eps * I)"});
    return t;
  }();
  return table;
}

namespace {
nlohmann::json resolved(const nlohmann::json& overrides) {
  nlohmann::json c = merge_config("padim", Padim::settings(), overrides);
  feat::resolve_backbone("padim", c, overrides);
  feat::resolve_layers("padim", c, overrides, "layers", "pyramid");
  return c;
}
}  // namespace

Padim::Padim(const nlohmann::json& overrides)
    : config_(resolved(overrides)),
      extractor_("padim", config_["backbone"], config_["backbone_weights"],
                 config_["image_size"].get<int>()) {
  layers_ = config_["layers"].get<std::vector<std::string>>();
  channels_ = config_["channels"].get<int64_t>();
  eps_ = config_["covariance_eps"].get<double>();
  sigma_ = config_["sigma"].get<double>();
}

at::Tensor Padim::embed(const at::Tensor& x, int64_t* h, int64_t* w) const {
  at::Tensor f = feat::concat_layers(extractor_.features(x, layers_), layers_, 1);  // [B,C,h,w]
  *h = f.size(2), *w = f.size(3);
  f = f.index_select(1, channel_idx_.to(f.device()));
  return f.flatten(2).permute({0, 2, 1}).to(at::kFloat).contiguous();  // [B,hw,d]
}

void Padim::fit(const std::vector<Sample>& train, const RunContext& ctx) {
  if (train.empty()) throw InputError("padim: no training images");
  seed_ = ctx.seed;
  extractor_.load(ctx.device, seed_);
  at::NoGradGuard no_grad;
  at::Tensor sum, outer;  // float64 [hw,d], [hw,d,d]
  Progress progress("padim: features", static_cast<int64_t>(train.size()));
  for_each_batch(train, ctx.batch_size, [&](std::span<const Sample> batch) {
    at::Tensor x = extractor_.images(batch, nullptr);
    if (!channel_idx_.defined()) {
      // The channel count is known once the backbone has run: draw the seeded subset.
      int64_t total =
          feat::concat_layers(extractor_.features(x.narrow(0, 0, 1), layers_), layers_, 1).size(1);
      if (channels_ > total)
        throw InputError("detector padim: channels = " + std::to_string(channels_) +
                         " but the layers give only " + std::to_string(total) + " channels");
      at::Generator gen = at::detail::createCPUGenerator(seed_);
      channel_idx_ = std::get<0>(at::randperm(total, gen, at::kLong).narrow(0, 0, channels_).sort());
    }
    at::Tensor e = embed(x, &grid_h_, &grid_w_).to(at::kDouble);  // [B,hw,d]
    at::Tensor ep = e.permute({1, 0, 2});                         // [hw,B,d]
    if (!sum.defined()) {
      sum = at::zeros({e.size(1), e.size(2)}, e.options());
      outer = at::zeros({e.size(1), e.size(2), e.size(2)}, e.options());
    }
    sum += e.sum(0);
    auto t0 = std::chrono::steady_clock::now();
    outer.baddbmm_(ep.transpose(1, 2), ep);  // sum over images of x x^T per position
    spdlog::debug("padim: outer products in {:.2f} s",
                  std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    progress.tick(static_cast<int64_t>(batch.size()));
  });
  progress.done();
  const double n = static_cast<double>(train.size());
  at::Tensor mean = sum / n;
  // Unbiased covariance (numpy.cov, as the reference implementation) + eps * I.
  at::Tensor cov = (outer - n * mean.unsqueeze(2) * mean.unsqueeze(1)) / std::max(1.0, n - 1.0);
  cov += eps_ * at::eye(cov.size(1), cov.options()).unsqueeze(0);
  spdlog::info("padim: {} positions, {} of the channels; inverting {} covariances", mean.size(0), channels_,
               mean.size(0));
  mean_ = mean.to(at::kFloat);
  // Symmetric positive definite (eps > 0): Cholesky inverse, cheaper than a general LU inverse.
  auto t0 = std::chrono::steady_clock::now();
  inv_cov_ = at::cholesky_inverse(at::linalg_cholesky(cov)).to(at::kFloat);
  spdlog::debug("padim: inverted in {:.2f} s",
                std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
}

std::vector<Prediction> Padim::predict(const std::vector<Sample>& batch, const RunContext& ctx) {
  if (!mean_.defined()) throw InternalError("padim: predict before fit or load");
  extractor_.load(ctx.device, seed_);
  at::NoGradGuard no_grad;
  if (mean_.device() != extractor_.device()) {
    mean_ = mean_.to(extractor_.device());
    inv_cov_ = inv_cov_.to(extractor_.device());
  }
  std::vector<cv::Size> sizes;
  int64_t h = 0, w = 0;
  at::Tensor e = embed(extractor_.images(batch, &sizes), &h, &w);  // [B,hw,d]
  if (e.size(1) != mean_.size(0))
    throw InputError("padim: the model has " + std::to_string(mean_.size(0)) +
                     " positions, the backbone gives " + std::to_string(e.size(1)) +
                     " (another image_size or backbone?)");
  at::Tensor delta = (e - mean_.unsqueeze(0)).permute({1, 0, 2});  // [hw,B,d]
  at::Tensor m2 = (at::bmm(delta, inv_cov_) * delta).sum(2);       // [hw,B]
  at::Tensor dist = m2.clamp_min(0).sqrt().t().reshape({e.size(0), h, w});
  auto maps = feat::to_image_maps(dist, extractor_.image_size(), sigma_, sizes);
  std::vector<Prediction> out;
  for (const auto& m : maps) out.push_back(Prediction::single(m, m.max().item<double>()));
  return out;
}

std::map<std::string, at::Tensor> Padim::state() const {
  return {{"mean", mean_.to(at::kCPU)},
          {"inv_covariance", inv_cov_.to(at::kCPU)},
          {"channel_idx", channel_idx_},
          {"seed", at::tensor({static_cast<int64_t>(seed_)}, at::kLong)}};
}

void Padim::load_state(const std::map<std::string, at::Tensor>& tensors) {
  at::Tensor idx = feat::state_tensor("padim", tensors, "channel_idx", {channels_});
  at::Tensor mean = feat::state_tensor("padim", tensors, "mean", {-1, channels_});
  at::Tensor inv =
      feat::state_tensor("padim", tensors, "inv_covariance", {mean.size(0), channels_, channels_});
  at::Tensor seed = feat::state_tensor("padim", tensors, "seed", {1});
  channel_idx_ = idx.to(at::kLong);
  mean_ = mean.to(at::kFloat).contiguous();
  inv_cov_ = inv.to(at::kFloat).contiguous();
  seed_ = static_cast<std::uint64_t>(seed[0].item<int64_t>());
}

}  // namespace adbench
