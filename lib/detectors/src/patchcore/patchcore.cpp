#include "patchcore.hpp"

#include <cmath>
#include <optional>

#include "adbench/core/batching.hpp"
#include "adbench/core/error.hpp"
#include "adbench/core/log.hpp"
#include "adbench/core/progress.hpp"
#include "adbench/core/stage_times.hpp"

namespace adbench {

const SettingsTable& PatchCore::settings() {
  static const SettingsTable table = [] {
    SettingsTable t = feat::backbone_settings("wide_resnet50_2", {"layer2", "layer3"});
    t.push_back({"patch_size", 3, SettingRange::integer(1, 31, true),
                 "neighbourhood of the local average (3 = 3x3)"});
    t.push_back({"target_dim", 1024, SettingRange::integer(1, 65536),
                 "channels after adaptive average pooling (kept when the features have fewer)"});
    t.push_back({"coreset_ratio", 0.1, SettingRange::number(0, true, 1),
                 "fraction of training patches kept by the greedy k-center coreset"});
    t.push_back({"projection_dim", 128, SettingRange::integer(0, 65536),
                 "random projection used while selecting the coreset (0: none)"});
    t.push_back({"coreset_method", "fast", SettingRange::choice({"fast", "plain"}),
                 "fast: greedy steps skip rows a lower bound rules out; plain: the reference "
                 "loop over every row (same selection)"});
    t.push_back({"num_neighbors", 9, SettingRange::integer(1, 1000), "b of the image-score re-weighting"});
    return t;
  }();
  return table;
}

namespace {
nlohmann::json resolved(const nlohmann::json& overrides) {
  nlohmann::json c = merge_config("patchcore", PatchCore::settings(), overrides);
  feat::resolve_backbone("patchcore", c, overrides);
  feat::resolve_layers("patchcore", c, overrides, "layers", "mid");
  return c;
}
}  // namespace

PatchCore::PatchCore(const nlohmann::json& overrides)
    : config_(resolved(overrides)),
      extractor_("patchcore", config_["backbone"], config_["backbone_weights"],
                 config_["image_size"].get<int>()) {
  layers_ = config_["layers"].get<std::vector<std::string>>();
  pool_size_ = config_["patch_size"].get<int>();
  target_dim_ = config_["target_dim"].get<int>();
  ratio_ = config_["coreset_ratio"].get<double>();
  proj_dim_ = config_["projection_dim"].get<int64_t>();
  num_neighbors_ = config_["num_neighbors"].get<int>();
  sigma_ = config_["sigma"].get<double>();
}

at::Tensor PatchCore::embed(const at::Tensor& x, int64_t* h, int64_t* w) const {
  auto feats = extractor_.features(x, layers_);
  ScopedStage t("embed");
  at::Tensor f = feat::concat_layers(feats, layers_, pool_size_);  // [B,C,h,w]
  *h = f.size(2), *w = f.size(3);
  const int64_t c = f.size(1);
  at::Tensor p = f.permute({0, 2, 3, 1}).reshape({-1, c});
  if (c > target_dim_) p = at::adaptive_avg_pool1d(p.unsqueeze(1), {target_dim_}).squeeze(1);
  return p.to(at::kFloat).contiguous();
}

void PatchCore::fit(const std::vector<Sample>& train, const RunContext& ctx) {
  if (train.empty()) throw InputError("patchcore: no training images");
  seed_ = ctx.seed;
  extractor_.load(ctx.device, seed_);
  at::NoGradGuard no_grad;
  at::Tensor all;  // [N*h*w, D], allocated once the first batch gives the patch grid
  int64_t rows = 0, per_image = 0;
  Progress progress("patchcore: features", static_cast<int64_t>(train.size()));
  for_each_batch(train, ctx.batch_size, [&](std::span<const Sample> batch) {
    int64_t h = 0, w = 0;
    at::Tensor e = embed(extractor_.images(batch, nullptr), &h, &w);
    if (!all.defined()) {
      per_image = h * w;
      all = at::empty({per_image * static_cast<int64_t>(train.size()), e.size(1)}, e.options());
    }
    all.narrow(0, rows, e.size(0)).copy_(e);
    rows += e.size(0);
    progress.tick(static_cast<int64_t>(batch.size()));
  });
  progress.done();
  const int64_t n = std::max<int64_t>(1, static_cast<int64_t>(std::ceil(ratio_ * static_cast<double>(rows))));
  spdlog::info("patchcore: {} patches of {} dims from {} images; coreset of {} ({} x {} dims projected)",
               rows, all.size(1), train.size(), n, rows, proj_dim_);
  if (n >= rows) {
    bank_ = all;
  } else {
    at::Tensor idx =
        greedy_coreset(all, n,
                       {proj_dim_, seed_, CoresetSeeding::Generator, "patchcore: coreset",
                        coreset_method_from(config_["coreset_method"].get<std::string>(), "patchcore")});
    bank_ = all.index_select(0, idx.to(all.device()));
  }
}

std::vector<Prediction> PatchCore::predict(const std::vector<Sample>& batch, const RunContext& ctx) {
  if (!bank_.defined()) throw InternalError("patchcore: predict before fit or load");
  extractor_.load(ctx.device, seed_);
  at::NoGradGuard no_grad;
  if (bank_.device() != extractor_.device()) bank_ = bank_.to(extractor_.device());
  std::vector<cv::Size> sizes;
  int64_t h = 0, w = 0;
  at::Tensor e = embed(extractor_.images(batch, &sizes), &h, &w);  // [B*h*w, D]
  if (e.size(1) != bank_.size(1))
    throw InputError("patchcore: the memory bank has " + std::to_string(bank_.size(1)) +
                     "-dim patches, the backbone gives " + std::to_string(e.size(1)) +
                     " (another backbone or layers?)");
  std::optional<ScopedStage> knn_stage(std::in_place, "knn");
  auto [dist, idx] = knn(e, bank_, 1);
  const int64_t b = static_cast<int64_t>(batch.size());
  at::Tensor patch = dist.view({b, h * w});
  at::Tensor nn = idx.view({b, h * w});
  // Image score (paper eq. 6): s* = the largest patch distance, from test patch m_test to its
  // nearest bank entry m*; weighted by 1 - softmax over the distances from m_test to m*'s b
  // nearest bank entries (m* itself first), so that an outlier patch far from a dense region of
  // the bank counts more than one near other normal patterns.
  at::Tensor jmax = patch.argmax(1);
  std::vector<double> scores(static_cast<size_t>(b));
  for (int64_t i = 0; i < b; ++i) {
    const int64_t j = jmax[i].item<int64_t>();
    const double s_star = patch[i][j].item<double>();
    at::Tensor m_star = bank_[nn[i][j].item<int64_t>()].unsqueeze(0);
    auto [nd, ni] = knn(m_star, bank_, num_neighbors_);
    at::Tensor support = bank_.index_select(0, ni[0]);
    at::Tensor m_test = e[i * h * w + j].unsqueeze(0);
    at::Tensor d = (support - m_test).pow(2).sum(1).sqrt().to(at::kDouble);
    const double weight = 1.0 - at::softmax(d, 0)[0].item<double>();
    scores[static_cast<size_t>(i)] = weight * s_star;
  }
  knn_stage.reset();
  auto maps = feat::to_image_maps(patch.view({b, h, w}), extractor_.image_size(), sigma_, sizes);
  std::vector<Prediction> out;
  for (size_t i = 0; i < scores.size(); ++i) out.push_back(Prediction::single(maps[i], scores[i]));
  return out;
}

std::map<std::string, at::Tensor> PatchCore::state() const {
  return {{"memory_bank", bank_.to(at::kCPU)},
          {"seed", at::tensor({static_cast<int64_t>(seed_)}, at::kLong)}};
}

void PatchCore::load_state(const std::map<std::string, at::Tensor>& tensors) {
  at::Tensor bank = feat::state_tensor("patchcore", tensors, "memory_bank", {-1, -1});
  at::Tensor seed = feat::state_tensor("patchcore", tensors, "seed", {1});
  seed_ = static_cast<std::uint64_t>(seed[0].item<int64_t>());
  bank_ = bank.to(at::kFloat).contiguous();
}

}  // namespace adbench
