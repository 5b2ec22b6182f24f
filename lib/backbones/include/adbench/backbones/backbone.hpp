#pragma once
// Pretrained CNN backbones with torchvision's parameter names, for feature-based detectors.
// Weights come from files the user points to (.safetensors read by adbench itself, or a
// TorchScript .pt for any other backbone); nothing is downloaded. "none" means random
// initialisation (seeded), and is written into every result as such.
#include <ATen/ATen.h>

#include <array>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace adbench {

/// Input normalisation applied to RGB values in [0,1]: (x - mean) / std per channel.
struct Normalization {
  std::array<float, 3> mean{0.485f, 0.456f, 0.406f};
  std::array<float, 3> std{0.229f, 0.224f, 0.225f};
};

class Backbone {
 public:
  virtual ~Backbone() = default;
  /// Registry name: resnet18, wide_resnet50_2, mobilenet_v2, or torchscript.
  virtual std::string name() const = 0;
  /// Names of the modules whose outputs can be tapped, in forward order (torchvision names,
  /// e.g. "layer1".."layer4" for ResNets, "features.0".."features.18" for MobileNetV2).
  virtual std::vector<std::string> layers() const = 0;
  /// Runs x ([B,3,H,W], already normalised, on the backbone's device) in eval mode without
  /// gradients, stopping after the deepest requested layer; returns each requested layer's
  /// output. InputError listing the valid names for an unknown layer.
  virtual std::map<std::string, at::Tensor> features(const at::Tensor& x,
                                                     const std::vector<std::string>& layers) = 0;
  /// Classifier logits [B, classes] (for checking weights); InputError when the backbone has none.
  virtual at::Tensor logits(const at::Tensor& x) = 0;
  /// Normalisation the weights expect (from the safetensors metadata when present, else the
  /// torchvision default of the architecture).
  virtual Normalization normalization() const = 0;
  /// {"backbone", "weights" (file name or "none"), "weights_sha256" (or null), "normalization":
  ///  {"mean","std","source"}, "padding" ("torchvision", "tf_same" or "as scripted"),
  ///  "weights_format" ("safetensors", "torchscript" or null), ...}: written into run folders
  ///  and results.
  virtual nlohmann::json provenance() const = 0;
  virtual at::Device device() const = 0;
};

/// Builds a backbone. `weights`: a .safetensors or TorchScript file, or "none" (random init from
/// the current seed). InputErrors: unknown name (listing valid ones); a missing weights file
/// (saying how to obtain one: scripts/export_weights.py); tensors whose names or shapes do not
/// match the architecture (naming the first one, expected and found shape).
std::unique_ptr<Backbone> load_backbone(const std::string& name, const std::string& weights,
                                        at::Device device);

/// Sorted names load_backbone accepts.
std::vector<std::string> backbone_names();

/// Applies `n` to RGB values in [0,1] ([..., 3, H, W], any device): (x - mean) / std, float32.
/// InputError for another shape.
at::Tensor normalize(const at::Tensor& rgb01, const Normalization& n);

}  // namespace adbench
