#include "infp/infp.hpp"

#include "infp/infp_net.hpp"

namespace adbench {

const SettingsTable& Infp::settings() {
  static const SettingsTable table = [] {
    // The official training configuration (INFP code): 224 x 288 bicubic, 4 input frames, clips
    // starting at every 2nd frame, Adam 2e-4 halved at epochs 100 and 120, 150 epochs.
    video::TrainingDefaults d;
    d.height = 224;
    d.width = 288;
    d.frames = 4;
    d.clip_stride = 2;
    d.resize = "bicubic";
    d.batch = 2;
    d.epochs = 150;
    d.iterations = 0;
    d.lr = 2e-4;
    d.lr_milestones = {100, 120};
    d.lr_gamma = 0.5;
    SettingsTable t = video::training_settings(d);
    for (auto& row : infp::infp_net_settings()) t.push_back(row);
    return t;
  }();
  return table;
}

namespace {
nlohmann::json infp_config(const nlohmann::json& overrides) {
  return merge_config("infp", Infp::settings(), overrides);
}
}  // namespace

Infp::Infp(const nlohmann::json& overrides) : Infp(infp_config(overrides), 0) {}

Infp::Infp(nlohmann::json config, int)
    : VideoPredictionDetector(
          "infp", config,
          [](const nlohmann::json& c) -> std::shared_ptr<video::FramePredictor> {
            return infp::make_infp_net(c);
          },
          8) {}

}  // namespace adbench
