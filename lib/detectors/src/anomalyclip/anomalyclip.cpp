#include "anomalyclip.hpp"

#include <set>

#include "adbench/backbones/clip.hpp"
#include "adbench/core/batching.hpp"
#include "adbench/core/error.hpp"
#include "adbench/core/log.hpp"
#include "adbench/core/safetensors.hpp"
#include "adbench/core/sha256.hpp"
#include "common/features.hpp"

namespace adbench {

namespace anomalyclip {

namespace {

constexpr const char* kConvert =
    " (convert the official prompt checkpoint with scripts/export_weights.py anomalyclip)";

std::string shape_text(const at::Tensor& t) { return c10::str(t.sizes()); }

}  // namespace

Prompts load_prompts(const std::filesystem::path& file) {
  const SafeTensors st = read_safetensors(file);
  const std::string where = file.string() + ": AnomalyCLIP prompts: ";
  const auto get = [&](const std::string& key) {
    auto it = st.tensors.find(key);
    if (it == st.tensors.end()) throw InputError(where + "no tensor '" + key + "'" + kConvert);
    return it->second;
  };
  // The official shapes: [n_cls = 1, prompts per state = 1, rows, width]; tokenized [1, 1, L].
  const auto rows = [&](const std::string& key) {
    const at::Tensor t = get(key);
    if (t.dim() < 2 || !at::isFloatingType(t.scalar_type()) || t.numel() == 0 ||
        t.numel() != t.size(-1) * t.size(-2))
      throw InputError(where + "tensor '" + key + "' has shape " + shape_text(t) +
                       ", expected [1, 1, rows, width] (one class, one prompt per state)");
    return t.reshape({t.size(-2), t.size(-1)}).to(at::kFloat);
  };
  const auto ids = [&](const std::string& key) {
    const at::Tensor t = get(key);
    if (t.dim() < 1 || !at::isIntegralType(t.scalar_type(), false) || t.numel() != t.size(-1) ||
        t.numel() == 0)
      throw InputError(where + "tensor '" + key + "' has shape " + shape_text(t) + " (" +
                       std::string(c10::toString(t.scalar_type())) + "), expected integer ids [1, 1, L]");
    return t.reshape({-1}).to(at::kLong);
  };
  Prompts p;
  std::vector<at::Tensor> seqs, eots;
  for (const std::string state : {"pos", "neg"}) {
    const at::Tensor ctx = rows("ctx_" + state), prefix = rows("token_prefix_" + state),
                     suffix = rows("token_suffix_" + state), tok = ids("tokenized_prompts_" + state);
    const int64_t w = ctx.size(1);
    if (prefix.size(0) != 1 || prefix.size(1) != w || suffix.size(1) != w)
      throw InputError(where + "token_prefix_" + state + " " + shape_text(prefix) + " and token_suffix_" +
                       state + " " + shape_text(suffix) + " do not fit ctx_" + state + " " + shape_text(ctx) +
                       " (expected 1 and any rows of width " + std::to_string(w) + ")");
    const int64_t L = 1 + ctx.size(0) + suffix.size(0);
    if (tok.size(0) != L)
      throw InputError(where + "tokenized_prompts_" + state + " holds " + std::to_string(tok.size(0)) +
                       " ids, the embeddings " + std::to_string(L) + " rows");
    if (!seqs.empty() && (seqs[0].sizes() != at::IntArrayRef{L, w} || ctx.size(0) != p.n_ctx))
      throw InputError(where + "the anomalous prompt (" + std::to_string(ctx.size(0)) + " context tokens, " +
                       std::to_string(L) + " x " + std::to_string(w) +
                       ") differs in shape from the normal one (" + std::to_string(p.n_ctx) + ", " +
                       std::to_string(seqs[0].size(0)) + " x " + std::to_string(seqs[0].size(1)) + ")");
    p.n_ctx = ctx.size(0);
    seqs.push_back(at::cat({prefix, ctx, suffix}));
    eots.push_back(tok.argmax());
  }
  p.embeddings = at::stack(seqs);
  p.eot = at::stack(eots);
  const int64_t L = p.embeddings.size(1), w = p.embeddings.size(2);
  for (int k = 0; st.tensors.count("compound_prompts_text." + std::to_string(k)); ++k) {
    const std::string key = "compound_prompts_text." + std::to_string(k);
    const at::Tensor d = get(key);
    if (d.dim() != 2 || d.size(1) != w || d.size(0) < 1 || d.size(0) + 1 > L ||
        !at::isFloatingType(d.scalar_type()))
      throw InputError(where + "tensor '" + key + "' has shape " + shape_text(d) + ", expected [t, " +
                       std::to_string(w) + "] with 1 <= t < " + std::to_string(L));
    p.deep.push_back(d.to(at::kFloat));
  }
  // Every tensor read above, and the projections the official code saves but never uses.
  std::set<std::string> read = {
      "ctx_pos",          "ctx_neg",          "token_prefix_pos",      "token_suffix_pos",
      "token_prefix_neg", "token_suffix_neg", "tokenized_prompts_pos", "tokenized_prompts_neg"};
  for (size_t k = 0; k < p.deep.size(); ++k) read.insert("compound_prompts_text." + std::to_string(k));
  for (const auto& [key, t] : st.tensors) {
    if (read.count(key) || key.rfind("compound_prompt_projections.", 0) == 0) continue;
    if (key.rfind("compound_prompts_text.", 0) == 0)
      throw InputError(where + "tensor '" + key + "' does not continue compound_prompts_text.0.." +
                       std::to_string(static_cast<long>(p.deep.size()) - 1));
    throw InputError(where + "unknown tensor '" + key + "'" + kConvert);
  }
  return p;
}

at::Tensor map_scores(const at::Tensor& patches, const at::Tensor& text, double temperature) {
  const at::Tensor p = clip_class_scores(patches, text, temperature);
  return (p.select(-1, 1) + 1.0 - p.select(-1, 0)) / 2.0;
}

}  // namespace anomalyclip

const SettingsTable& AnomalyClip::settings() {
  static const SettingsTable table = {
      {"backbone_weights", "", SettingRange::text(),
       "CLIP weights in safetensors (scripts/export_weights.py clip; the paper's: OpenAI ViT-L/14@336px) "
       "(--backbone-weights; required)"},
      {"prompt_weights", "", SettingRange::text(),
       "the learned prompts in safetensors (scripts/export_weights.py anomalyclip on the official "
       "checkpoint, e.g. 9_12_4_multiscale/epoch_15.pth; required)"},
      {"image_size", 518, SettingRange::integer(1, 4096),
       "input size (the official 518; the position embeddings are interpolated)"},
      {"dpam_layer", 20, SettingRange::integer(2, 1000),
       "the official DPAM_layer: the last dpam_layer - 1 vision blocks get the value-value path (20: "
       "blocks 6-24 of ViT-L/14)"},
      {"features", std::vector<int64_t>{24}, SettingRange::integers(1, 16, 1, 1000),
       "vision blocks whose DPAM-path tokens make the map (summed; official test: 24)"},
      {"temperature", 0.07, SettingRange::number(0, true), "softmax temperature of the class scores"},
      {"sigma", 4.0, SettingRange::number(0, false, 64),
       "Gaussian smoothing of the map in pixels at the input size (official: 4)"},
  };
  return table;
}

AnomalyClip::~AnomalyClip() = default;

AnomalyClip::AnomalyClip(const nlohmann::json& overrides)
    : config_(merge_config("anomalyclip", settings(), overrides)) {
  features_ = config_["features"].get<std::vector<int64_t>>();
  dpam_layer_ = config_["dpam_layer"].get<int64_t>();
  temperature_ = config_["temperature"].get<double>();
  sigma_ = config_["sigma"].get<double>();
}

void AnomalyClip::load_model(at::Device device) const {
  if (model_ && (*model_)->visual->proj.device() == device) return;
  if (model_) {
    (*model_)->to(device);
    return;
  }
  const std::string weights = config_["backbone_weights"].get<std::string>();
  model_ = feat::load_clip_model("anomalyclip", weights, "OpenAI ViT-L/14@336px", device, &provenance_);
  const ClipModelImpl& m = **model_;
  const auto blocks = static_cast<int64_t>(m.visual->transformer->resblocks->size());
  if (dpam_layer_ - 1 > blocks)
    throw InputError("detector anomalyclip: dpam_layer " + std::to_string(dpam_layer_) + " needs at least " +
                     std::to_string(dpam_layer_ - 1) + " vision blocks, " + weights + " has " +
                     std::to_string(blocks));
  dpam_from_ = blocks - (dpam_layer_ - 1) + 1;
  for (int64_t f : features_)
    if (f > blocks)
      throw InputError("detector anomalyclip: features block " + std::to_string(f) + ", " + weights +
                       " has " + std::to_string(blocks) + " vision blocks");
  feat::clip_input_size("anomalyclip", config_["image_size"].get<int64_t>(), m.config);
  provenance_["dpam_blocks"] = std::to_string(dpam_from_) + "-" + std::to_string(blocks);
}

void AnomalyClip::fit(const std::vector<Sample>& /*train*/, const RunContext& ctx) {
  const std::string file = config_["prompt_weights"].get<std::string>();
  if (file.empty())
    throw InputError(
        "detector anomalyclip: needs the learned prompts: --set prompt_weights=FILE.safetensors (convert the "
        "official checkpoint with scripts/export_weights.py anomalyclip)");
  const anomalyclip::Prompts p = anomalyclip::load_prompts(file);
  load_model(ctx.device);
  ClipModelImpl& m = **model_;
  if (p.embeddings.size(2) != m.config.text.width || p.embeddings.size(1) > m.config.context_length)
    throw InputError(file + ": AnomalyCLIP prompts of " + std::to_string(p.embeddings.size(1)) + " x " +
                     std::to_string(p.embeddings.size(2)) + " do not fit the CLIP text tower of " +
                     config_["backbone_weights"].get<std::string>() + " (" +
                     std::to_string(m.config.context_length) + " x " + std::to_string(m.config.text.width) +
                     ")");
  at::NoGradGuard no_grad;
  // The mask is causal: rows after the last end token change nothing, so they are cut.
  const int64_t len = p.eot.max().item<int64_t>() + 1;
  const at::Device dev = m.visual->proj.device();
  std::vector<at::Tensor> deep;
  for (const auto& d : p.deep) deep.push_back(d.to(dev));
  text_ = m.encode_text_embeddings(p.embeddings.slice(1, 0, len).to(dev), p.eot.to(dev), deep);
  text_ = text_ / text_.norm(2, -1, true);
  spdlog::info("anomalyclip: prompts of {} context tokens, {} deep prompts; DPAM in vision blocks {}",
               p.n_ctx, p.deep.size(), provenance_.value("dpam_blocks", ""));
}

std::pair<at::Tensor, at::Tensor> AnomalyClip::score(const at::Tensor& x, bool maps) const {
  ClipVisionImpl& v = *(*model_)->visual;
  const at::Tensor t = v.embed(x);
  const ClipVisionTokens out = maps ? v.encode_tokens_dpam(t, dpam_from_, features_) : v.encode_tokens(t);
  // The official image embedding: the class token projected without ln_post.
  const at::Tensor image = at::matmul(out.last.select(1, 0), v.proj);
  const at::Tensor s = clip_class_scores(image, text_, temperature_).select(-1, 1);
  if (!maps) return {s, at::Tensor()};
  const int64_t B = x.size(0), gh = x.size(2) / v.patch, gw = x.size(3) / v.patch;
  at::Tensor m = at::zeros({B, gh * gw}, s.options());
  for (const auto& layer : out.layers)
    m += anomalyclip::map_scores(v.project(layer.slice(1, 1)), text_, temperature_);
  return {s, m.view({B, gh, gw})};
}

std::vector<Prediction> AnomalyClip::predict(const std::vector<Sample>& batch, const RunContext& ctx) {
  if (!text_.defined()) throw InternalError("anomalyclip: predict before fit or load");
  load_model(ctx.device);
  at::NoGradGuard no_grad;
  const at::Device dev = (*model_)->visual->proj.device();
  text_ = text_.to(dev);
  std::vector<cv::Size> sizes;
  const int size = static_cast<int>(config_["image_size"].get<int64_t>());
  const at::Tensor x = feat::clip_images(batch, size, dev, &sizes);
  const auto [s, m] = score(x, ctx.want_maps);
  const at::Tensor sc = s.to(at::kCPU).to(at::kDouble);
  std::vector<at::Tensor> maps;
  if (m.defined()) maps = feat::to_image_maps(m.to(at::kFloat), size, sigma_, sizes);
  std::vector<Prediction> out;
  for (int64_t b = 0; b < x.size(0); ++b)
    out.push_back(
        Prediction::single(maps.empty() ? at::Tensor() : maps[static_cast<size_t>(b)], sc[b].item<double>()));
  return out;
}

std::map<std::string, at::Tensor> AnomalyClip::state() const {
  return {{"text_embeddings", text_.to(at::kCPU)}};
}

void AnomalyClip::load_state(const std::map<std::string, at::Tensor>& tensors) {
  text_ = feat::state_tensor("anomalyclip", tensors, "text_embeddings", {2, -1}).to(at::kFloat);
}

nlohmann::json AnomalyClip::provenance() const {
  if (!text_.defined()) return nullptr;
  if (!model_) load_model(at::kCPU);
  nlohmann::json p = provenance_;
  const std::filesystem::path prompts = config_["prompt_weights"].get<std::string>();
  if (!prompts.empty()) {
    p["prompt_weights"] = prompts.filename().string();
    std::error_code ec;
    if (std::filesystem::is_regular_file(prompts, ec)) p["prompt_weights_sha256"] = sha256_file(prompts);
  }
  return p;
}

}  // namespace adbench
