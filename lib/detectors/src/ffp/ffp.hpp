#pragma once
// ffp: Liu et al., "Future Frame Prediction for Anomaly Detection -- A New Baseline", CVPR 2018,
// without the optical-flow and adversarial terms: a U-Net predicts frame i from frames i-t..i-1
// stacked along channels; trained with the intensity (L2) and gradient losses; a frame's score is
// its inverted PSNR. Defaults follow the official code (StevenLiuWen/ano_pred_cvpr2018); see
// README.md beside this file for what is and is not faithful.
#include "video_common/video_detector.hpp"

namespace adbench {

class Ffp final : public video::VideoPredictionDetector {
 public:
  explicit Ffp(const nlohmann::json& overrides);
  static const SettingsTable& settings();
  static nlohmann::json default_config() { return defaults_of(settings()); }

 private:
  Ffp(nlohmann::json merged, int);
};

}  // namespace adbench
