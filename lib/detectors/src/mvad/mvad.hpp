#pragma once
// mvad: He et al., "Learning Multi-view Anomaly Detection with Efficient Adaptive Selection"
// (official code: GitHub lewandofskee/MVAD). Reverse distillation over the 5 views of a sample: a
// frozen encoder (ResNet34; any backbone whose three tapped layers are at strides 4, 8, 16), MVAS
// cross-view blocks per level, a fused bottleneck and a de-ResNet34 decoder that reconstructs the
// encoder's features (mvad_net.hpp). Map: per level 1 - cos over channels, bilinear (align corners)
// to image_size, summed and / 9, Gaussian sigma; view score = the map's max; sample score = the max
// of its views. Trained with AdamW and gradient-norm clipping; checkpoints and --resume as the
// video detectors (common/training.hpp). README.md beside this file lists every choice.
#include <memory>

#include "adbench/detectors/detector.hpp"
#include "common/features.hpp"
#include "common/training.hpp"

namespace adbench {

namespace mvad {
class MvadNetImpl;
}

class Mvad final : public Detector {
 public:
  explicit Mvad(const nlohmann::json& overrides);
  ~Mvad() override;
  static const SettingsTable& settings();
  static nlohmann::json default_config() { return defaults_of(settings()); }

  std::string name() const override { return "mvad"; }
  Modality modality() const override { return Modality::MultiView; }
  nlohmann::json config() const override { return config_; }
  void fit(const std::vector<Sample>& train, const RunContext& ctx) override;
  std::vector<Prediction> predict(const std::vector<Sample>& batch, const RunContext& ctx) override;
  std::map<std::string, at::Tensor> state() const override;
  void load_state(const std::map<std::string, at::Tensor>& tensors) override;
  nlohmann::json provenance() const override { return net_ ? extractor_.provenance(seed_) : nullptr; }

  /// Mean training loss of each epoch of the last fit() (a resumed fit: its own epochs).
  const std::vector<double>& epoch_losses() const { return epoch_losses_; }

 private:
  /// The views of a batch of samples, [B*5, 3, S, S] normalised on the backbone's device; `sizes`
  /// (optional) receives each view's original size.
  at::Tensor views(std::span<const Sample> batch, std::vector<cv::Size>* sizes) const;
  std::vector<at::Tensor> encode(const at::Tensor& x) const;  ///< the frozen encoder's three levels
  void make_net(const std::vector<int64_t>& channels);
  /// Maps [B*5, S, S] (before smoothing) of a batch.
  at::Tensor raw_maps(const std::vector<at::Tensor>& t, const std::vector<at::Tensor>& s) const;
  nlohmann::json config_;
  feat::FeatureExtractor extractor_;
  std::vector<std::string> layers_;
  std::vector<int64_t> channels_;
  std::uint64_t seed_ = 0;
  std::shared_ptr<mvad::MvadNetImpl> net_;
  train::Adam adam_;
  std::vector<double> epoch_losses_;
};

}  // namespace adbench
