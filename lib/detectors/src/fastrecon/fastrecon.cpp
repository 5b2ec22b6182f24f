#include "fastrecon.hpp"

#include <algorithm>
#include <cmath>

#include "adbench/core/batching.hpp"
#include "adbench/core/error.hpp"
#include "adbench/core/log.hpp"
#include "adbench/core/progress.hpp"

namespace adbench {

const SettingsTable& FastRecon::settings() {
  static const SettingsTable table = [] {
    SettingsTable t = feat::backbone_settings("wide_resnet50_2", {"layer2", "layer3"});
    t.push_back({"shots", 4, SettingRange::integer(1, 100000),
                 "number of normal training images used, a seeded choice (--shots)"});
    t.push_back({"patch_size", 3, SettingRange::integer(1, 31, true),
                 "neighbourhood of the local average (3 = 3x3)"});
    t.push_back({"coreset_ratio", 0.01, SettingRange::number(0, true, 1),
                 "fraction of the support patches in the coreset S"});
    t.push_back({"projection_dim", 128, SettingRange::integer(0, 65536),
                 "random projection used while selecting the coreset (0: none)"});
    t.push_back({"coreset_method", "fast", SettingRange::choice({"fast", "plain"}),
                 "fast: greedy steps skip rows a lower bound rules out; plain: the reference "
                 "loop over every row (same selection)"});
    t.push_back({"lambda", 2.0, SettingRange::number(0, false),
                 "weight of the distribution regulariser ||W S - mu||^2"});
    return t;
  }();
  return table;
}

namespace {
nlohmann::json resolved(const nlohmann::json& overrides) {
  nlohmann::json c = merge_config("fastrecon", FastRecon::settings(), overrides);
  feat::resolve_backbone("fastrecon", c, overrides);
  feat::resolve_layers("fastrecon", c, overrides, "layers", "mid");
  return c;
}
}  // namespace

FastRecon::FastRecon(const nlohmann::json& overrides)
    : config_(resolved(overrides)),
      extractor_("fastrecon", config_["backbone"], config_["backbone_weights"],
                 config_["image_size"].get<int>()) {
  layers_ = config_["layers"].get<std::vector<std::string>>();
  shots_ = config_["shots"].get<int64_t>();
  pool_size_ = config_["patch_size"].get<int>();
  ratio_ = config_["coreset_ratio"].get<double>();
  proj_dim_ = config_["projection_dim"].get<int64_t>();
  lambda_ = config_["lambda"].get<double>();
  sigma_ = config_["sigma"].get<double>();
}

at::Tensor FastRecon::embed(const at::Tensor& x, int64_t* h, int64_t* w) const {
  at::Tensor f = feat::concat_layers(extractor_.features(x, layers_), layers_, pool_size_);  // [B,C,h,w]
  *h = f.size(2), *w = f.size(3);
  return f.flatten(2).permute({0, 2, 1}).to(at::kFloat).contiguous();
}

void FastRecon::fit(const std::vector<Sample>& train, const RunContext& ctx) {
  if (train.empty()) throw InputError("fastrecon: no training images");
  seed_ = ctx.seed;
  // The support set: a seeded choice of `shots` training images, in their dataset order.
  const std::vector<Sample> support = feat::seeded_shots("fastrecon", train, shots_, seed_);
  std::string names;
  for (const Sample& s : support)
    names += (names.empty() ? "" : ", ") + s.rel_path + (s.rel_path.empty() ? s.stem : "");
  spdlog::info("fastrecon: {}-shot support: {}", shots_, names);
  extractor_.load(ctx.device, seed_);
  at::NoGradGuard no_grad;
  std::vector<at::Tensor> parts;
  for_each_batch(support, ctx.batch_size, [&](std::span<const Sample> batch) {
    int64_t h = 0, w = 0;
    parts.push_back(embed(extractor_.images(batch, nullptr), &h, &w));
  });
  at::Tensor q = at::cat(parts, 0);  // [K,hw,C] (few shots: small)
  mu_ = q.mean(0);
  at::Tensor all = q.reshape({-1, q.size(2)});
  const int64_t n =
      std::max<int64_t>(1, static_cast<int64_t>(std::ceil(ratio_ * static_cast<double>(all.size(0)))));
  at::Tensor idx =
      greedy_coreset(all, n,
                     {proj_dim_, seed_, CoresetSeeding::Generator, "fastrecon: coreset",
                      coreset_method_from(config_["coreset_method"].get<std::string>(), "fastrecon")});
  support_ = all.index_select(0, idx.to(all.device())).contiguous();
  spdlog::info("fastrecon: coreset of {} of {} patches ({} dims)", n, all.size(0), all.size(1));
  if (n >= all.size(1))
    spdlog::warn(
        "fastrecon: the coreset ({} patches) spans the whole {}-dim feature space, so the reconstruction "
        "reduces to (q + lambda mu) / (1 + lambda); lower coreset_ratio",
        n, all.size(1));
  prepare();
}

void FastRecon::prepare() {
  at::Tensor s = support_.to(at::kDouble);
  at::Tensor gram = at::mm(s, s.t()) * (1.0 + lambda_);
  gram_inv_ = at::linalg_pinv(gram, 1e-10, /*hermitian=*/true).to(at::kFloat);
  mu_st_ = at::mm(mu_, support_.t());  // [hw,m]
}

std::vector<Prediction> FastRecon::predict(const std::vector<Sample>& batch, const RunContext& ctx) {
  if (!support_.defined()) throw InternalError("fastrecon: predict before fit or load");
  extractor_.load(ctx.device, seed_);
  at::NoGradGuard no_grad;
  if (support_.device() != extractor_.device()) {
    support_ = support_.to(extractor_.device());
    mu_ = mu_.to(extractor_.device());
    gram_inv_ = gram_inv_.to(extractor_.device());
    mu_st_ = mu_st_.to(extractor_.device());
  }
  std::vector<cv::Size> sizes;
  int64_t h = 0, w = 0;
  at::Tensor q = embed(extractor_.images(batch, &sizes), &h, &w);  // [B,hw,C]
  if (q.size(1) != mu_.size(0) || q.size(2) != mu_.size(1))
    throw InputError(
        "fastrecon: the model's features do not match the backbone's (another backbone, layers or "
        "image_size?)");
  at::Tensor a = at::matmul(q, support_.t()) + lambda_ * mu_st_.unsqueeze(0);  // [B,hw,m]
  at::Tensor recon = at::matmul(at::matmul(a, gram_inv_), support_);           // [B,hw,C]
  at::Tensor residual = (q - recon).norm(2, 2).view({q.size(0), h, w});
  auto maps = feat::to_image_maps(residual, extractor_.image_size(), sigma_, sizes);
  std::vector<Prediction> out;
  for (const auto& m : maps) out.push_back(Prediction::single(m, m.max().item<double>()));
  return out;
}

std::map<std::string, at::Tensor> FastRecon::state() const {
  return {{"support", support_.to(at::kCPU)},
          {"mean", mu_.to(at::kCPU)},
          {"seed", at::tensor({static_cast<int64_t>(seed_)}, at::kLong)}};
}

void FastRecon::load_state(const std::map<std::string, at::Tensor>& tensors) {
  at::Tensor s = feat::state_tensor("fastrecon", tensors, "support", {-1, -1});
  at::Tensor mu = feat::state_tensor("fastrecon", tensors, "mean", {-1, s.size(1)});
  at::Tensor seed = feat::state_tensor("fastrecon", tensors, "seed", {1});
  support_ = s.to(at::kFloat).contiguous();
  mu_ = mu.to(at::kFloat).contiguous();
  seed_ = static_cast<std::uint64_t>(seed[0].item<int64_t>());
  prepare();
}

}  // namespace adbench
