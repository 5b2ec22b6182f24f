#pragma once
// winclip: Jeong et al., "WinCLIP: Zero-/Few-Shot Anomaly Classification and Segmentation", CVPR 2023.
// Inference only, from CLIP weights the user converts (scripts/export_weights.py clip); the paper's
// model is OpenCLIP ViT-B-16-plus-240 (laion400m_e31). There is no official code; the defaults follow
// the paper and anomalib's reproduction (README.md lists each step and where it comes from).
//
// Zero-shot: the compositional prompt ensemble (7 normal and 4 anomalous states × 21 templates) gives
// two class embeddings (the mean of the raw text embeddings); a visual embedding scores
// softmax(cos / 0.07)[anomalous]. The image is scored on its class token, and every 2×2 and 3×3
// window of patches (stride 1) on the class token of a pass over [class, window tokens]; per patch,
// the harmonic mean of the scores of the windows that cover it; the map is the harmonic mean of the
// image score and the per-scale maps. Few-shot (WinCLIP+, `shots` > 0): the same scales scored by the
// smallest cosine distance (1 − cos) / 2 to the reference images' embeddings (patch tokens after
// ln_post, window embeddings), averaged over the scales; the map and the image score average the
// zero- and few-shot parts.
#include <memory>
#include <opencv2/core.hpp>
#include <span>
#include <utility>

#include "adbench/detectors/detector.hpp"

namespace adbench {

class ClipModel;  // adbench/backbones/clip.hpp, included by the .cpp only

namespace winclip {
/// The normal and anomalous prompts for `object`: each state × each template, state-major.
std::pair<std::vector<std::string>, std::vector<std::string>> prompt_ensemble(const std::string& object);
/// Per patch, the harmonic mean of the scores of the windows covering it (0 where none does):
/// scores [B, K] (> 0), windows [K, n] patch indices in [0, n_patches) -> [B, n_patches].
at::Tensor harmonic_aggregation(const at::Tensor& scores, const at::Tensor& windows, int64_t n_patches);
/// The smallest cosine distance (1 − cos) / 2 of every row of e [B, K, D] to the rows of ref [R, D]:
/// [B, K].
at::Tensor visual_association(const at::Tensor& e, const at::Tensor& ref);
}  // namespace winclip

class WinClip final : public Detector {
 public:
  explicit WinClip(const nlohmann::json& overrides);
  ~WinClip() override;  // where ClipModel is complete
  static const SettingsTable& settings();
  static nlohmann::json default_config() { return defaults_of(settings()); }

  std::string name() const override { return "winclip"; }
  nlohmann::json config() const override { return config_; }
  /// Encodes the prompts for the category (or `object_name`); with `shots` > 0 also the seeded
  /// choice of reference images. No training.
  void fit(const std::vector<Sample>& train, const RunContext& ctx) override;
  std::vector<Prediction> predict(const std::vector<Sample>& batch, const RunContext& ctx) override;
  std::map<std::string, at::Tensor> state() const override;
  void load_state(const std::map<std::string, at::Tensor>& tensors) override;
  nlohmann::json provenance() const override;

 private:
  /// What one batch of images gives.
  struct Encoded {
    at::Tensor image;                 ///< [B, E] class-token embedding
    at::Tensor patches;               ///< [B, N, W] patch tokens after ln_post (few-shot only)
    std::vector<at::Tensor> windows;  ///< per scale [B, K_s, E]
  };
  void load_model(at::Device device) const;
  Encoded encode(const at::Tensor& x, bool want_patches) const;

  nlohmann::json config_;
  std::vector<int64_t> scales_;
  int64_t shots_ = 0, window_batch_ = 0;
  double temperature_ = 0.07, sigma_ = 0;
  mutable std::unique_ptr<ClipModel> model_;
  mutable nlohmann::json provenance_;
  mutable std::vector<at::Tensor> masks_;  ///< per scale [K_s, s²] patch indices
  mutable int input_size_ = 0;             ///< images are resized to this square (set by load_model)
  std::string object_;
  at::Tensor text_;                      ///< [2, E]: normal, anomalous
  at::Tensor ref_patches_;               ///< [shots·N, W]
  std::vector<at::Tensor> ref_windows_;  ///< per scale [shots·K_s, E]
};

}  // namespace adbench
