// load_backbone: the architecture table, weights files (safetensors / TorchScript) with strict
// name-and-shape checks, normalisation and padding from the safetensors metadata, provenance.
#include "adbench/backbones/backbone.hpp"

#include <algorithm>
#include <cctype>
#include <fstream>
#include <optional>
#include <set>
#include <sstream>

#include "adbench/core/error.hpp"
#include "adbench/core/path_util.hpp"
#include "adbench/core/safetensors.hpp"
#include "adbench/core/sha256.hpp"
#include "internal.hpp"
#include "nets.hpp"

namespace fs = std::filesystem;

namespace adbench {

namespace detail {

std::string shape_string(at::IntArrayRef shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

namespace {

std::array<float, 3> parse_triple(const fs::path& file, const std::string& key, const std::string& text) {
  std::array<float, 3> out{};
  try {
    auto j = nlohmann::json::parse(text);
    if (!j.is_array() || j.size() != 3) throw std::runtime_error("not 3 values");
    for (int i = 0; i < 3; ++i) {
      if (!j[i].is_number()) throw std::runtime_error("not a number");
      out[i] = j[i].get<float>();
    }
  } catch (const std::exception&) {
    throw_file_error(
        file, "metadata '" + key + "' must be a JSON array of 3 numbers, found '" + excerpt(text) + "'");
  }
  return out;
}

/// In `text`, the first "<key1>\s*=\s*<key2>\s*=\s*...[...]" (keys case-insensitive): returns
/// the bracketed list, brackets included, or nullopt. A linear scan: no regular expression (a
/// long metadata value made std::regex overflow the stack).
std::optional<std::string> assigned_list(const std::string& text, const std::vector<std::string>& keys) {
  const std::string l = lower(text);
  auto skip_ws = [&](size_t i) {
    while (i < l.size() && std::isspace(static_cast<unsigned char>(l[i]))) ++i;
    return i;
  };
  for (size_t start = l.find(keys[0]); start != std::string::npos; start = l.find(keys[0], start + 1)) {
    size_t i = start;
    bool ok = true;
    for (size_t k = 0; k < keys.size() && ok; ++k) {
      if (l.compare(i, keys[k].size(), keys[k]) != 0) {
        ok = false;
        break;
      }
      i = skip_ws(i + keys[k].size());
      if (i >= l.size() || l[i] != '=')
        ok = false;
      else
        i = skip_ws(i + 1);
    }
    if (!ok || i >= l.size() || l[i] != '[') continue;
    const size_t close = l.find(']', i);
    if (close == std::string::npos) continue;
    return text.substr(i, close - i + 1);
  }
  return std::nullopt;
}

/// "tf same", "tf_same", "tf-same" or "tfsame", any case, anywhere in `text`.
bool asks_tf_same(const std::string& text) {
  const std::string l = lower(text);
  for (size_t p = l.find("tf"); p != std::string::npos; p = l.find("tf", p + 1)) {
    size_t i = p + 2;
    if (i < l.size() && (l[i] == ' ' || l[i] == '_' || l[i] == '-')) ++i;
    if (l.compare(i, 4, "same") == 0) return true;
  }
  return false;
}

}  // namespace

NormInfo normalization_from_metadata(const fs::path& file, const std::map<std::string, std::string>& md) {
  NormInfo info;
  const bool has_mean = md.count("mean"), has_std = md.count("std");
  if (has_mean || has_std) {
    if (!has_mean || !has_std)
      throw_file_error(file, "metadata has '" + std::string(has_mean ? "mean" : "std") + "' without '" +
                                 (has_mean ? "std" : "mean") + "'");
    info.norm.mean = parse_triple(file, "mean", md.at("mean"));
    info.norm.std = parse_triple(file, "std", md.at("std"));
    info.source = "metadata (mean/std)";
  } else if (auto it = md.find("input_normalization"); it != md.end()) {
    // Free text such as "x/127.5-1 (RGB, [-1,1]); equivalently mean=std=[0.5,0.5,0.5] on [0,1]".
    const auto both = assigned_list(it->second, {"mean", "std"});
    const auto mean = assigned_list(it->second, {"mean"});
    const auto stdv = assigned_list(it->second, {"std"});
    if (both) {
      info.norm.mean = info.norm.std = parse_triple(file, "input_normalization", *both);
    } else if (mean && stdv) {
      info.norm.mean = parse_triple(file, "input_normalization", *mean);
      info.norm.std = parse_triple(file, "input_normalization", *stdv);
    } else {
      throw_file_error(file, "metadata 'input_normalization' ('" + excerpt(it->second) +
                                 "') gives no mean/std adbench can read (mean=[r,g,b] std=[r,g,b], or "
                                 "mean=std=[r,g,b]); add 'mean' and 'std' metadata keys");
    }
    info.source = "metadata (input_normalization)";
  }
  for (float v : info.norm.std)
    if (!(v > 0)) throw_file_error(file, "metadata gives a standard deviation <= 0");
  return info;
}

nlohmann::json normalization_json(const NormInfo& n) {
  return {{"mean", n.norm.mean}, {"std", n.norm.std}, {"source", n.source}};
}

// ---- StagedBackbone --------------------------------------------------------------------------

StagedBackbone::StagedBackbone(std::string name, std::vector<Stage> stages, NormInfo norm,
                               nlohmann::json provenance, at::Device device, std::shared_ptr<void> keep_alive)
    : name_(std::move(name)),
      stages_(std::move(stages)),
      norm_(std::move(norm)),
      provenance_(std::move(provenance)),
      device_(device),
      keep_alive_(std::move(keep_alive)) {}

std::vector<std::string> StagedBackbone::layers() const {
  std::vector<std::string> out;
  for (const auto& s : stages_) out.push_back(s.name);
  return out;
}

at::Tensor StagedBackbone::prepare(const at::Tensor& x) const {
  if (!x.defined() || x.dim() != 4 || x.size(1) != 3 || !x.is_floating_point())
    throw InputError("backbone " + name_ + ": input must be a floating-point [B, 3, H, W] tensor, got " +
                     (x.defined()
                          ? shape_string(x.sizes()) + " " + std::string(c10::toString(x.scalar_type()))
                          : std::string("an undefined tensor")));
  return x.to(device_, at::kFloat);
}

void StagedBackbone::rethrow_stage_error(const std::string& layer, const at::Tensor& x,
                                         const std::exception& e) const {
  // LibTorch errors: the first line without the C++ backtrace; TorchScript interpreter errors
  // end with the Python-style error line after the script traceback.
  std::string what;
  if (auto* c10e = dynamic_cast<const c10::Error*>(&e)) {
    what = c10e->what_without_backtrace();
    what = what.substr(0, what.find('\n'));
  } else {
    std::istringstream lines(e.what());
    for (std::string line; std::getline(lines, line);)
      if (line.find_first_not_of(" \t") != std::string::npos)
        what = line.substr(line.find_first_not_of(" \t"));
  }
  throw InputError("backbone " + name_ + ": layer '" + layer + "' failed on input " +
                   shape_string(x.sizes()) + ": " + what);
}

std::map<std::string, at::Tensor> StagedBackbone::features(const at::Tensor& x,
                                                           const std::vector<std::string>& layers) {
  if (layers.empty()) throw InputError("backbone " + name_ + ": no layers requested");
  std::set<size_t> wanted;
  for (const auto& l : layers) {
    auto it = std::find_if(stages_.begin(), stages_.end(), [&](const Stage& s) { return s.name == l; });
    if (it == stages_.end()) {
      std::string valid;
      for (const auto& s : stages_) valid += (valid.empty() ? "" : ", ") + s.name;
      throw InputError("backbone " + name_ + ": unknown layer '" + l + "' (valid: " + valid + ")");
    }
    wanted.insert(static_cast<size_t>(it - stages_.begin()));
  }
  at::NoGradGuard no_grad;
  at::Tensor h = prepare(x);
  std::map<std::string, at::Tensor> out;
  const size_t deepest = *wanted.rbegin();
  for (size_t i = 0; i <= deepest; ++i) {
    try {
      h = stages_[i].run(h);
    } catch (const InputError&) {
      throw;
    } catch (const std::exception& e) {
      rethrow_stage_error(stages_[i].name, x, e);
    }
    if (wanted.count(i)) out[stages_[i].name] = h;
  }
  return out;
}

at::Tensor StagedBackbone::logits(const at::Tensor& x) {
  return features(x, {stages_.back().name}).begin()->second;
}

// ---- weights -------------------------------------------------------------------------------

namespace {

enum class Format { Safetensors, TorchScript };

Format sniff_format(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw_file_error(file, "cannot read weights file");
  char head[9] = {};
  in.read(head, 9);
  if (in.gcount() >= 2 && head[0] == 'P' && head[1] == 'K') return Format::TorchScript;  // a zip archive
  if (in.gcount() == 9 && head[8] == '{') return Format::Safetensors;
  throw_file_error(file,
                   "not a weights file adbench reads (expected .safetensors, or a TorchScript archive "
                   "saved by torch.jit.save); convert it with scripts/export_weights.py");
}

/// Copies `tensors` into the module's parameters and buffers: every one must be present with its
/// shape (num_batches_tracked may be absent), and nothing else may be in the file.
void load_strict(const fs::path& file, const std::string& arch, torch::nn::Module& module,
                 const std::map<std::string, at::Tensor>& tensors) {
  at::NoGradGuard no_grad;
  std::vector<std::pair<std::string, at::Tensor>> expected;
  for (const auto& p : module.named_parameters(true)) expected.emplace_back(p.key(), p.value());
  for (const auto& b : module.named_buffers(true)) expected.emplace_back(b.key(), b.value());
  std::set<std::string> known;
  for (auto& [key, dst] : expected) {
    known.insert(key);
    auto it = tensors.find(key);
    const bool optional = key.size() >= 19 && key.compare(key.size() - 19, 19, "num_batches_tracked") == 0;
    if (it == tensors.end()) {
      if (optional) continue;
      throw_file_error(file, "missing tensor '" + key + "' of " + arch + " (expected shape " +
                                 shape_string(dst.sizes()) + ")");
    }
    const at::Tensor& src = it->second;
    if (src.sizes() != dst.sizes())
      throw_file_error(file, "tensor '" + key + "' has shape " + shape_string(src.sizes()) + ", " + arch +
                                 " expects " + shape_string(dst.sizes()));
    if (dst.is_floating_point() && !src.is_floating_point())
      throw_file_error(file, "tensor '" + key + "' has dtype " +
                                 std::string(c10::toString(src.scalar_type())) +
                                 ", expected a floating-point type");
    if (src.is_floating_point() && src.numel() > 0) {
      const at::Tensor bad = src.isfinite().logical_not().reshape({-1});
      if (bad.any().item<bool>())
        throw_file_error(file, "tensor '" + key + "' has " + std::to_string(bad.sum().item<std::int64_t>()) +
                                   " NaN or infinite values (first at flat index " +
                                   std::to_string(bad.nonzero()[0][0].item<std::int64_t>()) + ")");
    }
    dst.copy_(src);
  }
  for (const auto& [key, t] : tensors)
    if (!known.count(key))
      throw_file_error(file, "unexpected tensor '" + key + "' " + shape_string(t.sizes()) +
                                 " (not a parameter or buffer of " + arch + ")");
}

struct Arch {
  const char* name;
  const char* summary;
  Net (*make)(bool tf_same);
  void (*init)(torch::nn::Module&);
  bool supports_tf_same;
};

const Arch kArchs[] = {
    {"mobilenet_v2", "MobileNetV2 width 1.0 (torchvision names; TF SAME padding when the weights ask)",
     [](bool tf) { return make_mobilenet_v2(tf); }, init_mobilenet_v2, true},
    {"resnet18", "ResNet-18 (torchvision names)", [](bool) { return make_resnet18(); }, init_resnet, false},
    {"resnet34", "ResNet-34 (torchvision names; MVAD's encoder)", [](bool) { return make_resnet34(); },
     init_resnet, false},
    {"wide_resnet50_2", "Wide ResNet-50-2 (torchvision names)", [](bool) { return make_wide_resnet50_2(); },
     init_resnet, false},
};

/// True when `text` names `arch` as a whole token (letters, digits and '_' delimit tokens).
bool names_arch(const std::string& text, const std::string& arch) {
  for (size_t pos = text.find(arch); pos != std::string::npos; pos = text.find(arch, pos + 1)) {
    auto word = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; };
    const bool before = pos == 0 || !word(text[pos - 1]);
    const bool after = pos + arch.size() == text.size() || !word(text[pos + arch.size()]);
    if (before && after) return true;
  }
  return false;
}

}  // namespace
}  // namespace detail

std::vector<std::string> backbone_names() {
  std::vector<std::string> out{"torchscript"};
  for (const auto& a : detail::kArchs) out.push_back(a.name);
  std::sort(out.begin(), out.end());
  return out;
}

at::Tensor normalize(const at::Tensor& rgb01, const Normalization& n) {
  if (!rgb01.defined() || rgb01.dim() < 3 || rgb01.size(-3) != 3)
    throw InputError(
        "normalize: expected a [..., 3, H, W] tensor, got " +
        (rgb01.defined() ? detail::shape_string(rgb01.sizes()) : std::string("an undefined tensor")));
  auto opts = rgb01.options().dtype(at::kFloat);
  auto mean = at::tensor(at::ArrayRef<float>(n.mean.data(), 3)).to(opts).view({3, 1, 1});
  auto std = at::tensor(at::ArrayRef<float>(n.std.data(), 3)).to(opts).view({3, 1, 1});
  return (rgb01.to(at::kFloat) - mean) / std;
}

std::unique_ptr<Backbone> load_backbone(const std::string& name, const std::string& weights,
                                        at::Device device) {
  using namespace detail;
  const Arch* arch = nullptr;
  for (const auto& a : kArchs)
    if (name == a.name) arch = &a;
  if (!arch && name != "torchscript") {
    std::string valid;
    for (const auto& n : backbone_names()) valid += (valid.empty() ? "" : ", ") + n;
    throw InputError("unknown backbone '" + name + "' (valid: " + valid + ")");
  }
  if (weights.empty())
    throw InputError("backbone " + name + ": no weights given (a file, or 'none' for random weights)");
  const fs::path file(weights);
  if (weights != "none" && !fs::exists(file))
    throw_file_error(
        file,
        "weights file not found; export one with scripts/export_weights.py (torchvision or timm "
        "weights -> safetensors, see lib/backbones/README.md), or use 'none' for random weights");

  if (name == "torchscript") {
    if (weights == "none") throw InputError("backbone torchscript: needs a TorchScript file, not 'none'");
    return load_torchscript_backbone(file, device);
  }

  NormInfo norm;
  bool tf_same = false;
  nlohmann::json prov = {{"backbone", name}};
  std::map<std::string, at::Tensor> tensors;
  if (weights == "none") {
    prov["weights"] = "none";
    prov["weights_sha256"] = nullptr;
    prov["weights_format"] = nullptr;
    prov["init"] = "random (torchvision's initialisation, from the global seed)";
  } else {
    const Format format = sniff_format(file);
    if (format == Format::Safetensors) {
      SafeTensors st = read_safetensors(file);
      const auto& md = st.metadata;
      if (auto it = md.find("architecture"); it != md.end() && !names_arch(it->second, name))
        for (const auto& other : kArchs)
          if (names_arch(it->second, other.name))
            throw_file_error(file, "metadata 'architecture' is '" + excerpt(it->second) + "', not " + name);
      norm = normalization_from_metadata(file, md);
      if (auto it = md.find("padding"); it != md.end()) {
        tf_same = asks_tf_same(it->second);
        if (tf_same && !arch->supports_tf_same)
          throw_file_error(file,
                           "metadata 'padding' asks for TF SAME padding, which adbench implements only for "
                           "mobilenet_v2");
      }
      for (const char* key : {"source", "license"})
        if (auto it = md.find(key); it != md.end()) prov[std::string("weights_") + key] = it->second;
      tensors = std::move(st.tensors);
      prov["weights_format"] = "safetensors";
    } else {
      tensors = torchscript_tensors(file);
      prov["weights_format"] = "torchscript";
    }
    prov["weights"] = file.filename().string();
    prov["weights_sha256"] = sha256_file(file);
  }

  Net net = arch->make(tf_same);
  if (weights == "none")
    arch->init(*net.module);
  else
    load_strict(file, name, *net.module, tensors);
  net.module->eval();
  net.module->to(device);
  prov["normalization"] = normalization_json(norm);
  prov["padding"] = tf_same ? "tf_same" : "torchvision";
  return std::make_unique<StagedBackbone>(name, std::move(net.stages), norm, std::move(prov), device,
                                          std::move(net.module));
}

}  // namespace adbench
