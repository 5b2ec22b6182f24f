#include "spade.hpp"

#include "adbench/core/batching.hpp"
#include "adbench/core/error.hpp"
#include "adbench/core/log.hpp"
#include "adbench/core/progress.hpp"

namespace adbench {

const SettingsTable& Spade::settings() {
  static const SettingsTable table = [] {
    SettingsTable t = feat::backbone_settings("wide_resnet50_2", {"layer1", "layer2", "layer3"});
    t.push_back(
        {"image_layer", "layer4", SettingRange::text(true),
         "layer pooled for the image kNN (left out: layer4 on ResNets, features.18 on mobilenet_v2)"});
    t.push_back({"top_k", 50, SettingRange::integer(1, 100000), "nearest training images (K)"});
    t.push_back({"image_metric", "l2", SettingRange::choice({"l2", "cosine"}), "distance of the image kNN"});
    t.push_back({"pixel_k", 1, SettingRange::integer(1, 1000),
                 "nearest gallery positions averaged per pixel (kappa)"});
    return t;
  }();
  return table;
}

namespace {
nlohmann::json resolved(const nlohmann::json& overrides) {
  nlohmann::json c = merge_config("spade", Spade::settings(), overrides);
  feat::resolve_backbone("spade", c, overrides);
  feat::resolve_layers("spade", c, overrides, "layers", "pyramid");
  feat::resolve_layers("spade", c, overrides, "image_layer", "global");
  return c;
}
}  // namespace

Spade::Spade(const nlohmann::json& overrides)
    : config_(resolved(overrides)),
      extractor_("spade", config_["backbone"], config_["backbone_weights"],
                 config_["image_size"].get<int>()) {
  layers_ = config_["layers"].get<std::vector<std::string>>();
  image_layer_ = config_["image_layer"].get<std::string>();
  top_k_ = config_["top_k"].get<int64_t>();
  pixel_k_ = config_["pixel_k"].get<int64_t>();
  sigma_ = config_["sigma"].get<double>();
  cosine_ = config_["image_metric"] == "cosine";
}

std::pair<at::Tensor, at::Tensor> Spade::embed(const at::Tensor& x, int64_t* h, int64_t* w) const {
  std::vector<std::string> all = layers_;
  all.push_back(image_layer_);
  auto feats = extractor_.features(x, all);
  at::Tensor g = feats.at(image_layer_).mean({2, 3}).to(at::kFloat);
  if (cosine_) g = g / g.norm(2, 1, true).clamp_min(1e-12);
  at::Tensor f = feat::concat_layers(feats, layers_, 1);
  *h = f.size(2), *w = f.size(3);
  return {g.contiguous(), f.flatten(2).permute({0, 2, 1}).to(at::kFloat).contiguous()};
}

void Spade::fit(const std::vector<Sample>& train, const RunContext& ctx) {
  if (train.empty()) throw InputError("spade: no training images");
  seed_ = ctx.seed;
  extractor_.load(ctx.device, seed_);
  at::NoGradGuard no_grad;
  const int64_t n = static_cast<int64_t>(train.size());
  Progress progress("spade: features", n);
  int64_t row = 0;
  for_each_batch(train, ctx.batch_size, [&](std::span<const Sample> batch) {
    int64_t h = 0, w = 0;
    auto [g, p] = embed(extractor_.images(batch, nullptr), &h, &w);
    if (!global_.defined()) {  // allocate once: the whole gallery, no concatenation copies
      global_ = at::empty({n, g.size(1)}, g.options());
      pyramids_ = at::empty({n, p.size(1), p.size(2)}, p.options());
    }
    global_.narrow(0, row, g.size(0)).copy_(g);
    pyramids_.narrow(0, row, p.size(0)).copy_(p);
    row += g.size(0);
    progress.tick(static_cast<int64_t>(batch.size()));
  });
  progress.done();
  spdlog::info("spade: gallery of {} images, {} positions x {} dims each ({:.1f} MB)", n, pyramids_.size(1),
               pyramids_.size(2), static_cast<double>(pyramids_.numel()) * 4 / 1e6);
}

std::vector<Prediction> Spade::predict(const std::vector<Sample>& batch, const RunContext& ctx) {
  if (!global_.defined()) throw InternalError("spade: predict before fit or load");
  extractor_.load(ctx.device, seed_);
  at::NoGradGuard no_grad;
  if (global_.device() != extractor_.device()) {
    global_ = global_.to(extractor_.device());
    pyramids_ = pyramids_.to(extractor_.device());
  }
  std::vector<cv::Size> sizes;
  int64_t h = 0, w = 0;
  auto [g, p] = embed(extractor_.images(batch, &sizes), &h, &w);
  if (g.size(1) != global_.size(1) || p.size(1) != pyramids_.size(1) || p.size(2) != pyramids_.size(2))
    throw InputError(
        "spade: the gallery's features do not match the backbone's (another backbone, layers or "
        "image_size?)");
  const int64_t k = std::min<int64_t>(top_k_, global_.size(0));
  auto [gd, gi] = knn(g, global_, k);  // [B,k]
  // Cosine: features are unit vectors, so |a-b|^2 = 2 - 2 cos; report 1 - cos.
  at::Tensor image_d = cosine_ ? gd.pow(2) / 2 : gd;
  std::vector<double> scores(batch.size());
  std::vector<at::Tensor> small;
  for (size_t i = 0; i < batch.size(); ++i) {
    at::Tensor gallery =
        pyramids_.index_select(0, gi[static_cast<int64_t>(i)]).reshape({-1, pyramids_.size(2)});
    auto [pd, pi] = knn(p[static_cast<int64_t>(i)], gallery, pixel_k_);
    small.push_back(pd.mean(1).view({h, w}));
    scores[i] = image_d[static_cast<int64_t>(i)].mean().item<double>();
  }
  auto maps = feat::to_image_maps(at::stack(small), extractor_.image_size(), sigma_, sizes);
  std::vector<Prediction> out;
  for (size_t i = 0; i < scores.size(); ++i) out.push_back(Prediction::single(maps[i], scores[i]));
  return out;
}

std::map<std::string, at::Tensor> Spade::state() const {
  return {{"image_features", global_.to(at::kCPU)},
          {"pyramids", pyramids_.to(at::kCPU)},
          {"seed", at::tensor({static_cast<int64_t>(seed_)}, at::kLong)}};
}

void Spade::load_state(const std::map<std::string, at::Tensor>& tensors) {
  at::Tensor g = feat::state_tensor("spade", tensors, "image_features", {-1, -1});
  at::Tensor p = feat::state_tensor("spade", tensors, "pyramids", {g.size(0), -1, -1});
  at::Tensor seed = feat::state_tensor("spade", tensors, "seed", {1});
  global_ = g.to(at::kFloat).contiguous();
  pyramids_ = p.to(at::kFloat).contiguous();
  seed_ = static_cast<std::uint64_t>(seed[0].item<int64_t>());
}

}  // namespace adbench
