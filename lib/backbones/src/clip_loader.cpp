// load_clip: the configuration from a converted checkpoint's shapes and metadata, then a strict
// by-name copy of every parameter.
#include <algorithm>
#include <cmath>
#include <fstream>
#include <set>

#include "adbench/backbones/clip.hpp"
#include "adbench/core/error.hpp"
#include "adbench/core/safetensors.hpp"

namespace adbench {
namespace {

const at::Tensor& need(const SafeTensors& st, const std::filesystem::path& file, const std::string& key,
                       int64_t dim) {
  auto it = st.tensors.find(key);
  if (it == st.tensors.end())
    throw InputError(file.string() + ": missing tensor '" + key +
                     "' (not a CLIP checkpoint converted by scripts/export_weights.py clip?)");
  if (it->second.dim() != dim)
    throw InputError(file.string() + ": tensor '" + key + "' has shape " + c10::str(it->second.sizes()) +
                     ", expected " + std::to_string(dim) + " dimensions");
  return it->second;
}

int64_t count_blocks(const SafeTensors& st, const std::string& prefix) {
  int64_t n = 0;
  while (st.tensors.count(prefix + std::to_string(n) + ".ln_1.weight")) ++n;
  return n;
}

int64_t heads_from(const SafeTensors& st, const std::filesystem::path& file, const std::string& key,
                   int64_t width) {
  auto it = st.metadata.find(key);
  if (it != st.metadata.end()) {
    try {
      size_t used = 0;
      const int64_t h = std::stoll(it->second, &used);
      if (used == it->second.size() && h > 0 && width % h == 0) return h;
    } catch (const std::exception&) {
    }
    throw InputError(file.string() + ": metadata '" + key + "' is '" + excerpt(it->second) +
                     "', expected a positive divisor of the width " + std::to_string(width));
  }
  if (width % 64 != 0)
    throw InputError(file.string() + ": no metadata '" + key + "' and width " + std::to_string(width) +
                     " is not a multiple of 64 (heads = width/64)");
  return width / 64;
}

ClipConfig infer_config(const SafeTensors& st, const std::filesystem::path& file) {
  ClipConfig c;
  const at::Tensor& conv = need(st, file, "visual.conv1.weight", 4);
  const at::Tensor& vpos = need(st, file, "visual.positional_embedding", 2);
  c.vision.width = conv.size(0);
  c.patch = conv.size(3);
  c.vision.layers = count_blocks(st, "visual.transformer.resblocks.");
  const auto grid = static_cast<int64_t>(std::llround(std::sqrt(static_cast<double>(vpos.size(0) - 1))));
  if (grid * grid + 1 != vpos.size(0))
    throw InputError(file.string() + ": visual.positional_embedding has " + std::to_string(vpos.size(0)) +
                     " rows, expected 1 + a square number");
  c.image_size = grid * c.patch;
  c.vision.heads = heads_from(st, file, "vision_heads", c.vision.width);
  c.text.width = need(st, file, "ln_final.weight", 1).size(0);
  c.text.layers = count_blocks(st, "transformer.resblocks.");
  c.text.heads = heads_from(st, file, "text_heads", c.text.width);
  c.context_length = need(st, file, "positional_embedding", 2).size(0);
  c.vocab_size = need(st, file, "token_embedding.weight", 2).size(0);
  c.embed_dim = need(st, file, "text_projection", 2).size(1);
  auto arch = st.metadata.find("architecture");
  auto act = st.metadata.find("activation");
  const auto names = clip_config_names();
  const bool known =
      arch != st.metadata.end() && std::find(names.begin(), names.end(), arch->second) != names.end();
  if (act != st.metadata.end()) {
    try {
      c.activation = parse_clip_activation(act->second);
    } catch (const InputError& e) {
      throw InputError(file.string() + ": metadata 'activation': " + e.what());
    }
  } else if (known) {
    c.activation = clip_config(arch->second).activation;
  } else {
    throw InputError(file.string() +
                     ": no metadata 'activation' (gelu or quick_gelu) and no known 'architecture'");
  }
  if (known) {
    const ClipConfig k = clip_config(arch->second);
    const bool same = k.vision.width == c.vision.width && k.vision.layers == c.vision.layers &&
                      k.vision.heads == c.vision.heads && k.patch == c.patch &&
                      k.image_size == c.image_size && k.text.width == c.text.width &&
                      k.text.layers == c.text.layers && k.text.heads == c.text.heads &&
                      k.embed_dim == c.embed_dim;
    if (!same)
      throw InputError(file.string() + ": metadata says architecture '" + arch->second +
                       "' but the tensor shapes are another CLIP (vision width " +
                       std::to_string(c.vision.width) + ", " + std::to_string(c.vision.layers) +
                       " layers, patch " + std::to_string(c.patch) + ")");
    c.name = arch->second;
  }
  return c;
}

}  // namespace

ClipModel load_clip(const std::filesystem::path& file, const torch::Device& device) {
  if (!std::filesystem::is_regular_file(file))
    throw InputError(
        file.string() +
        ": no such CLIP weights file (convert a checkpoint with scripts/export_weights.py clip)");
  {
    std::ifstream in(file, std::ios::binary);
    char magic[2] = {0, 0};
    in.read(magic, 2);
    if (magic[0] == 'P' && magic[1] == 'K')
      throw InputError(file.string() +
                       ": is a PyTorch / TorchScript archive, not safetensors; convert it with "
                       "scripts/export_weights.py clip --checkpoint " +
                       file.filename().string() + " --out FILE.safetensors");
  }
  const SafeTensors st = read_safetensors(file);
  const ClipConfig cfg = infer_config(st, file);
  ClipModel model(cfg);
  const std::set<std::string> ignored = {"logit_scale", "input_resolution", "context_length", "vocab_size"};
  std::set<std::string> used;
  torch::NoGradGuard no_grad;
  for (auto& p : model->named_parameters()) {
    auto it = st.tensors.find(p.key());
    if (it == st.tensors.end())
      throw InputError(file.string() + ": missing tensor '" + p.key() + "' of CLIP (expected shape " +
                       c10::str(p.value().sizes()) + ")");
    if (it->second.sizes() != p.value().sizes())
      throw InputError(file.string() + ": tensor '" + p.key() + "' has shape " +
                       c10::str(it->second.sizes()) + ", CLIP expects " + c10::str(p.value().sizes()));
    if (!at::isFloatingType(it->second.scalar_type()))
      throw InputError(file.string() + ": tensor '" + p.key() + "' is " + c10::str(it->second.scalar_type()) +
                       ", expected floating point");
    p.value().copy_(it->second.to(at::kFloat));  // fp16 / bf16 checkpoints are upcast
    used.insert(p.key());
  }
  for (const auto& [k, v] : st.tensors)
    if (!used.count(k) && !ignored.count(k))
      throw InputError(file.string() + ": unexpected tensor '" + excerpt(k) + "' for CLIP");
  model->to(device);
  model->eval();
  return model;
}

}  // namespace adbench
