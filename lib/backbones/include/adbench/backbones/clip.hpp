#pragma once
// CLIP image and text encoders (OpenAI CLIP / OpenCLIP ViTs) as LibTorch modules whose parameter
// names are the checkpoints' state_dict keys (`visual.conv1.weight`, `visual.transformer.resblocks.0.
// attn.in_proj_weight`, `token_embedding.weight`, `ln_final.bias`, `text_projection`, ...), so a
// converted checkpoint (scripts/export_weights.py clip) loads by name. LayerNorm eps 1e-5,
// class-token pooling, causal text mask, EOT = argmax of the ids; `logit_scale` is ignored.
//
// The vision encoder is split so that detectors can run it on token subsets (WinCLIP windows) and
// read intermediate layers (AnomalyCLIP):
//   at::Tensor t = clip.visual->embed(images);            // [B, 1+N, W]: class + patches, with positions
//   auto out = clip.visual->encode_tokens(t, {6, 12});     // any subset of t's rows works as well
//   at::Tensor e = clip.visual->project(out.last.select(1, 0));  // [B, embed]
#include <torch/torch.h>

#include <filesystem>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace adbench {

/// x·σ(1.702x) (OpenAI CLIP) or the exact erf GELU (OpenCLIP models without "-quickgelu").
enum class ClipActivation { kGelu, kQuickGelu };

/// One transformer tower.
struct ClipTowerConfig {
  int64_t width = 0, layers = 0, heads = 0;
};

/// A whole CLIP model's shape.
struct ClipConfig {
  std::string name = "custom";  ///< a name of clip_config_names() or "custom"
  ClipTowerConfig vision;
  int64_t patch = 16, image_size = 224;  ///< native input size (positional embedding grid × patch)
  ClipTowerConfig text;
  int64_t context_length = 77, vocab_size = 49408;
  int64_t embed_dim = 512;
  ClipActivation activation = ClipActivation::kQuickGelu;
};

/// "openclip_vit_b_16_plus_240" (OpenCLIP ViT-B-16-plus-240, erf GELU), "openai_vit_b_16" and
/// "openai_vit_l_14_336" (OpenAI ViT-B/16, ViT-L/14@336px; QuickGELU).
std::vector<std::string> clip_config_names();
/// The named configuration; InputError listing the valid names otherwise.
ClipConfig clip_config(const std::string& name);
/// "gelu" / "quick_gelu" and back (InputError for another text).
std::string to_string(ClipActivation a);
ClipActivation parse_clip_activation(const std::string& s);

/// `attn`: multi-head self-attention with nn.MultiheadAttention's names (in_proj_weight [3W, W],
/// in_proj_bias [3W], out_proj). Inputs are [B, L, W]; `mask` is an additive [L, L] mask or undefined.
struct ClipAttentionImpl : torch::nn::Module {
  ClipAttentionImpl(int64_t width, int64_t heads);
  at::Tensor forward(const at::Tensor& x, const at::Tensor& mask);
  /// AnomalyCLIP's DPAM (no mask): {value-value attention, the ordinary attention}, both through
  /// out_proj. The value-value path is softmax(v·vᵀ / sqrt(head width))·v per head: q and k replaced
  /// by v.
  std::pair<at::Tensor, at::Tensor> forward_dpam(const at::Tensor& x);
  at::Tensor in_proj_weight, in_proj_bias;
  torch::nn::Linear out_proj{nullptr};
  int64_t heads;
};
TORCH_MODULE(ClipAttention);

/// `mlp`: c_fc (W -> 4W), activation, c_proj (4W -> W).
struct ClipMlpImpl : torch::nn::Module {
  ClipMlpImpl(int64_t width, ClipActivation act);
  at::Tensor forward(const at::Tensor& x);
  torch::nn::Linear c_fc{nullptr}, c_proj{nullptr};
  ClipActivation act;
};
TORCH_MODULE(ClipMlp);

/// One pre-LayerNorm residual block: x + attn(ln_1(x)), then x + mlp(ln_2(x)).
struct ClipResidualBlockImpl : torch::nn::Module {
  ClipResidualBlockImpl(int64_t width, int64_t heads, ClipActivation act);
  at::Tensor forward(const at::Tensor& x, const at::Tensor& mask);
  torch::nn::LayerNorm ln_1{nullptr}, ln_2{nullptr};
  ClipAttention attn{nullptr};
  ClipMlp mlp{nullptr};
};
TORCH_MODULE(ClipResidualBlock);

/// `resblocks.N.*`.
struct ClipTransformerImpl : torch::nn::Module {
  ClipTransformerImpl(const ClipTowerConfig& c, ClipActivation act);
  /// Runs all blocks; `taps` (1-based block numbers) collects those blocks' outputs into `taken`.
  at::Tensor forward(at::Tensor x, const at::Tensor& mask, const std::vector<int64_t>& taps = {},
                     std::vector<at::Tensor>* taken = nullptr);
  torch::nn::ModuleList resblocks;
};
TORCH_MODULE(ClipTransformer);

/// What encode_tokens returns.
struct ClipVisionTokens {
  at::Tensor last;                 ///< [B, L, W] output of the last block (before ln_post)
  std::vector<at::Tensor> layers;  ///< outputs of the requested blocks, in the order asked
};

/// `visual.*`: conv1, class_embedding, positional_embedding, ln_pre, transformer, ln_post, proj.
struct ClipVisionImpl : torch::nn::Module {
  explicit ClipVisionImpl(const ClipConfig& c);
  /// Patch embedding + class token + positional embedding: [B, 1 + (H/p)(W/p), W], row 0 the class
  /// token, then patches in row-major order. For H, W other than the native size the patch
  /// positions are resized bilinearly (align_corners false; the class position is kept).
  /// InputError unless images are [B, 3, H, W] with H, W multiples of the patch size.
  at::Tensor embed(const at::Tensor& images);
  /// The positional embedding for a grid of gh × gw patches: [1 + gh·gw, W].
  at::Tensor positions(int64_t gh, int64_t gw);
  /// ln_pre then the transformer over any token rows of embed() (e.g. the class token and one
  /// window's patches, gathered per batch item); `taps` are 1-based block numbers.
  ClipVisionTokens encode_tokens(const at::Tensor& tokens, const std::vector<int64_t>& taps = {});
  /// encode_tokens with AnomalyCLIP's dual path from block `dpam_from` (1-based) on: the ordinary
  /// path goes on unchanged (`last` is what encode_tokens gives), and a second path starts from that
  /// block's input and adds, per block, only the value-value attention of the ordinary path's
  /// ln_1 output (no MLP). `layers` holds the second path's output at taps from dpam_from on (the
  /// ordinary output before). InputError unless 1 <= dpam_from <= blocks.
  ClipVisionTokens encode_tokens_dpam(const at::Tensor& tokens, int64_t dpam_from,
                                      const std::vector<int64_t>& taps = {});
  /// InputError unless tokens are [B, L, width].
  void check_tokens(const at::Tensor& tokens) const;
  /// ln_post then proj: [..., W] -> [..., embed].
  at::Tensor project(const at::Tensor& x);
  /// project(class token of encode_tokens(embed(images))): [B, embed].
  at::Tensor forward(const at::Tensor& images);
  /// Window passes (WinCLIP): for every window k, the sequence [class token, tokens of the patches
  /// windows[k]] of each image goes through encode_tokens, and its class output is projected.
  /// `tokens` [B, 1+N, W] from embed(); `windows` [K, n] int64 patch indices in [0, N) (row-major
  /// over the patch grid). Returns [B, K, embed]. At most `max_sequences` sequences (B·K in all)
  /// run at once (0: all).
  at::Tensor encode_windows(const at::Tensor& tokens, const at::Tensor& windows, int64_t max_sequences = 0);

  torch::nn::Conv2d conv1{nullptr};
  at::Tensor class_embedding, positional_embedding, proj;
  torch::nn::LayerNorm ln_pre{nullptr}, ln_post{nullptr};
  ClipTransformer transformer{nullptr};
  int64_t patch, grid;
};
TORCH_MODULE(ClipVision);

/// Square windows of `size` × `size` patches sliding by `stride` over a gh × gw patch grid (WinCLIP's
/// small and mid scales): [K, size²] int64 patch indices, row-major inside each window; windows in
/// row-major order of their top-left patch. InputError when the window does not fit.
at::Tensor clip_square_windows(int64_t gh, int64_t gw, int64_t size, int64_t stride = 1);

/// A CLIP model: `visual` plus the text tower (token_embedding, positional_embedding, transformer,
/// ln_final, text_projection) at the top level, as in the checkpoints.
struct ClipModelImpl : torch::nn::Module {
  explicit ClipModelImpl(const ClipConfig& c);
  /// [N, L] int64 ids (ClipTokenizer::tokenize, L <= context_length) -> [N, embed]; the end token is
  /// the argmax of each row.
  at::Tensor encode_text(const at::Tensor& ids);
  /// The text tower on token embeddings [N, L, W] (learned prompts): positions added, causal mask,
  /// ln_final, the rows at `eot` [N] projected. `deep_prompts` (AnomalyCLIP, [n, W] each): before
  /// block k + 2 (1-based), rows 1..n of every sequence are replaced by deep_prompts[k].
  at::Tensor encode_text_embeddings(const at::Tensor& embeddings, const at::Tensor& eot,
                                    const std::vector<at::Tensor>& deep_prompts = {});
  /// visual->forward(images).
  at::Tensor encode_image(const at::Tensor& images);

  ClipConfig config;
  ClipVision visual{nullptr};
  torch::nn::Embedding token_embedding{nullptr};
  at::Tensor positional_embedding, text_projection;
  ClipTransformer transformer{nullptr};
  torch::nn::LayerNorm ln_final{nullptr};
};
TORCH_MODULE(ClipModel);

/// Zero-shot class scores: softmax(cos(e, text_k) / temperature) over the classes k; e [..., D],
/// text [M, D] (neither needs to be normalised) -> [..., M].
at::Tensor clip_class_scores(const at::Tensor& e, const at::Tensor& text, double temperature);

/// Loads a safetensors file written by `scripts/export_weights.py clip`. The configuration is read
/// from the tensor shapes and the metadata (`activation`: gelu / quick_gelu, `vision_heads`,
/// `text_heads`; default heads width/64; a known `architecture` must agree with the shapes). Every
/// parameter must be present with its shape (fp16/bf16 are upcast to float32); `logit_scale`,
/// `input_resolution`, `context_length` and `vocab_size` are ignored, any other tensor is an
/// InputError naming the file. The model is in eval mode on `device`.
ClipModel load_clip(const std::filesystem::path& file, const torch::Device& device = torch::kCPU);

}  // namespace adbench
