#pragma once
// Image detectors on multi-view samples (issue 10's per-view baselines): each view of a sample is
// an image for the wrapped detector. One model over every view by default; with per_view_banks,
// one model per camera (unit name: C1..C5), each trained on that camera's views only.
#include <functional>
#include <memory>

#include "adbench/detectors/detector.hpp"

namespace adbench {

/// The setting a per-view detector adds to its image detector's ("--set per_view_banks=true").
inline constexpr const char* kPerViewBanks = "per_view_banks";

class PerViewDetector : public Detector {
 public:
  /// `make_inner` builds one image detector with the user's settings (without per_view_banks).
  PerViewDetector(std::function<std::unique_ptr<Detector>()> make_inner, bool per_view_banks);
  std::string name() const override;
  Modality modality() const override { return Modality::MultiView; }
  /// The image detector's configuration plus "per_view_banks".
  nlohmann::json config() const override;
  /// Views of every training sample (all of them, or one camera's per bank). InputError "no
  /// training images ..." from the image detector; with banks, "view C3: ..." prefixes its errors.
  void fit(const std::vector<Sample>& train, const RunContext& ctx) override;
  /// One output per view (the image detector's map and score); the sample score is the maximum of
  /// its views' (evaluation aggregates view scores itself, see EvalOptions::sample_agg).
  std::vector<Prediction> predict(const std::vector<Sample>& batch, const RunContext& ctx) override;
  /// The image detector's tensors; with banks, each prefixed "<view>/" ("C1/memory_bank").
  std::map<std::string, at::Tensor> state() const override;
  void load_state(const std::map<std::string, at::Tensor>& tensors) override;
  nlohmann::json provenance() const override;

 private:
  Detector& bank(const std::string& view);
  std::function<std::unique_ptr<Detector>()> make_inner_;
  bool per_view_banks_;
  std::unique_ptr<Detector> shared_;                        ///< without banks
  std::map<std::string, std::unique_ptr<Detector>> banks_;  ///< view name -> model
};

/// Splits "per_view_banks" off `overrides` (InputError unless it is a boolean) and builds the
/// wrapper around the registered image detector `name` with the rest.
std::unique_ptr<Detector> make_per_view_detector(const std::string& name, nlohmann::json overrides);

}  // namespace adbench
