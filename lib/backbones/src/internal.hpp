#pragma once
// Internal pieces shared by the backbone implementations (ATen only; no torch/ headers).
#include <ATen/ATen.h>

#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "adbench/backbones/backbone.hpp"

namespace adbench::detail {

/// One tappable layer: its name and the function from the previous stage's output.
struct Stage {
  std::string name;
  std::function<at::Tensor(const at::Tensor&)> run;
};

/// Normalisation and where it came from ("metadata (mean/std)", "default (torchvision ImageNet)"...).
struct NormInfo {
  Normalization norm;
  std::string source = "default (torchvision ImageNet)";
};

/// Reads mean/std (explicit JSON-array keys, else the free-text "input_normalization") from a
/// weights file's metadata; the torchvision ImageNet default when neither is present.
/// InputError naming `file` when present but unreadable.
NormInfo normalization_from_metadata(const std::filesystem::path& file,
                                     const std::map<std::string, std::string>& md);
nlohmann::json normalization_json(const NormInfo& n);

/// A backbone whose forward pass is a chain of named stages; features() stops at the deepest
/// requested one. `keep_alive` owns whatever the stages point into.
class StagedBackbone : public Backbone {
 public:
  StagedBackbone(std::string name, std::vector<Stage> stages, NormInfo norm, nlohmann::json provenance,
                 at::Device device, std::shared_ptr<void> keep_alive);
  std::string name() const override { return name_; }
  std::vector<std::string> layers() const override;
  std::map<std::string, at::Tensor> features(const at::Tensor& x,
                                             const std::vector<std::string>& layers) override;
  at::Tensor logits(const at::Tensor& x) override;
  Normalization normalization() const override { return norm_.norm; }
  nlohmann::json provenance() const override { return provenance_; }
  at::Device device() const override { return device_; }

 protected:
  /// x checked ([B,3,H,W], floating) and moved to the device.
  at::Tensor prepare(const at::Tensor& x) const;
  /// Wraps a LibTorch error inside a stage as an InputError naming the backbone and layer.
  [[noreturn]] void rethrow_stage_error(const std::string& layer, const at::Tensor& x,
                                        const std::exception& e) const;

  std::string name_;
  std::vector<Stage> stages_;
  NormInfo norm_;
  nlohmann::json provenance_;
  at::Device device_;
  std::shared_ptr<void> keep_alive_;
};

/// "torchscript" backbone from a TorchScript archive (torchscript_backbone.cpp).
std::unique_ptr<Backbone> load_torchscript_backbone(const std::filesystem::path& file, at::Device device);
/// Every parameter and buffer of a TorchScript archive by its dotted name, for loading a named
/// architecture's weights from a .pt file.
std::map<std::string, at::Tensor> torchscript_tensors(const std::filesystem::path& file);

/// "[a, b, c]" for error messages.
std::string shape_string(at::IntArrayRef shape);

}  // namespace adbench::detail
