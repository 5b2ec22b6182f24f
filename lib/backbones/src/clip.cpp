#include "adbench/backbones/clip.hpp"

#include <cmath>
#include <limits>

#include "adbench/core/error.hpp"

namespace adbench {
namespace F = torch::nn::functional;

std::vector<std::string> clip_config_names() {
  return {"openclip_vit_b_16_plus_240", "openai_vit_b_16", "openai_vit_l_14_336"};
}

ClipConfig clip_config(const std::string& name) {
  ClipConfig c;
  c.name = name;
  if (name == "openclip_vit_b_16_plus_240") {
    c.vision = {896, 12, 14};
    c.patch = 16, c.image_size = 240;
    c.text = {640, 12, 10};
    c.embed_dim = 640;
    c.activation = ClipActivation::kGelu;
  } else if (name == "openai_vit_b_16") {
    c.vision = {768, 12, 12};
    c.patch = 16, c.image_size = 224;
    c.text = {512, 12, 8};
    c.embed_dim = 512;
  } else if (name == "openai_vit_l_14_336") {
    c.vision = {1024, 24, 16};
    c.patch = 14, c.image_size = 336;
    c.text = {768, 12, 12};
    c.embed_dim = 768;
  } else {
    std::string valid;
    for (const auto& n : clip_config_names()) valid += (valid.empty() ? "" : ", ") + n;
    throw InputError("unknown CLIP architecture '" + excerpt(name) + "' (valid: " + valid + ")");
  }
  return c;
}

std::string to_string(ClipActivation a) { return a == ClipActivation::kGelu ? "gelu" : "quick_gelu"; }

ClipActivation parse_clip_activation(const std::string& s) {
  if (s == "gelu") return ClipActivation::kGelu;
  if (s == "quick_gelu") return ClipActivation::kQuickGelu;
  throw InputError("unknown CLIP activation '" + excerpt(s) + "' (valid: gelu, quick_gelu)");
}

ClipAttentionImpl::ClipAttentionImpl(int64_t width, int64_t heads_) : heads(heads_) {
  in_proj_weight = register_parameter("in_proj_weight", torch::empty({3 * width, width}));
  in_proj_bias = register_parameter("in_proj_bias", torch::zeros({3 * width}));
  out_proj = register_module("out_proj", torch::nn::Linear(width, width));
  torch::nn::init::xavier_uniform_(in_proj_weight);
}

at::Tensor ClipAttentionImpl::forward(const at::Tensor& x, const at::Tensor& mask) {
  const int64_t B = x.size(0), L = x.size(1), W = x.size(2), D = W / heads;
  auto qkv = at::linear(x, in_proj_weight, in_proj_bias).view({B, L, 3, heads, D}).permute({2, 0, 3, 1, 4});
  at::Tensor q = qkv[0] * (1.0 / std::sqrt(static_cast<double>(D))), k = qkv[1], v = qkv[2];  // [B,H,L,D]
  at::Tensor scores = at::matmul(q, k.transpose(-2, -1));
  if (mask.defined()) scores = scores + mask;
  at::Tensor out = at::matmul(at::softmax(scores, -1), v).transpose(1, 2).reshape({B, L, W});
  return out_proj(out);
}

std::pair<at::Tensor, at::Tensor> ClipAttentionImpl::forward_dpam(const at::Tensor& x) {
  const int64_t B = x.size(0), L = x.size(1), W = x.size(2), D = W / heads;
  auto qkv = at::linear(x, in_proj_weight, in_proj_bias).view({B, L, 3, heads, D}).permute({2, 0, 3, 1, 4});
  const double scale = 1.0 / std::sqrt(static_cast<double>(D));
  const at::Tensor q = qkv[0], k = qkv[1], v = qkv[2];  // [B,H,L,D]
  const at::Tensor ori = at::matmul(at::softmax(at::matmul(q * scale, k.transpose(-2, -1)), -1), v);
  const at::Tensor vv = at::matmul(at::softmax(at::matmul(v * scale, v.transpose(-2, -1)), -1), v);
  return {out_proj(vv.transpose(1, 2).reshape({B, L, W})), out_proj(ori.transpose(1, 2).reshape({B, L, W}))};
}

ClipMlpImpl::ClipMlpImpl(int64_t width, ClipActivation act_) : act(act_) {
  c_fc = register_module("c_fc", torch::nn::Linear(width, 4 * width));
  c_proj = register_module("c_proj", torch::nn::Linear(4 * width, width));
}

at::Tensor ClipMlpImpl::forward(const at::Tensor& x) {
  at::Tensor h = c_fc(x);
  h = act == ClipActivation::kGelu ? at::gelu(h) : h * at::sigmoid(1.702 * h);
  return c_proj(h);
}

namespace {
torch::nn::LayerNorm layer_norm(int64_t w) {
  return torch::nn::LayerNorm(torch::nn::LayerNormOptions({w}).eps(1e-5));
}

/// InputError unless every tap is a block number 1..n.
void check_taps(const std::vector<int64_t>& taps, int64_t n) {
  for (int64_t t : taps)
    if (t < 1 || t > n)
      throw InputError("CLIP: layer " + std::to_string(t) + " requested, the transformer has blocks 1.." +
                       std::to_string(n));
}
}  // namespace

ClipResidualBlockImpl::ClipResidualBlockImpl(int64_t width, int64_t heads, ClipActivation act) {
  ln_1 = register_module("ln_1", layer_norm(width));
  attn = register_module("attn", ClipAttention(width, heads));
  ln_2 = register_module("ln_2", layer_norm(width));
  mlp = register_module("mlp", ClipMlp(width, act));
}

at::Tensor ClipResidualBlockImpl::forward(const at::Tensor& x, const at::Tensor& mask) {
  at::Tensor y = x + attn(ln_1(x), mask);
  return y + mlp(ln_2(y));
}

ClipTransformerImpl::ClipTransformerImpl(const ClipTowerConfig& c, ClipActivation act) {
  if (c.width <= 0 || c.heads <= 0 || c.width % c.heads != 0 || c.layers <= 0)
    throw InputError("CLIP transformer: width " + std::to_string(c.width) +
                     " is not a positive multiple of " + std::to_string(c.heads) + " heads (or no layers)");
  resblocks = register_module("resblocks", torch::nn::ModuleList());
  for (int64_t i = 0; i < c.layers; ++i) resblocks->push_back(ClipResidualBlock(c.width, c.heads, act));
}

at::Tensor ClipTransformerImpl::forward(at::Tensor x, const at::Tensor& mask,
                                        const std::vector<int64_t>& taps, std::vector<at::Tensor>* taken) {
  const auto n = static_cast<int64_t>(resblocks->size());
  check_taps(taps, n);
  std::vector<at::Tensor> outs(taps.size());
  for (int64_t i = 0; i < n; ++i) {
    x = resblocks->at<ClipResidualBlockImpl>(static_cast<size_t>(i)).forward(x, mask);
    for (size_t k = 0; k < taps.size(); ++k)
      if (taps[k] == i + 1) outs[k] = x;
  }
  if (taken) *taken = std::move(outs);
  return x;
}

ClipVisionImpl::ClipVisionImpl(const ClipConfig& c) : patch(c.patch), grid(c.image_size / c.patch) {
  const int64_t w = c.vision.width;
  const double scale = 1.0 / std::sqrt(static_cast<double>(w));
  conv1 = register_module("conv1",
                          torch::nn::Conv2d(torch::nn::Conv2dOptions(3, w, patch).stride(patch).bias(false)));
  class_embedding = register_parameter("class_embedding", torch::randn({w}) * scale);
  positional_embedding =
      register_parameter("positional_embedding", torch::randn({grid * grid + 1, w}) * scale);
  ln_pre = register_module("ln_pre", layer_norm(w));
  transformer = register_module("transformer", ClipTransformer(c.vision, c.activation));
  ln_post = register_module("ln_post", layer_norm(w));
  proj = register_parameter("proj", torch::randn({w, c.embed_dim}) * scale);
}

at::Tensor ClipVisionImpl::positions(int64_t gh, int64_t gw) {
  if (gh == grid && gw == grid) return positional_embedding;
  const int64_t w = positional_embedding.size(1);
  at::Tensor g = positional_embedding.slice(0, 1).reshape({1, grid, grid, w}).permute({0, 3, 1, 2});
  g = F::interpolate(g, F::InterpolateFuncOptions()
                            .size(std::vector<int64_t>{gh, gw})
                            .mode(torch::kBilinear)
                            .align_corners(false));
  return at::cat({positional_embedding.slice(0, 0, 1), g.permute({0, 2, 3, 1}).reshape({gh * gw, w})}, 0);
}

at::Tensor ClipVisionImpl::embed(const at::Tensor& images) {
  if (images.dim() != 4 || images.size(1) != 3 || images.size(2) % patch || images.size(3) % patch ||
      images.size(2) == 0 || images.size(3) == 0)
    throw InputError("CLIP vision: expected images [B, 3, H, W] with H, W positive multiples of " +
                     std::to_string(patch) + ", got " + c10::str(images.sizes()));
  at::Tensor x = conv1(images.to(conv1->weight.dtype()));  // [B, W, gh, gw]
  const int64_t B = x.size(0), gh = x.size(2), gw = x.size(3);
  x = x.flatten(2).transpose(1, 2);  // [B, gh*gw, W]
  x = at::cat({class_embedding.view({1, 1, -1}).expand({B, 1, -1}), x}, 1);
  return x + positions(gh, gw).unsqueeze(0);
}

void ClipVisionImpl::check_tokens(const at::Tensor& tokens) const {
  if (tokens.dim() != 3 || tokens.size(2) != class_embedding.size(0))
    throw InputError("CLIP vision: expected tokens [B, L, " + std::to_string(class_embedding.size(0)) +
                     "], got " + c10::str(tokens.sizes()));
}

ClipVisionTokens ClipVisionImpl::encode_tokens(const at::Tensor& tokens, const std::vector<int64_t>& taps) {
  check_tokens(tokens);
  ClipVisionTokens out;
  out.last = transformer->forward(ln_pre(tokens), at::Tensor(), taps, &out.layers);
  return out;
}

ClipVisionTokens ClipVisionImpl::encode_tokens_dpam(const at::Tensor& tokens, int64_t dpam_from,
                                                    const std::vector<int64_t>& taps) {
  check_tokens(tokens);
  const auto n = static_cast<int64_t>(transformer->resblocks->size());
  if (dpam_from < 1 || dpam_from > n)
    throw InputError("CLIP: DPAM from block " + std::to_string(dpam_from) +
                     " requested, the transformer has blocks 1.." + std::to_string(n));
  check_taps(taps, n);
  ClipVisionTokens out;
  out.layers.resize(taps.size());
  at::Tensor x = ln_pre(tokens), vv;
  for (int64_t i = 0; i < n; ++i) {
    auto& blk = transformer->resblocks->at<ClipResidualBlockImpl>(static_cast<size_t>(i));
    if (i + 1 < dpam_from) {
      x = blk.forward(x, at::Tensor());
    } else {
      auto [a_vv, a_ori] = blk.attn->forward_dpam(blk.ln_1(x));
      vv = (vv.defined() ? vv : x) + a_vv;
      x = x + a_ori;
      x = x + blk.mlp(blk.ln_2(x));
    }
    for (size_t k = 0; k < taps.size(); ++k)
      if (taps[k] == i + 1) out.layers[k] = vv.defined() ? vv : x;
  }
  out.last = x;
  return out;
}

at::Tensor ClipVisionImpl::project(const at::Tensor& x) { return at::matmul(ln_post(x), proj); }

at::Tensor ClipVisionImpl::forward(const at::Tensor& images) {
  return project(encode_tokens(embed(images)).last.select(1, 0));
}

at::Tensor ClipVisionImpl::encode_windows(const at::Tensor& tokens, const at::Tensor& windows,
                                          int64_t max_sequences) {
  if (tokens.dim() != 3 || windows.dim() != 2 || windows.scalar_type() != at::kLong || windows.size(1) < 1)
    throw InputError("CLIP windows: expected tokens [B, 1+N, W] and int64 windows [K, n>=1], got " +
                     c10::str(tokens.sizes(), " and ", windows.scalar_type(), " ", windows.sizes()));
  const int64_t B = tokens.size(0), K = windows.size(0), n_patches = tokens.size(1) - 1;
  if (windows.numel() && (windows.min().item<int64_t>() < 0 || windows.max().item<int64_t>() >= n_patches))
    throw InputError("CLIP windows: patch indices outside [0, " + std::to_string(n_patches) + ")");
  const at::Tensor rows =
      at::cat({at::zeros({K, 1}, windows.options()), windows + 1}, 1).to(tokens.device());  // [K, 1+n]
  const int64_t step = max_sequences > 0 ? std::max<int64_t>(1, max_sequences / std::max<int64_t>(B, 1)) : K;
  std::vector<at::Tensor> parts;
  for (int64_t k0 = 0; k0 < K; k0 += step) {
    const at::Tensor r = rows.slice(0, k0, std::min(K, k0 + step));  // [k, 1+n]
    at::Tensor x = tokens.index_select(1, r.reshape(-1)).view({B * r.size(0), r.size(1), tokens.size(2)});
    parts.push_back(project(encode_tokens(x).last.select(1, 0)).view({B, r.size(0), -1}));
  }
  return at::cat(parts, 1);
}

at::Tensor clip_square_windows(int64_t gh, int64_t gw, int64_t size, int64_t stride) {
  if (size < 1 || stride < 1 || size > gh || size > gw)
    throw InputError("CLIP windows: a " + std::to_string(size) + "x" + std::to_string(size) +
                     " window (stride " + std::to_string(stride) + ") does not fit a " + std::to_string(gh) +
                     "x" + std::to_string(gw) + " patch grid");
  std::vector<int64_t> idx;
  int64_t k = 0;
  for (int64_t y = 0; y + size <= gh; y += stride)
    for (int64_t x = 0; x + size <= gw; x += stride, ++k)
      for (int64_t dy = 0; dy < size; ++dy)
        for (int64_t dx = 0; dx < size; ++dx) idx.push_back((y + dy) * gw + x + dx);
  return at::tensor(idx, at::kLong).view({k, size * size});
}

ClipModelImpl::ClipModelImpl(const ClipConfig& c) : config(c) {
  const int64_t w = c.text.width;
  visual = register_module("visual", ClipVision(c));
  token_embedding = register_module("token_embedding", torch::nn::Embedding(c.vocab_size, w));
  positional_embedding =
      register_parameter("positional_embedding", torch::randn({c.context_length, w}) * 0.01);
  transformer = register_module("transformer", ClipTransformer(c.text, c.activation));
  ln_final = register_module("ln_final", layer_norm(w));
  text_projection =
      register_parameter("text_projection", torch::randn({w, c.embed_dim}) / std::sqrt(double(w)));
}

at::Tensor ClipModelImpl::encode_text(const at::Tensor& ids) {
  if (ids.dim() != 2 || ids.scalar_type() != at::kLong || ids.size(1) > config.context_length ||
      ids.size(1) < 1)
    throw InputError(
        "CLIP text: expected int64 ids [N, L] with 1 <= L <= " + std::to_string(config.context_length) +
        ", got " + c10::str(ids.scalar_type(), " ", ids.sizes()));
  if (ids.numel() && (ids.min().item<int64_t>() < 0 || ids.max().item<int64_t>() >= config.vocab_size))
    throw InputError("CLIP text: token ids outside the vocabulary [0, " + std::to_string(config.vocab_size) +
                     ")");
  return encode_text_embeddings(token_embedding(ids), ids.argmax(-1));
}

at::Tensor ClipModelImpl::encode_text_embeddings(const at::Tensor& embeddings, const at::Tensor& eot,
                                                 const std::vector<at::Tensor>& deep_prompts) {
  const int64_t L = embeddings.size(1);
  if (embeddings.dim() != 3 || L > config.context_length || embeddings.size(2) != config.text.width)
    throw InputError("CLIP text: expected embeddings [N, L <= " + std::to_string(config.context_length) +
                     ", " + std::to_string(config.text.width) + "], got " + c10::str(embeddings.sizes()));
  at::Tensor x = embeddings + positional_embedding.slice(0, 0, L).unsqueeze(0);
  const at::Tensor mask =
      at::full({L, L}, -std::numeric_limits<float>::infinity(), x.options()).triu(1);  // causal
  if (deep_prompts.empty()) {
    x = transformer->forward(x, mask);
  } else {
    const auto n = static_cast<int64_t>(transformer->resblocks->size());
    if (static_cast<int64_t>(deep_prompts.size()) > n - 1)
      throw InputError("CLIP text: " + std::to_string(deep_prompts.size()) + " deep prompts for a tower of " +
                       std::to_string(n) + " blocks (at most " + std::to_string(n - 1) + ")");
    for (const auto& d : deep_prompts)
      if (d.dim() != 2 || d.size(1) != config.text.width || d.size(0) + 1 > L)
        throw InputError("CLIP text: a deep prompt of shape " + c10::str(d.sizes()) + " for sequences [" +
                         std::to_string(L) + ", " + std::to_string(config.text.width) + "]");
    for (int64_t i = 0; i < n; ++i) {
      if (i >= 1 && i - 1 < static_cast<int64_t>(deep_prompts.size())) {
        const at::Tensor& d = deep_prompts[static_cast<size_t>(i - 1)];
        x = at::cat({x.slice(1, 0, 1), d.to(x.options()).unsqueeze(0).expand({x.size(0), -1, -1}),
                     x.slice(1, 1 + d.size(0))},
                    1);
      }
      x = transformer->resblocks->at<ClipResidualBlockImpl>(static_cast<size_t>(i)).forward(x, mask);
    }
  }
  x = ln_final(x);
  x = x.index({torch::arange(x.size(0), eot.options().dtype(at::kLong)), eot.to(at::kLong)});
  return at::matmul(x, text_projection);
}

at::Tensor clip_class_scores(const at::Tensor& e, const at::Tensor& text, double temperature) {
  const at::Tensor a = e / e.norm(2, -1, true), b = text / text.norm(2, -1, true);
  return (at::matmul(a, b.t()) / temperature).softmax(-1);
}

at::Tensor ClipModelImpl::encode_image(const at::Tensor& images) { return visual->forward(images); }

}  // namespace adbench
