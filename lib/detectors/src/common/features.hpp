#pragma once
// Shared pieces of the feature-based image detectors (patchcore, padim, spade, fastrecon):
// backbone settings and loading, image batches, nearest-neighbour search and greedy coreset
// selection in bounded memory, and anomaly-map post-processing (upsample + Gaussian smoothing).
#include <ATen/ATen.h>

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <opencv2/core.hpp>
#include <span>
#include <string>
#include <vector>

#include "adbench/backbones/backbone.hpp"
#include "adbench/core/nearest.hpp"
#include "adbench/datasets/dataset.hpp"
#include "adbench/detectors/detector.hpp"

namespace adbench {
// clip.hpp (with <torch/torch.h>) is included only where a CLIP model is used.
class ClipModel;
struct ClipConfig;
}  // namespace adbench

namespace adbench::feat {

/// Which layers a detector taps by default on a backbone: "mid" (PatchCore, FastRecon: ResNet
/// layer2+layer3), "pyramid" (PaDiM, SPADE pixel level: layer1..layer3), "global" (SPADE image
/// level: the last stage). MobileNetV2 gets the blocks that end its stride-4/8/16/32 stages.
std::vector<std::string> default_layers(const std::string& role, const std::string& backbone);

/// Resolves the "layers" setting: the user's list when `overrides` sets it, else the role's
/// default for the configured backbone. InputError for a backbone without defaults (torchscript).
void resolve_layers(const std::string& detector, nlohmann::json& config, const nlohmann::json& overrides,
                    const std::string& key, const std::string& role);

/// The ImageNet MobileNetV2 that ships with adbench (models/mobilenet_v2_imagenet.safetensors,
/// Apache-2.0, see models/README.md): its path ($ADBENCH_MODELS_DIR, else the installed
/// share/adbench/models next to the executable, else the source tree's models/) and SHA-256.
std::string shipped_weights_path();
/// A file shipped under models/ (e.g. "clip/bpe_simple_vocab_16e6.txt.gz"), looked up the same way.
std::string shipped_model_path(const std::string& relative);
inline constexpr const char* kShippedWeightsSha256 =
    "36331b4591893551f3df7913b1c4d5c13c9960eb674338c666f174721595eb65";

/// Resolves "backbone" and "backbone_weights" when the user gave no weights: no backbone and no
/// weights -> mobilenet_v2 with the shipped weights (logged: the paper's backbone needs the user's
/// file); --backbone mobilenet_v2 without weights -> the shipped weights. Other backbones keep ""
/// (load() then explains how to export weights). Call before resolve_layers.
void resolve_backbone(const std::string& detector, nlohmann::json& config, const nlohmann::json& overrides);

/// A backbone loaded from a detector's settings ("backbone", "backbone_weights"), plus image
/// preprocessing to image_size x image_size with the backbone's normalisation.
class FeatureExtractor {
 public:
  FeatureExtractor(std::string detector, std::string backbone, std::string weights, int image_size);
  /// Loads (or reloads on another device) the backbone. "" weights: InputError explaining
  /// --backbone-weights. "none": random initialisation seeded with `seed`.
  /// Const because it only caches: the backbone is loaded lazily (a loaded run folder's detector
  /// reads its weights when first used, so weight errors are reported as such).
  void load(at::Device device, std::uint64_t seed) const;
  bool loaded() const { return backbone_ != nullptr; }
  at::Device device() const;
  /// The backbone's provenance, loading it on the CPU first when needed.
  nlohmann::json provenance(std::uint64_t seed) const;
  /// Reads and resizes a batch of images to [B,3,S,S], normalised, on the backbone's device.
  /// `sizes` (optional) receives each image's original size.
  at::Tensor images(std::span<const Sample> batch, std::vector<cv::Size>* sizes) const;
  /// An RGB image resized to image_size x image_size as images() does it (area when shrinking,
  /// bilinear otherwise).
  cv::Mat resized(const cv::Mat& rgb) const;
  /// RGB 8-bit [B,3,S,S] (any device) -> float, normalised for the backbone, on its device.
  at::Tensor normalized(const at::Tensor& rgb_u8) const;
  std::map<std::string, at::Tensor> features(const at::Tensor& x,
                                             const std::vector<std::string>& layers) const;
  int image_size() const { return size_; }

 private:
  std::string detector_, name_, weights_;
  int size_;
  mutable std::unique_ptr<Backbone> backbone_;
};

/// Feature maps of several layers -> one map at the largest resolution: each layer optionally
/// locally averaged (avg pool pool_size, stride 1, padding pool_size/2), bilinearly upsampled to
/// the largest map, concatenated along channels. Returns [B,C,H,W].
at::Tensor concat_layers(const std::map<std::string, at::Tensor>& feats,
                         const std::vector<std::string>& layers, int pool_size);

// Nearest neighbours (knn) and greedy k-center coresets: adbench/core/nearest.hpp.

/// The few-shot support set: a seeded choice of `shots` of the training samples (mt19937_64 shuffle
/// of the indices, the first `shots` kept), in their dataset order. InputError "<detector>: --shots N
/// needs at least N training images, got M" when there are fewer.
std::vector<Sample> seeded_shots(const std::string& detector, const std::vector<Sample>& train,
                                 std::int64_t shots, std::uint64_t seed);

/// A CLIP detector's model from `weights` (load_clip), and in `provenance` what every CLIP detector
/// records: backbone "clip:<architecture>", activation, weights (file name), weights_format,
/// weights_sha256. Without a file: InputError "detector <detector>: needs CLIP weights:
/// --backbone-weights FILE.safetensors (convert <model> with scripts/export_weights.py clip)".
std::unique_ptr<ClipModel> load_clip_model(const std::string& detector, const std::string& weights,
                                           const std::string& model, const at::Device& device,
                                           nlohmann::json* provenance);

/// A CLIP detector's input size: `requested` when > 0, else the model's own. InputError "detector
/// <detector>: image_size N is not a multiple of the model's patch size P".
int clip_input_size(const std::string& detector, int64_t requested, const ClipConfig& model);

/// CLIP's input: each image read as RGB, resized to size x size (bicubic; area averaging when
/// shrinking, against aliasing), scaled to [0,1] and normalised with OpenAI CLIP's mean and std
/// (OpenCLIP uses the same). [B,3,size,size] on `device`; `sizes` (if given) gets the original sizes.
at::Tensor clip_images(std::span<const Sample> batch, int size, const at::Device& device,
                       std::vector<cv::Size>* sizes);

/// Small maps [B,h,w] -> per-image [H_i,W_i] maps: bilinear upsample to S x S, Gaussian smoothing
/// (sigma in pixels of the S x S map, kernel radius round(4 sigma), reflected borders as scipy's
/// gaussian_filter; sigma <= 0: none), bilinear resize to each image's original size.
std::vector<at::Tensor> to_image_maps(const at::Tensor& small, int image_size, double sigma,
                                      const std::vector<cv::Size>& sizes);

/// Checks a named tensor of a loaded state: present, float, with the expected number of dims and
/// (where given, >= 0) sizes. InputError "<detector>: model has no tensor 'x'" / "... has shape ...".
at::Tensor state_tensor(const std::string& detector, const std::map<std::string, at::Tensor>& tensors,
                        const std::string& key, std::vector<int64_t> shape);

/// The settings every feature detector has: backbone (default `backbone`), backbone_weights,
/// layers (default `layers`, the ResNet choice; resolve_layers swaps in the backbone's own when
/// the user leaves it out), image_size and sigma.
SettingsTable backbone_settings(const std::string& backbone, const std::vector<std::string>& layers);

}  // namespace adbench::feat
