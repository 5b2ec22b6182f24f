#pragma once
// padim: Defard et al., "PaDiM: a Patch Distribution Modeling Framework for Anomaly Detection and
// Localization", ICPR 2020 workshops. Backbone layers 1-3 upsampled to the first one's grid and
// concatenated; a seeded random subset of `channels` channels; at every grid position a
// multivariate Gaussian of the training images' features with covariance + covariance_eps * I;
// the Mahalanobis distance to it as the anomaly map (bilinear upsampling, Gaussian smoothing);
// image score = the map's maximum.
#include "adbench/detectors/detector.hpp"
#include "common/features.hpp"

namespace adbench {

class Padim final : public Detector {
 public:
  explicit Padim(const nlohmann::json& overrides);
  /// Every setting with its default, range and meaning.
  static const SettingsTable& settings();
  static nlohmann::json default_config() { return defaults_of(settings()); }

  std::string name() const override { return "padim"; }
  nlohmann::json config() const override { return config_; }
  void fit(const std::vector<Sample>& train, const RunContext& ctx) override;
  std::vector<Prediction> predict(const std::vector<Sample>& batch, const RunContext& ctx) override;
  std::map<std::string, at::Tensor> state() const override;
  void load_state(const std::map<std::string, at::Tensor>& tensors) override;
  nlohmann::json provenance() const override {
    return mean_.defined() ? extractor_.provenance(seed_) : nullptr;
  }

 private:
  at::Tensor embed(const at::Tensor& x, int64_t* h, int64_t* w) const;  ///< [B, h*w, d]
  nlohmann::json config_;
  feat::FeatureExtractor extractor_;
  std::vector<std::string> layers_;
  int64_t channels_;
  double eps_, sigma_;
  std::uint64_t seed_ = 0;
  int64_t grid_h_ = 0, grid_w_ = 0;
  at::Tensor channel_idx_;  ///< [d] int64
  at::Tensor mean_;         ///< [h*w, d]
  at::Tensor inv_cov_;      ///< [h*w, d, d]
};

}  // namespace adbench
