// End-to-end video through the adbench binary (issue 9): `synth --kind video`, `eval --pred` on
// frame-score files (level frame, the protocol's options, length errors), `--label-mismatch`, and
// the round trip detector -> `--pred-out` -> `eval --pred`.
#include <catch2/catch.hpp>
#include <fstream>

#include "adbench/core/npy.hpp"
#include "cli_fixtures.hpp"

namespace fs = std::filesystem;
using namespace adbench::test;

namespace {

/// `adbench synth --kind video` once per process (seed 0: scene S01, 16 test videos of 240 frames).
const fs::path& video_root() {
  static TempDir tmp("video-cli");
  static const fs::path root = [] {
    const fs::path r = tmp / "syn";
    const CommandResult c = run_adbench("--quiet synth --kind video --out " + q(r));
    INFO(c.err);
    REQUIRE(c.exit_code == 0);
    return r;
  }();
  return root;
}

std::vector<double> labels_of(const fs::path& npy) {
  const at::Tensor t = adbench::read_npy(npy).reshape({-1}).to(at::kDouble).contiguous();
  return std::vector<double>(t.data_ptr<double>(), t.data_ptr<double>() + t.numel());
}

/// PRED/S01/test/<VV>.npy for every test video: score(t, label) per frame.
void write_frame_scores(const fs::path& pred, const std::function<double(int, double)>& score) {
  fs::create_directories(pred / "S01" / "test");
  for (int v = 1; v <= 16; ++v) {
    const std::string vv = (v < 10 ? "0" : "") + std::to_string(v);
    const std::vector<double> y = labels_of(video_root() / "S01" / "test_label" / ("0" + vv + ".npy"));
    REQUIRE(y.size() == 240);
    std::vector<float> s;
    for (std::size_t t = 0; t < y.size(); ++t)
      s.push_back(static_cast<float>(score(static_cast<int>(t), y[t])));
    adbench::write_npy(pred / "S01" / "test" / (vv + ".npy"),
                       at::from_blob(s.data(), {static_cast<std::int64_t>(s.size())}, at::kFloat).clone());
  }
}

double frame_metric(const nlohmann::json& r, const std::string& name) {
  for (const auto& l : r.at("categories").at(0).at("levels"))
    if (l.at("level") == "frame") return l.at("metrics").at(name).get<double>();
  FAIL("no frame level");
  return 0;
}

}  // namespace

TEST_CASE("video eval --pred: frame scores, score direction, skipped frames", "[cli][video]") {
  TempDir tmp("video-pred");
  // Scores = labels: after per-video min-max anomalous frames are 1, normal ones 0, and the
  // all-normal video 16 (all equal) 0.5 with a warning; so AUROC 1 and EER 0.
  write_frame_scores(tmp / "good", [](int, double y) { return y * 10 + 3; });
  const fs::path out = tmp / "good.json";
  CommandResult r = run_adbench("--quiet eval --pred " + q(tmp / "good") + " --dataset ipad --root " +
                                q(video_root()) + " --category S01 --out " + q(out));
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  nlohmann::json j = read_json(out);
  CHECK(frame_metric(j, "auroc") == 1.0);
  CHECK(frame_metric(j, "eer") == 0.0);
  const auto& level = j["categories"][0]["levels"][0];
  CHECK(level["counts"]["units"] == 16 * 240);  // --pred: nothing skipped unless asked
  CHECK(level["counts"]["constant_videos"] == 1);
  CHECK(j["options"]["skip_frames"] == "auto");  // the effective count: counts.skipped_frames
  CHECK(level["counts"]["skipped_frames"] == 0);

  // PSNR-like scores (higher = more normal) with --score-direction lower, and --skip-frames 4.
  write_frame_scores(tmp / "psnr", [](int, double y) { return 40 - y * 10; });
  r = run_adbench("--quiet eval --pred " + q(tmp / "psnr") + " --dataset ipad --root " + q(video_root()) +
                  " --category S01 --score-direction lower --skip-frames 4 --out " + q(tmp / "psnr.json"));
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  j = read_json(tmp / "psnr.json");
  CHECK(frame_metric(j, "auroc") == 1.0);
  CHECK(j["categories"][0]["levels"][0]["counts"]["units"] == 16 * 236);
  CHECK(j["options"]["score_direction"] == "lower");
  CHECK(j["options"]["skip_frames"] == 4);
  // The same scores read as "higher = more anomalous" rank every anomaly last.
  r = run_adbench("--quiet eval --pred " + q(tmp / "psnr") + " --dataset ipad --root " + q(video_root()) +
                  " --category S01 --out " + q(tmp / "inverted.json"));
  REQUIRE(r.exit_code == 0);
  CHECK(frame_metric(read_json(tmp / "inverted.json"), "auroc") == 0.0);
}

TEST_CASE("video eval --pred: a score file of the wrong length is one line, exit 2, nothing written",
          "[cli][video]") {
  TempDir tmp("video-pred-bad");
  write_frame_scores(tmp / "p", [](int, double y) { return y; });
  const fs::path bad = tmp / "p" / "S01" / "test" / "07.npy";
  adbench::write_npy(bad, at::zeros({239}));
  const fs::path out = tmp / "r.json", csv = tmp / "board.csv";
  const CommandResult r =
      run_adbench("--quiet eval --pred " + q(tmp / "p") + " --dataset ipad --root " + q(video_root()) +
                  " --category S01 --out " + q(out) + " --csv " + q(csv));
  CHECK(r.exit_code == 2);
  CHECK(r.err == "adbench: error: " + bad.string() + ": 239 frame scores but the video has 240 frames\n");
  CHECK(!fs::exists(out));
  CHECK(!fs::exists(csv));
}

TEST_CASE("video: --label-mismatch error (default), truncate and skip, recorded in the result",
          "[cli][video]") {
  TempDir tmp("video-labels");
  const fs::path root = tmp / "syn";
  copy_tree(video_root(), root);
  const fs::path lab = root / "S01" / "test_label" / "003.npy";
  std::vector<double> y = labels_of(lab);
  y.resize(230);
  adbench::write_npy(lab, at::tensor(y, at::kDouble));
  write_frame_scores(tmp / "p", [](int, double y) { return y; });
  const std::string base =
      "--quiet eval --pred " + q(tmp / "p") + " --dataset ipad --root " + q(root) + " --category S01 --out ";
  CommandResult r = run_adbench(base + q(tmp / "e.json"));
  CHECK(r.exit_code == 2);
  CHECK(r.err == "adbench: error: " + lab.string() + ": 230 labels for the 240 frames of test video 03 (" +
                     (root / "S01" / "testing" / "frames" / "03").string() +
                     "); --label-mismatch truncate or skip accepts it\n");
  CHECK(!fs::exists(tmp / "e.json"));

  // skip: video 03 is left out (its score file is not read), the others evaluated.
  r = run_adbench("--label-mismatch skip " + base + q(tmp / "s.json"));
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  nlohmann::json j = read_json(tmp / "s.json");
  CHECK(j["options"]["label_mismatch"] == "skip");
  CHECK(j["categories"][0]["levels"][0]["counts"]["videos"] == 15);
  CHECK(j["categories"][0]["levels"][0]["counts"]["units"] == 15 * 240);
  bool warned = false;
  for (const auto& w : j["categories"][0]["warnings"])
    warned = warned || w == "category S01: label count differs from frame count in 1 test video: 03 (230 "
                            "labels, 240 frames); left out (--label-mismatch skip)";
  CHECK(warned);
  // truncate: video 03 has 230 frames now, so its 240 scores no longer fit.
  r = run_adbench("--label-mismatch truncate " + base + q(tmp / "t.json"));
  CHECK(r.exit_code == 2);
  CHECK(r.err == "adbench: error: " + (tmp / "p" / "S01" / "test" / "03.npy").string() +
                     ": 240 frame scores but the video has 230 frames\n");
}

TEST_CASE("video round trip: ffp --pred-out, then eval --pred gives the same frame metrics", "[cli][video]") {
  TempDir tmp("video-roundtrip");
  const std::string small =
      " --set height=32 --set width=32 --set 'widths=[8,16,32]' --set iterations=20 --set lr=0.001";
  CommandResult r = run_adbench("--quiet --threads 1 eval --detector ffp --dataset ipad --root " +
                                q(video_root()) + " --category S01" + small + " --out " +
                                q(tmp / "det.json") + " --pred-out " + q(tmp / "P"));
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  REQUIRE(fs::exists(tmp / "P" / "S01" / "test" / "01.npy"));
  REQUIRE(fs::exists(tmp / "P" / "S01" / "test" / "01" / "0004.tiff"));
  CHECK(!fs::exists(tmp / "P" / "S01" / "test" / "01" / "0003.tiff"));  // no prediction before frame t
  r = run_adbench("--quiet eval --pred " + q(tmp / "P") + " --dataset ipad --root " + q(video_root()) +
                  " --category S01 --out " + q(tmp / "pred.json"));
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  const nlohmann::json a = read_json(tmp / "det.json"), b = read_json(tmp / "pred.json");
  const auto& la = a["categories"][0]["levels"][0];
  const auto& lb = b["categories"][0]["levels"][0];
  CHECK(la["counts"]["units"] == 16 * 236);  // prediction.json's skip_frames = 4
  CHECK(lb["counts"]["units"] == la["counts"]["units"]);
  for (const char* m : {"auroc", "ap", "f1_max", "eer", "auroc_raw", "auroc_macro"}) {
    CAPTURE(m);
    CHECK(lb["metrics"][m].get<double>() == Approx(la["metrics"][m].get<double>()).epsilon(1e-6));
  }
  // The written scores are the -PSNR the detector scored: their AUROC is more than chance.
  CHECK(la["metrics"]["auroc"].get<double>() > 0.55);
}
