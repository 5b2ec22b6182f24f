#pragma once
// fastrecon: Fang et al., "FastRecon: Few-shot Industrial Anomaly Detection via Fast Feature
// Reconstruction", ICCV 2023. Few-shot: `shots` normal images (a seeded choice among the training
// images). Their locally aware patch features (as PatchCore: layer2+layer3, 3x3 average,
// upsampled and concatenated) give a greedy k-center coreset S [m,C] and the mean normal feature
// at every position mu [hw,C]. A query's features Q [hw,C] are reconstructed as W S with the
// distribution-regularised least squares
//     min_W ||Q - W S||^2 + lambda ||W S - mu||^2
//   => W = (Q S^T + lambda mu S^T) ((1 + lambda) S S^T)^+        (closed form)
// and the residual norm ||Q - W S|| per position is the anomaly map (bilinear upsampling,
// Gaussian smoothing sigma 4); image score = the map's maximum.
#include "adbench/detectors/detector.hpp"
#include "common/features.hpp"

namespace adbench {

class FastRecon final : public Detector {
 public:
  explicit FastRecon(const nlohmann::json& overrides);
  /// Every setting with its default, range and meaning.
  static const SettingsTable& settings();
  static nlohmann::json default_config() { return defaults_of(settings()); }

  std::string name() const override { return "fastrecon"; }
  nlohmann::json config() const override { return config_; }
  void fit(const std::vector<Sample>& train, const RunContext& ctx) override;
  std::vector<Prediction> predict(const std::vector<Sample>& batch, const RunContext& ctx) override;
  std::map<std::string, at::Tensor> state() const override;
  void load_state(const std::map<std::string, at::Tensor>& tensors) override;
  nlohmann::json provenance() const override {
    return support_.defined() ? extractor_.provenance(seed_) : nullptr;
  }

 private:
  at::Tensor embed(const at::Tensor& x, int64_t* h, int64_t* w) const;  ///< [B,hw,C]
  void prepare();  ///< precomputes the pseudo-inverse of (1 + lambda) S S^T
  nlohmann::json config_;
  feat::FeatureExtractor extractor_;
  std::vector<std::string> layers_;
  int64_t shots_, proj_dim_;
  int pool_size_;
  double ratio_, lambda_, sigma_;
  std::uint64_t seed_ = 0;
  at::Tensor support_;           ///< S [m,C]
  at::Tensor mu_;                ///< [hw,C]
  at::Tensor gram_inv_, mu_st_;  ///< ((1+lambda) S S^T)^+ [m,m]; mu S^T [hw,m]
};

}  // namespace adbench
