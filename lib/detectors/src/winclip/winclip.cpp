#include "winclip.hpp"

#include <algorithm>
#include <opencv2/imgproc.hpp>

#include "adbench/backbones/clip.hpp"
#include "adbench/backbones/clip_tokenizer.hpp"
#include "adbench/core/batching.hpp"
#include "adbench/core/error.hpp"
#include "adbench/core/image_io.hpp"
#include "adbench/core/log.hpp"
#include "adbench/core/progress.hpp"
#include "common/features.hpp"

namespace adbench {

namespace winclip {

std::pair<std::vector<std::string>, std::vector<std::string>> prompt_ensemble(const std::string& object) {
  // The paper's state words and its 21 templates (the list repeats "a jpeg corrupted photo of the").
  static const char* normal_states[] = {"{}",
                                        "flawless {}",
                                        "perfect {}",
                                        "unblemished {}",
                                        "{} without flaw",
                                        "{} without defect",
                                        "{} without damage"};
  static const char* anomalous_states[] = {"damaged {}", "{} with flaw", "{} with defect", "{} with damage"};
  static const char* templates[] = {"a cropped photo of the {}.",
                                    "a close-up photo of a {}.",
                                    "a close-up photo of the {}.",
                                    "a bright photo of a {}.",
                                    "a bright photo of the {}.",
                                    "a dark photo of the {}.",
                                    "a dark photo of a {}.",
                                    "a jpeg corrupted photo of the {}.",
                                    "a jpeg corrupted photo of the {}.",
                                    "a blurry photo of the {}.",
                                    "a blurry photo of a {}.",
                                    "a photo of a {}.",
                                    "a photo of the {}.",
                                    "a photo of a small {}.",
                                    "a photo of the small {}.",
                                    "a photo of a large {}.",
                                    "a photo of the large {}.",
                                    "a photo of the {} for visual inspection.",
                                    "a photo of a {} for visual inspection.",
                                    "a photo of the {} for anomaly detection.",
                                    "a photo of a {} for anomaly detection."};
  const auto fill = [](std::string pattern, const std::string& with) {
    const auto at = pattern.find("{}");
    return pattern.replace(at, 2, with);
  };
  std::pair<std::vector<std::string>, std::vector<std::string>> out;
  for (const char* s : normal_states)
    for (const char* t : templates) out.first.push_back(fill(t, fill(s, object)));
  for (const char* s : anomalous_states)
    for (const char* t : templates) out.second.push_back(fill(t, fill(s, object)));
  return out;
}

at::Tensor harmonic_aggregation(const at::Tensor& scores, const at::Tensor& windows, int64_t n_patches) {
  const int64_t B = scores.size(0), K = windows.size(0), n = windows.size(1);
  const at::Tensor idx = windows.reshape(-1).to(scores.device());  // [K·n]
  // Window k's inverse score lands on each of its n patches.
  const at::Tensor inv = (1.0 / scores).unsqueeze(2).expand({B, K, n}).reshape({B, K * n});
  at::Tensor sum = at::zeros({B, n_patches}, scores.options()).index_add_(1, idx, inv);
  at::Tensor count =
      at::zeros({n_patches}, scores.options()).index_add_(0, idx, at::ones({K * n}, scores.options()));
  at::Tensor m = count.unsqueeze(0) / sum;
  return at::where(count.unsqueeze(0) > 0, m, at::zeros_like(m)).nan_to_num(0.0, 0.0, 0.0);
}

at::Tensor visual_association(const at::Tensor& e, const at::Tensor& ref) {
  const at::Tensor a = e / e.norm(2, -1, true), b = ref / ref.norm(2, -1, true);
  return std::get<0>((1.0 - at::matmul(a, b.t())).min(-1)) / 2.0;
}

}  // namespace winclip

const SettingsTable& WinClip::settings() {
  static const SettingsTable table = {
      {"backbone_weights", "", SettingRange::text(),
       "CLIP weights in safetensors (scripts/export_weights.py clip; the paper's: OpenCLIP "
       "ViT-B-16-plus-240, "
       "laion400m_e31) (--backbone-weights; required)"},
      {"object_name", "", SettingRange::text(),
       "the object in the prompts (left out: the category name, '_' read as a space)"},
      {"shots", 0, SettingRange::integer(0, 100000),
       "reference normal images for WinCLIP+ (a seeded choice; 0: zero-shot) (--shots)"},
      {"scales", std::vector<int64_t>{2, 3}, SettingRange::integers(1, 4, 1, 64),
       "window sizes in patches (stride 1)"},
      {"temperature", 0.07, SettingRange::number(0, true), "softmax temperature of the class scores"},
      {"image_size", 0, SettingRange::integer(0, 4096),
       "input size (0: the model's own, 240 for ViT-B-16-plus-240; others interpolate the positions)"},
      {"window_batch", 512, SettingRange::integer(1, 1 << 20),
       "window sequences per transformer pass (memory vs speed)"},
      {"sigma", 0.0, SettingRange::number(0, false, 64),
       "Gaussian smoothing of the map in pixels at the input size (0: none, as the paper)"},
  };
  return table;
}

WinClip::~WinClip() = default;

WinClip::WinClip(const nlohmann::json& overrides) : config_(merge_config("winclip", settings(), overrides)) {
  scales_ = config_["scales"].get<std::vector<int64_t>>();
  shots_ = config_["shots"].get<int64_t>();
  window_batch_ = config_["window_batch"].get<int64_t>();
  temperature_ = config_["temperature"].get<double>();
  sigma_ = config_["sigma"].get<double>();
}

void WinClip::load_model(at::Device device) const {
  if (model_ && (*model_)->visual->proj.device() == device) return;
  if (model_)
    (*model_)->to(device);
  else
    model_ = feat::load_clip_model("winclip", config_["backbone_weights"].get<std::string>(),
                                   "OpenCLIP ViT-B-16-plus-240 laion400m_e31", device, &provenance_);
  const ClipModelImpl& m = **model_;
  input_size_ = feat::clip_input_size("winclip", config_["image_size"].get<int64_t>(), m.config);
  const int64_t g = input_size_ / m.config.patch;
  masks_.clear();
  for (int64_t s : scales_) masks_.push_back(clip_square_windows(g, g, s, 1));
}

WinClip::Encoded WinClip::encode(const at::Tensor& x, bool want_patches) const {
  ClipVisionImpl& v = *(*model_)->visual;
  Encoded e;
  const at::Tensor t = v.embed(x);
  const ClipVisionTokens out = v.encode_tokens(t);
  e.image = v.project(out.last.select(1, 0));
  if (want_patches) e.patches = v.ln_post(out.last.slice(1, 1));
  for (const auto& m : masks_) e.windows.push_back(v.encode_windows(t, m.to(x.device()), window_batch_));
  return e;
}

void WinClip::fit(const std::vector<Sample>& train, const RunContext& ctx) {
  object_ = config_["object_name"].get<std::string>();
  if (object_.empty()) {
    if (train.empty() || train.front().category.empty())
      throw InputError("winclip: no category name for the prompts: give --set object_name=NAME");
    object_ = train.front().category;
    std::replace(object_.begin(), object_.end(), '_', ' ');
  }
  // The reference set of WinCLIP+ (empty when zero-shot).
  const std::vector<Sample> refs = feat::seeded_shots("winclip", train, shots_, ctx.seed);
  load_model(ctx.device);
  at::NoGradGuard no_grad;
  const ClipTokenizer tok(feat::shipped_model_path("clip/bpe_simple_vocab_16e6.txt.gz"));
  const auto [normal, anomalous] = winclip::prompt_ensemble(object_);
  spdlog::info("winclip: {} normal and {} anomalous prompts for '{}', e.g. '{}' / '{}'", normal.size(),
               anomalous.size(), object_, normal[21], anomalous[0]);
  const auto embed_mean = [&](const std::vector<std::string>& prompts) {
    at::Tensor ids = tok.tokenize(prompts);
    // The mask is causal: the end token's output depends only on the tokens up to it, so the padding
    // after the longest prompt is cut (5x less work than the full 77 positions, same embeddings).
    ids = ids.slice(1, 0, ids.argmax(-1).max().item<int64_t>() + 1);
    return (*model_)->encode_text(ids.to(ctx.device)).mean(0);
  };
  text_ = at::stack({embed_mean(normal), embed_mean(anomalous)});  // [2, E]
  ref_patches_ = at::Tensor();
  ref_windows_.clear();
  if (shots_ == 0) return;
  std::vector<at::Tensor> patches;
  std::vector<std::vector<at::Tensor>> windows(scales_.size());
  Progress progress("winclip: reference images", shots_);
  for_each_batch(refs, ctx.batch_size, [&](std::span<const Sample> batch) {
    Encoded e =
        encode(feat::clip_images(batch, input_size_, (*model_)->visual->proj.device(), nullptr), true);
    patches.push_back(e.patches.reshape({-1, e.patches.size(2)}));
    for (size_t s = 0; s < scales_.size(); ++s)
      windows[s].push_back(e.windows[s].reshape({-1, e.windows[s].size(2)}));
    progress.tick(static_cast<int64_t>(batch.size()));
  });
  progress.done();
  ref_patches_ = at::cat(patches);
  for (auto& w : windows) ref_windows_.push_back(at::cat(w));
}

std::vector<Prediction> WinClip::predict(const std::vector<Sample>& batch, const RunContext& ctx) {
  if (!text_.defined()) throw InternalError("winclip: predict before fit or load");
  load_model(ctx.device);
  at::NoGradGuard no_grad;
  const at::Device dev = (*model_)->visual->proj.device();
  text_ = text_.to(dev);
  if (ref_patches_.defined()) ref_patches_ = ref_patches_.to(dev);
  for (auto& r : ref_windows_) r = r.to(dev);

  std::vector<cv::Size> sizes;
  const at::Tensor x = feat::clip_images(batch, input_size_, dev, &sizes);
  const int64_t B = x.size(0), g = x.size(2) / (*model_)->config.patch, N = g * g;
  std::vector<Prediction> out;
  if (!ctx.want_maps && shots_ == 0) {
    // Zero-shot image scores need only the class token.
    const at::Tensor s = clip_class_scores((*model_)->visual->forward(x), text_, temperature_).select(-1, 1);
    for (int64_t b = 0; b < B; ++b) out.push_back(Prediction::single(at::Tensor(), s[b].item<double>()));
    return out;
  }
  const Encoded e = encode(x, shots_ > 0);
  const at::Tensor image = clip_class_scores(e.image, text_, temperature_).select(-1, 1);  // [B]
  const double levels = static_cast<double>(scales_.size() + 1);
  at::Tensor inv = (1.0 / image).unsqueeze(1).expand({B, N}).clone();
  for (size_t s = 0; s < scales_.size(); ++s) {
    const at::Tensor w = clip_class_scores(e.windows[s], text_, temperature_).select(-1, 1);  // [B, K]
    inv += 1.0 / winclip::harmonic_aggregation(w, masks_[s], N);
  }
  at::Tensor map = levels / inv;  // [B, N]
  at::Tensor score = image;
  if (shots_ > 0) {
    at::Tensor few = winclip::visual_association(e.patches, ref_patches_);
    for (size_t s = 0; s < scales_.size(); ++s)
      few += winclip::harmonic_aggregation(winclip::visual_association(e.windows[s], ref_windows_[s]),
                                           masks_[s], N);
    few /= levels;
    map = (map + few) / 2.0;
    score = (image + std::get<0>(few.max(1))) / 2.0;
  }
  const auto maps =
      feat::to_image_maps(map.view({B, g, g}).to(at::kFloat), static_cast<int>(x.size(2)), sigma_, sizes);
  const at::Tensor sc = score.to(at::kCPU).to(at::kDouble);
  for (int64_t b = 0; b < B; ++b)
    out.push_back(Prediction::single(maps[static_cast<size_t>(b)], sc[b].item<double>()));
  return out;
}

std::map<std::string, at::Tensor> WinClip::state() const {
  std::map<std::string, at::Tensor> st{{"text_embeddings", text_.to(at::kCPU)}};
  if (shots_ > 0) {
    st["reference_patches"] = ref_patches_.to(at::kCPU);
    for (size_t s = 0; s < scales_.size(); ++s)
      st["reference_windows_" + std::to_string(scales_[s])] = ref_windows_[s].to(at::kCPU);
  }
  return st;
}

void WinClip::load_state(const std::map<std::string, at::Tensor>& tensors) {
  text_ = feat::state_tensor("winclip", tensors, "text_embeddings", {2, -1}).to(at::kFloat);
  ref_patches_ = at::Tensor();
  ref_windows_.clear();
  if (shots_ == 0) return;
  ref_patches_ = feat::state_tensor("winclip", tensors, "reference_patches", {-1, -1}).to(at::kFloat);
  for (int64_t s : scales_)
    ref_windows_.push_back(
        feat::state_tensor("winclip", tensors, "reference_windows_" + std::to_string(s), {-1, text_.size(1)})
            .to(at::kFloat));
}

nlohmann::json WinClip::provenance() const {
  if (!text_.defined()) return nullptr;
  if (!model_) load_model(at::kCPU);
  return provenance_;
}

}  // namespace adbench
