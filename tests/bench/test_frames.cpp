// The frame-level protocol of videos (bench/frames.hpp) and the video evaluation driver with a
// fake predictor. Reference values: tests/bench/make_frame_reference.py (scikit-learn roc_auc_score,
// average_precision_score, precision_recall_curve; EER by scipy brentq on interp1d of roc_curve).
#include <catch2/catch.hpp>
#include <cmath>

#include "adbench/bench/evaluate.hpp"
#include "adbench/bench/frames.hpp"
#include "adbench/core/error.hpp"
#include "adbench/core/video.hpp"

using namespace adbench;

namespace {

std::vector<VideoFrameScores> reference_videos() {
  return {{"01", {9.0, 9.0, 0.10, 0.40, 0.35, 0.80, 0.90, 0.20}, {1, 1, 0, 0, 0, 1, 1, 0}},
          {"02", {0.0, 0.0, 2.0, 2.5, 7.0, 6.0, 2.2, 2.1, 2.4}, {0, 0, 0, 0, 1, 1, 0, 1, 0}},
          {"03", {5.0, 5.0, 1.0, 1.5, 1.2, 1.1}, {0, 0, 0, 0, 0, 0}}};
}

double metric(const LevelResult& l, const std::string& key) {
  auto v = l.metric(key);
  REQUIRE(v.has_value());
  return *v;
}

std::string input_error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const InputError& e) {
    return e.what();
  }
  return "(no error)";
}

/// A scene of videos whose units are named frames (no files: no truth, no writer).
CategoryData scene_of(const std::vector<VideoFrameScores>& videos) {
  CategoryData d;
  d.dataset = "test";
  d.category = "S01";
  d.modality = Modality::Video;
  for (const auto& v : videos) {
    Sample s;
    s.category = "S01";
    s.split = "test";
    s.stem = s.rel_path = v.video;
    s.modality = Modality::Video;
    for (std::size_t i = 0; i < v.labels.size(); ++i) {
      s.units.push_back(
          Unit{"/nonexistent/" + v.video + "/" + frame_name(i) + ".png", v.labels[i], {}, frame_name(i)});
      s.label = s.label || v.labels[i];
    }
    s.defect = s.label ? "anomalous" : "good";
    d.test.push_back(s);
  }
  return d;
}

}  // namespace

TEST_CASE("frame level: per-video min-max, first K frames dropped, scene concatenated (sklearn reference)") {
  FrameOptions o;
  LevelResult l = frame_level(reference_videos(), 2, o, {});
  CHECK(l.level == "frame");
  CHECK(metric(l, "auroc") == Approx(0.8).margin(1e-12));
  CHECK(metric(l, "ap") == Approx(0.6480952380952381).margin(1e-12));
  CHECK(metric(l, "f1_max") == Approx(0.8).margin(1e-12));
  CHECK(metric(l, "eer") == Approx(0.2).margin(1e-12));
  CHECK(metric(l, "auroc_raw") == Approx(0.6833333333333333).margin(1e-12));
  CHECK(metric(l, "auroc_macro") == Approx(0.875).margin(1e-12));
  CHECK(l.count("units") == 17);
  CHECK(l.count("anomalous") == 5);
  CHECK(l.count("videos") == 3);
  CHECK(l.count("skipped_frames") == 6);
  CHECK(l.count("constant_videos") == 0);
  REQUIRE(l.warnings.size() == 1);
  CHECK(l.warnings[0] == "1 video of 3 holds one class only and is left out of auroc_macro");
}

TEST_CASE("frame level: --frame-norm none, --score-direction lower, no skip") {
  FrameOptions raw;
  raw.per_video_norm = false;
  LevelResult l = frame_level(reference_videos(), 2, raw, {});
  CHECK(metric(l, "auroc") == Approx(0.6833333333333333).margin(1e-12));
  CHECK(metric(l, "eer") == Approx(0.4).margin(1e-12));
  CHECK(metric(l, "auroc_raw") == metric(l, "auroc"));

  FrameOptions lower;
  lower.lower_is_anomalous = true;
  LevelResult f = frame_level(reference_videos(), 2, lower, {});
  CHECK(metric(f, "auroc") == Approx(0.2).margin(1e-12));
  CHECK(metric(f, "auroc_raw") == Approx(0.31666666666666665).margin(1e-12));

  LevelResult all = frame_level(reference_videos(), 0, FrameOptions{}, {});
  CHECK(metric(all, "auroc") == Approx(0.7857142857142857).margin(1e-12));
  CHECK(all.count("units") == 23);
}

TEST_CASE("frame level: a constant video gets 0.5 and a warning; non-finite scores are errors") {
  std::vector<VideoFrameScores> v = {{"01", {1, 2, 3, 4}, {0, 0, 1, 1}}, {"02", {7, 7, 7}, {0, 1, 0}}};
  LevelResult l = frame_level(v, 0, FrameOptions{}, {});
  CHECK(l.count("constant_videos") == 1);
  CHECK(std::find(l.warnings.begin(), l.warnings.end(),
                  "1 video with all frame scores equal: normalised to 0.5 (the reference code divides by "
                  "zero)") != l.warnings.end());
  // normalised: 0, 1/3, 2/3, 1 and 0.5 x 3: positives 2/3, 1, 0.5 -> AUROC by hand
  // negatives 0, 1/3, 0.5, 0.5 : pairs (pos > neg) + ties/2 over 3 x 4
  // 2/3: beats 0, 1/3, 0.5, 0.5 -> 4; 1: 4; 0.5: beats 0, 1/3 (2) + 2 ties -> 3  => 11 / 12
  CHECK(metric(l, "auroc") == Approx(11.0 / 12.0).margin(1e-12));

  std::vector<VideoFrameScores> nan = {{"video 07", {std::nan(""), 0.5, std::nan("")}, {0, 1, 0}}};
  CHECK(input_error_of([&] { frame_level(nan, 1, FrameOptions{}, {}); }) ==
        "video 07: frame 2 has no finite score (nan)");
  CHECK(input_error_of([&] { frame_level(nan, 0, FrameOptions{}, {}); }) ==
        "video 07: frame 0 has no finite score (nan); frames without a prediction need --skip-frames");
  CHECK(input_error_of([&] { frame_level(nan, 5, FrameOptions{}, {}); }) ==
        "no frame to evaluate: every video is shorter than --skip-frames 5 + 1");
}

TEST_CASE("equal error rate: interpolated ROC crossing, ties, one class") {
  // scipy brentq gives 0.4166666666666858 (its tolerance); the exact crossing is 5/12.
  std::vector<double> s{0.9, 0.9, 0.5, 0.5, 0.5, 0.1, 0.1, 0.7};
  std::vector<int> y{1, 0, 1, 0, 0, 0, 1, 1};
  CHECK(*equal_error_rate(s, y) == Approx(5.0 / 12.0).margin(1e-12));
  CHECK(*equal_error_rate({0.1, 0.2, 0.8, 0.9}, {0, 0, 1, 1}) == 0.0);
  CHECK(*equal_error_rate({0.9, 0.8, 0.2, 0.1}, {0, 0, 1, 1}) == 1.0);
  CHECK_FALSE(equal_error_rate({0.1, 0.2}, {1, 1}).has_value());
}

TEST_CASE("video driver: frames streamed in order, the detector's window skipped unless --skip-frames") {
  CategoryData scene = scene_of(reference_videos());
  VideoPredictor vp;
  vp.context_frames = 2;
  vp.predict = [](const Sample& video, bool want_maps, const UnitSink& sink) {
    REQUIRE_FALSE(want_maps);  // no masks, no writer
    for (const auto& v : reference_videos())
      if (v.video == video.stem)
        for (std::size_t i = 0; i < v.scores.size(); ++i) sink(i, UnitOutput{at::Tensor(), v.scores[i]});
  };
  CommonOptions common;
  EvalOptions eval;
  CategoryResult r = evaluate_video_category(scene, vp, eval, common, nullptr);
  REQUIRE(r.levels.size() == 1);
  CHECK(r.levels[0].level == "frame");
  CHECK(metric(r.levels[0], "auroc") == Approx(0.8).margin(1e-12));
  CHECK(r.test == 3);

  eval.frames.skip_frames = 0;
  r = evaluate_video_category(scene, vp, eval, common, nullptr);
  CHECK(metric(r.levels[0], "auroc") == Approx(0.7857142857142857).margin(1e-12));

  // A predictor that hands frames out of order is a bug (InternalError), not bad input.
  vp.predict = [](const Sample& video, bool, const UnitSink& sink) {
    sink(1, UnitOutput{at::Tensor(), 0.0});
  };
  CHECK_THROWS_AS(evaluate_video_category(scene, vp, eval, common, nullptr), InternalError);
}
