// ffp on `adbench synth --kind video` through the ipad adapter and the frame protocol: the numbers
// the CLI gives (adbench eval --detector ffp --dataset ipad --set height=32 --set width=32
// --set 'widths=[8,16,32]' --set iterations=1500, seed 0), pinned. Issue 9 asks for a gate of frame
// AUROC >= 0.85 and >= untrained + 0.2 on this set; measured here: trained 0.716, untrained 0.626,
// so that gate is NOT met yet (results/bench/video.md, the issue stays open). This test pins
// what we have so that a change in the detector, the generator or the protocol shows.
#include <catch2/catch.hpp>

#include "adbench/bench/evaluate.hpp"
#include "adbench/core/log.hpp"
#include "adbench/datasets/dataset.hpp"
#include "adbench/datasets/synth_video.hpp"
#include "test_util.hpp"

using namespace adbench;

namespace {

double frame_auroc(const CategoryData& data, Detector& det) {
  VideoPredictor vp;
  vp.context_frames = det.context_frames();
  vp.predict = [&det](const Sample& video, bool want_maps, const UnitSink& sink) {
    RunContext ctx;
    ctx.want_maps = want_maps;
    det.predict_units(video, ctx, sink);
  };
  CategoryResult r = evaluate_video_category(data, vp, EvalOptions{}, CommonOptions{}, nullptr);
  REQUIRE(r.levels.size() == 1);
  REQUIRE(r.levels[0].level == "frame");
  CHECK(r.levels[0].count("units") == 16 * (240 - 4));
  return *r.levels[0].metric("auroc");
}

}  // namespace

TEST_CASE("ffp on the synthetic video set: frame AUROC of trained and untrained networks (pinned)",
          "[video][gate]") {
  adbench::test::TempDir tmp("video-gate");
  write_synthetic_video_dataset(tmp / "syn", 0);
  CategoryData data = make_dataset_adapter("ipad")->load(tmp / "syn", "S01");
  REQUIRE(data.train.size() == 4);
  REQUIRE(data.test.size() == 16);
  register_builtin_detectors();
  const nlohmann::json small = {{"height", 32}, {"width", 32}, {"widths", {8, 16, 32}}};
  auto run = [&](nlohmann::json extra) {
    nlohmann::json cfg = small;
    for (const auto& [k, v] : extra.items()) cfg[k] = v;
    auto det = detector_registry().create("ffp", cfg);
    at::manual_seed(0);
    det->fit(data.train, RunContext{});
    return frame_auroc(data, *det);
  };
  const double untrained = run({{"iterations", 1}, {"lr", 1e-12}});
  const double trained = run({{"iterations", 1500}});
  spdlog::info("ffp synthetic video: frame AUROC untrained {:.4f}, trained {:.4f}", untrained, trained);
  CHECK(untrained == Approx(0.6256).margin(0.02));
  CHECK(trained == Approx(0.72).margin(0.03));  // CLI 0.7157, this test 0.7226 (threads)
  CHECK(trained >= untrained + 0.05);
}
