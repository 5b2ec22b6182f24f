#pragma once
// anomalyclip: Zhou, Pang, Tian, He, Chen, "AnomalyCLIP: Object-agnostic Prompt Learning for Zero-shot
// Anomaly Detection", ICLR 2024. Inference only, following the official code (zqhang/AnomalyCLIP,
// test.py): OpenAI CLIP ViT-L/14@336px at 518 px with the learned object-agnostic prompts of the
// official checkpoint (scripts/export_weights.py anomalyclip converts it).
//
// Text: "[SOS] ctx×12 object. [EOT]" and "[SOS] ctx×12 damaged object. [EOT]" from the checkpoint's
// stored token embeddings and learned contexts, with deep prompts (4 tokens) replacing rows 1..4 before
// text blocks 2..9; the two embeddings, normalised, are the normal and anomalous classes. Vision: DPAM
// (a second path of value-value attention, no MLP) in blocks 6..24 (the official DPAM_layer = 20
// replaces the last 19 blocks); the image score is softmax(cos/0.07)[anomalous] of the class token of
// the ordinary path projected *without* ln_post (as the official code does); the map is, per patch of
// block 24's DPAM path (ln_post, proj), (p_anomalous + 1 − p_normal) / 2, bilinear to 518 × 518,
// Gaussian σ = 4, then to the image's own size.
#include <memory>
#include <opencv2/core.hpp>
#include <span>

#include "adbench/detectors/detector.hpp"

namespace adbench {

class ClipModel;  // adbench/backbones/clip.hpp, included by the .cpp only

namespace anomalyclip {

/// The learned prompts of a converted checkpoint, checked.
struct Prompts {
  at::Tensor embeddings;         ///< [2, L, W]: normal, anomalous token embeddings with the contexts
  at::Tensor eot;                ///< [2] int64: the end token's position (argmax of the token ids)
  std::vector<at::Tensor> deep;  ///< the deep text prompts, [t, W] each
  int64_t n_ctx = 0;             ///< learned context tokens per prompt
};
/// Reads a file written by scripts/export_weights.py anomalyclip. InputError naming the file for a
/// missing or misshapen tensor, or one it does not know.
Prompts load_prompts(const std::filesystem::path& file);
/// The map value of patch embeddings [..., E] against the text classes [2, E] (normal, anomalous):
/// (p_anomalous + 1 − p_normal) / 2 with p = softmax(cos / temperature).
at::Tensor map_scores(const at::Tensor& patches, const at::Tensor& text, double temperature);

}  // namespace anomalyclip

class AnomalyClip final : public Detector {
 public:
  explicit AnomalyClip(const nlohmann::json& overrides);
  ~AnomalyClip() override;  // where ClipModel is complete
  static const SettingsTable& settings();
  static nlohmann::json default_config() { return defaults_of(settings()); }

  std::string name() const override { return "anomalyclip"; }
  nlohmann::json config() const override { return config_; }
  /// Encodes the two learned prompts. Zero-shot: the training images are not used.
  void fit(const std::vector<Sample>& train, const RunContext& ctx) override;
  std::vector<Prediction> predict(const std::vector<Sample>& batch, const RunContext& ctx) override;
  std::map<std::string, at::Tensor> state() const override;
  void load_state(const std::map<std::string, at::Tensor>& tensors) override;
  nlohmann::json provenance() const override;

  /// The image scores [B] and (with `maps`) the summed patch maps [B, g, g] of preprocessed images
  /// [B, 3, S, S]: what predict computes before resizing and smoothing.
  std::pair<at::Tensor, at::Tensor> score(const at::Tensor& images, bool maps) const;

 private:
  void load_model(at::Device device) const;

  nlohmann::json config_;
  std::vector<int64_t> features_;
  int64_t dpam_layer_ = 20;
  double temperature_ = 0.07, sigma_ = 4;
  mutable std::unique_ptr<ClipModel> model_;
  mutable nlohmann::json provenance_;
  mutable int64_t dpam_from_ = 0;  ///< first DPAM block, 1-based (set by load_model)
  at::Tensor text_;                ///< [2, E]: normal, anomalous
};

}  // namespace adbench
