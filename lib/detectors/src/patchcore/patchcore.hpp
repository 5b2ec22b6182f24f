#pragma once
// patchcore: Roth et al., "Towards Total Recall in Industrial Anomaly Detection", CVPR 2022.
// Mid-level backbone features, locally aware patch features (3x3 average over the neighbourhood),
// the deeper map upsampled to the larger one and concatenated, adaptive average pooling over
// channels to target_dim; a memory bank of the training patches reduced by a random-projection
// greedy k-center coreset; nearest-neighbour distance as the patch score; the paper's image-score
// re-weighting; bilinear upsampling and Gaussian smoothing (sigma 4) of the map.
#include <memory>

#include "adbench/detectors/detector.hpp"
#include "common/features.hpp"

namespace adbench {

class PatchCore final : public Detector {
 public:
  explicit PatchCore(const nlohmann::json& overrides);
  /// Every setting with its default, range and meaning.
  static const SettingsTable& settings();
  static nlohmann::json default_config() { return defaults_of(settings()); }

  std::string name() const override { return "patchcore"; }
  nlohmann::json config() const override { return config_; }
  void fit(const std::vector<Sample>& train, const RunContext& ctx) override;
  std::vector<Prediction> predict(const std::vector<Sample>& batch, const RunContext& ctx) override;
  std::map<std::string, at::Tensor> state() const override;
  void load_state(const std::map<std::string, at::Tensor>& tensors) override;
  nlohmann::json provenance() const override {
    return bank_.defined() ? extractor_.provenance(seed_) : nullptr;
  }

 private:
  /// Patch features of a batch: [B*h*w, D] (float32) and the grid size.
  at::Tensor embed(const at::Tensor& x, int64_t* h, int64_t* w) const;
  nlohmann::json config_;
  feat::FeatureExtractor extractor_;
  std::vector<std::string> layers_;
  int pool_size_, target_dim_, num_neighbors_;
  double ratio_, sigma_;
  int64_t proj_dim_;
  std::uint64_t seed_ = 0;
  at::Tensor bank_;  ///< [M,D] float32, on the backbone's device while predicting
};

}  // namespace adbench
