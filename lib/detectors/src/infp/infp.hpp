#pragma once
// infp: INFP (IJCAI 2025), video anomaly detection by frame prediction with multi-feature fusion
// (TSM + FFT branch + context convolution) and a trajectory filter, on the shared frame-prediction
// machinery (video_common). The network and loss are in infp_net / infp_loss; README.md beside this
// file lists what follows the official code and what is a setting.
#include "video_common/video_detector.hpp"

namespace adbench {

class Infp final : public video::VideoPredictionDetector {
 public:
  explicit Infp(const nlohmann::json& overrides);
  static const SettingsTable& settings();
  static nlohmann::json default_config() { return defaults_of(settings()); }

 private:
  Infp(nlohmann::json merged, int);
};

}  // namespace adbench
