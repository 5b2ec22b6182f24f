#pragma once
// spade: Cohen & Hoshen, "Sub-Image Anomaly Detection with Deep Pyramid Correspondences" (2020).
// Image level: kNN (top_k images, L2 or cosine) on globally average-pooled features of the last
// backbone stage; image score = mean distance to those top_k training images. Pixel level: the
// feature pyramid (layers 1-3 upsampled to the first one's grid, concatenated) of every position
// of the test image is matched against all positions of the top_k nearest training images'
// pyramids; the mean distance to the pixel_k nearest (kappa = 1) is the anomaly map (bilinear
// upsampling, Gaussian smoothing sigma 4).
#include "adbench/detectors/detector.hpp"
#include "common/features.hpp"

namespace adbench {

class Spade final : public Detector {
 public:
  explicit Spade(const nlohmann::json& overrides);
  /// Every setting with its default, range and meaning.
  static const SettingsTable& settings();
  static nlohmann::json default_config() { return defaults_of(settings()); }

  std::string name() const override { return "spade"; }
  nlohmann::json config() const override { return config_; }
  void fit(const std::vector<Sample>& train, const RunContext& ctx) override;
  std::vector<Prediction> predict(const std::vector<Sample>& batch, const RunContext& ctx) override;
  std::map<std::string, at::Tensor> state() const override;
  void load_state(const std::map<std::string, at::Tensor>& tensors) override;
  nlohmann::json provenance() const override {
    return global_.defined() ? extractor_.provenance(seed_) : nullptr;
  }

 private:
  /// Global features [B,Cg] (unit-normalised for cosine) and pyramids [B,h*w,C].
  std::pair<at::Tensor, at::Tensor> embed(const at::Tensor& x, int64_t* h, int64_t* w) const;
  nlohmann::json config_;
  feat::FeatureExtractor extractor_;
  std::vector<std::string> layers_;
  std::string image_layer_;
  int64_t top_k_, pixel_k_;
  bool cosine_;
  double sigma_;
  std::uint64_t seed_ = 0;
  at::Tensor global_;    ///< [N,Cg]
  at::Tensor pyramids_;  ///< [N,h*w,C]
};

}  // namespace adbench
