#pragma once
// variation_model: the per-pixel baseline of the MVTec AD paper (Bergmann et al., CVPR 2019,
// "variation model"). Normal training images are resized to a fixed size; each pixel and channel
// gets a mean and a standard deviation (population, floored at std_floor); the anomaly map of a
// test image is the largest |z| over its channels, resized back to the image; the image score is
// the map's maximum.
#include "adbench/detectors/detector.hpp"

namespace adbench {

class VariationModel final : public Detector {
 public:
  explicit VariationModel(const nlohmann::json& overrides);
  /// Every setting with its default, range and meaning.
  static const SettingsTable& settings();
  static nlohmann::json default_config() { return defaults_of(settings()); }

  std::string name() const override { return "variation_model"; }
  nlohmann::json config() const override { return config_; }
  void fit(const std::vector<Sample>& train, const RunContext& ctx) override;
  std::vector<Prediction> predict(const std::vector<Sample>& batch, const RunContext& ctx) override;
  std::map<std::string, at::Tensor> state() const override;
  void load_state(const std::map<std::string, at::Tensor>& tensors) override;

 private:
  at::Tensor load_resized(const Sample& s, int* height, int* width) const;
  nlohmann::json config_;
  int size_;
  double std_floor_;
  at::Tensor mean_, std_;  ///< [3,S,S] float32
};

}  // namespace adbench
