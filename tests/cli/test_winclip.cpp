// winclip (issue 13) without real CLIP weights: the prompt ensemble, class scores, harmonic
// aggregation and visual association on small inputs worked out by hand; the detector on a tiny
// seeded random CLIP (few-shot on a reference image halves the zero-shot map exactly, state round
// trip); and `adbench eval --detector winclip` end to end on the synthetic data (no AUROC claim).
#include <catch2/catch.hpp>
#include <chrono>
#include <iostream>
#include <opencv2/imgcodecs.hpp>

#include "adbench/backbones/clip.hpp"
#include "adbench/backbones/clip_tokenizer.hpp"
#include "adbench/core/error.hpp"
#include "adbench/core/safetensors.hpp"
#include "cli_fixtures.hpp"
#include "winclip/winclip.hpp"

namespace fs = std::filesystem;
using namespace adbench;
using namespace adbench::test;

namespace {

/// A tiny CLIP (vision 64 wide, 2 blocks, patch 16 at 64 px: a 4 x 4 grid; text 64 wide, 2 blocks,
/// embed 32; QuickGELU) with seeded random weights, written as scripts/export_weights.py clip would.
fs::path tiny_clip(const fs::path& dir) {
  ClipConfig c;
  c.vision = {64, 2, 2};
  c.patch = 16, c.image_size = 64;
  c.text = {64, 2, 2};
  c.embed_dim = 32;
  torch::manual_seed(7);
  ClipModel m(c);
  std::map<std::string, at::Tensor> t;
  for (const auto& p : m->named_parameters()) t[p.key()] = p.value().detach().clone();
  const fs::path file = dir / "tiny_clip.safetensors";
  write_safetensors(file, t, {{"activation", "quick_gelu"}, {"vision_heads", "2"}, {"text_heads", "2"}});
  return file;
}

std::vector<Sample> images(const fs::path& dir, const std::string& category, int n, int seed) {
  std::vector<Sample> out;
  cv::RNG rng(seed);
  for (int i = 0; i < n; ++i) {
    cv::Mat img(60, 80, CV_8UC3);
    rng.fill(img, cv::RNG::UNIFORM, 0, 256);
    const fs::path p = dir / (category + std::to_string(seed) + "_" + std::to_string(i) + ".png");
    REQUIRE(cv::imwrite(p.string(), img));
    Sample s = Sample::single(Modality::Image, p);
    s.category = category;
    s.stem = p.stem().string();
    out.push_back(s);
  }
  return out;
}

}  // namespace

TEST_CASE("winclip prompt ensemble: 7 x 21 normal and 4 x 21 anomalous prompts", "[winclip]") {
  const auto [normal, anomalous] = winclip::prompt_ensemble("metal nut");
  REQUIRE(normal.size() == 147);
  REQUIRE(anomalous.size() == 84);
  CHECK(normal[0] == "a cropped photo of the metal nut.");
  CHECK(normal[21] == "a cropped photo of the flawless metal nut.");
  CHECK(normal[146] == "a photo of a metal nut without damage for anomaly detection.");
  CHECK(anomalous[0] == "a cropped photo of the damaged metal nut.");
  CHECK(anomalous[7] == "a jpeg corrupted photo of the damaged metal nut.");
  CHECK(anomalous[8] == anomalous[7]);  // the paper's list repeats this template
  CHECK(anomalous[83] == "a photo of a metal nut with damage for anomaly detection.");
}

TEST_CASE("winclip class scores, harmonic aggregation and visual association on known inputs", "[winclip]") {
  const at::Tensor e = at::tensor({1.f, 0.f, 0.f, 0.f, 1.f, 0.f}).view({2, 3});
  const at::Tensor text = at::tensor({0.f, 1.f, 0.f, 2.f, 2.f, 0.f}).view({2, 3});  // norms do not matter
  // cos = [0, 1/sqrt 2] and [1, 1/sqrt 2]; softmax with temperature 1.
  const at::Tensor s = winclip::class_scores(e, text, 1.0);
  const double a = 1.0 / (1.0 + std::exp(std::sqrt(0.5))),
               b = std::exp(1.0) / (std::exp(1.0) + std::exp(std::sqrt(0.5)));
  CHECK(s[0][0].item<double>() == Approx(a).epsilon(1e-6));
  CHECK(s[0][1].item<double>() == Approx(1 - a).epsilon(1e-6));
  CHECK(s[1][0].item<double>() == Approx(b).epsilon(1e-6));
  // Temperature 0.5 doubles the logits.
  CHECK(winclip::class_scores(e, text, 0.5)[0][0].item<double>() ==
        Approx(1.0 / (1.0 + std::exp(2 * std::sqrt(0.5)))).epsilon(1e-6));

  // A 3 x 3 grid, its four 2 x 2 windows scored 1, 0.75, 0.5, 0.25: the centre patch is under all four
  // (4 / (1 + 4/3 + 2 + 4) = 0.48), the corners under one each.
  const at::Tensor windows = clip_square_windows(3, 3, 2, 1);
  REQUIRE(windows.size(0) == 4);
  const at::Tensor m =
      winclip::harmonic_aggregation(at::tensor({1.f, 0.75f, 0.5f, 0.25f}).view({1, 4}), windows, 9);
  const std::vector<double> expect = {1, 6.0 / 7, 0.75, 2.0 / 3, 0.48, 0.375, 0.5, 1.0 / 3, 0.25};
  for (int i = 0; i < 9; ++i)
    CHECK(m[0][i].item<double>() == Approx(expect[static_cast<size_t>(i)]).epsilon(1e-6));
  // A patch no window covers (stride 2 on a 3 x 3 grid with 1 x 1 windows) gets 0.
  const at::Tensor sparse = clip_square_windows(3, 3, 1, 2);
  const at::Tensor ms = winclip::harmonic_aggregation(at::full({1, 4}, 0.5f), sparse, 9);
  CHECK(ms[0][0].item<double>() == 0.5);
  CHECK(ms[0][1].item<double>() == 0.0);

  // Smallest (1 - cos) / 2 to the references: [1,0,0] is 45 degrees from [1,1,0]; [0,1,0] is a reference.
  const at::Tensor ref = at::tensor({0.f, 1.f, 0.f, 1.f, 1.f, 0.f}).view({2, 3});
  const at::Tensor va = winclip::visual_association(e.unsqueeze(0), ref);
  CHECK(va[0][0].item<double>() == Approx((1 - std::sqrt(0.5)) / 2).epsilon(1e-6));
  CHECK(va[0][1].item<double>() == Approx(0.0).margin(1e-7));
}

TEST_CASE("winclip on a tiny random CLIP: maps, few-shot on a reference image, state round trip",
          "[winclip]") {
  TempDir tmp("winclip");
  const fs::path weights = tiny_clip(tmp.path());
  register_builtin_detectors();
  const auto train = images(tmp.path(), "metal_nut", 2, 1);
  auto test = images(tmp.path(), "metal_nut", 2, 2);
  test.push_back(train[0]);
  RunContext ctx;
  ctx.batch_size = 2;

  auto zero = detector_registry().create("winclip", {{"backbone_weights", weights.string()}});
  zero->fit(train, ctx);
  const auto pz = zero->predict(test, ctx);
  REQUIRE(pz.size() == 3);
  for (const auto& p : pz) {
    REQUIRE(p.map().sizes() == at::IntArrayRef({60, 80}));
    CHECK(p.score > 0.0);
    CHECK(p.score < 1.0);
    // A harmonic mean of softmax probabilities: inside (0, 1).
    CHECK(p.map().min().item<double>() > 0.0);
    CHECK(p.map().max().item<double>() < 1.0);
  }
  CHECK(pz[0].score != pz[1].score);
  CHECK(zero->provenance()["weights"] == "tiny_clip.safetensors");
  CHECK(zero->provenance()["activation"] == "quick_gelu");

  // Scores only (no maps wanted): the same image scores from the class token alone.
  RunContext scores_only = ctx;
  scores_only.want_maps = false;
  const auto ps = zero->predict(test, scores_only);
  for (size_t i = 0; i < ps.size(); ++i) CHECK(ps[i].score == Approx(pz[i].score).epsilon(1e-5));

  // WinCLIP+ with both training images as references: on a reference image every few-shot distance is
  // 0, so its map is half the zero-shot map and its score half the zero-shot score.
  auto few = detector_registry().create("winclip", {{"backbone_weights", weights.string()}, {"shots", 2}});
  few->fit(train, ctx);
  const auto pf = few->predict(test, ctx);
  CHECK(pf[2].score == Approx(pz[2].score / 2).epsilon(1e-5));
  CHECK((pf[2].map() - pz[2].map() / 2).abs().max().item<double>() < 1e-5);
  CHECK(pf[0].score > pz[0].score / 2);  // a foreign image is some distance away

  // The state (text and reference embeddings) round-trips through a second detector.
  auto again = detector_registry().create("winclip", few->config());
  again->load_state(few->state());
  const auto pa = again->predict(test, ctx);
  for (size_t i = 0; i < pa.size(); ++i) {
    CHECK(pa[i].score == Approx(pf[i].score).epsilon(1e-6));
    CHECK((pa[i].map() - pf[i].map()).abs().max().item<double>() < 1e-6);
  }
  CHECK(few->state().count("reference_windows_3") == 1);

  // The prompts are encoded without the padding after the longest one (the mask is causal): the
  // same embeddings as over all 77 positions.
  {
    ClipModel m = load_clip(weights);
    torch::NoGradGuard ng;
    const ClipTokenizer tok(source_dir() / "models/clip/bpe_simple_vocab_16e6.txt.gz");
    const at::Tensor ids = tok.tokenize(winclip::prompt_ensemble("metal nut").second);
    const int64_t L = ids.argmax(-1).max().item<int64_t>() + 1;
    CHECK(L < 20);
    const at::Tensor full = m->encode_text(ids), cut = m->encode_text(ids.slice(1, 0, L));
    CHECK((full - cut).abs().max().item<double>() < 1e-5 * full.abs().max().item<double>());
  }

  // Another object name changes the prompts and so the scores.
  auto named = detector_registry().create("winclip",
                                          {{"backbone_weights", weights.string()}, {"object_name", "cable"}});
  named->fit(train, ctx);
  CHECK(named->predict(test, ctx)[0].score != pz[0].score);
}

TEST_CASE("winclip errors: no weights, too few images for --shots, image size off the patch grid",
          "[winclip]") {
  TempDir tmp("winclip-err");
  register_builtin_detectors();
  const auto train = images(tmp.path(), "cap", 1, 3);
  auto none = detector_registry().create("winclip", nlohmann::json::object());
  REQUIRE_THROWS_WITH(none->fit(train, RunContext{}),
                      "detector winclip: needs CLIP weights: --backbone-weights FILE.safetensors (convert "
                      "OpenCLIP ViT-B-16-plus-240 laion400m_e31 with scripts/export_weights.py clip)");
  const fs::path weights = tiny_clip(tmp.path());
  auto shots = detector_registry().create("winclip", {{"backbone_weights", weights.string()}, {"shots", 2}});
  REQUIRE_THROWS_WITH(shots->fit(train, RunContext{}),
                      "winclip: --shots 2 needs at least 2 training images, got 1");
  auto size =
      detector_registry().create("winclip", {{"backbone_weights", weights.string()}, {"image_size", 72}});
  REQUIRE_THROWS_WITH(size->fit(train, RunContext{}),
                      "detector winclip: image_size 72 is not a multiple of the model's patch size 16");
  REQUIRE_THROWS_WITH(detector_registry().create("winclip", {{"scales", std::vector<int>{}}}),
                      Catch::Contains("detector winclip: setting 'scales' must be"));
}

TEST_CASE("adbench eval --detector winclip on the synthetic data with a random CLIP", "[winclip][cli]") {
  TempDir tmp("winclip-cli");
  const fs::path weights = tiny_clip(tmp.path());
  auto r = run_adbench("--quiet eval --detector winclip --backbone-weights " + q(weights) + " --root " +
                       q(synth_root()) + " --category cap --out " + q(tmp / "r.json"));
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  const auto j = read_json(tmp / "r.json");
  const double auroc = metric(j, "cap", "image_auroc");
  CHECK(auroc >= 0.0);
  CHECK(auroc <= 1.0);
  CHECK(metric(j, "cap", "pixel_auroc") >= 0.0);
  CHECK(j.dump().find("tiny_clip.safetensors") != std::string::npos);
  // Few-shot through --shots.
  r = run_adbench("--quiet eval --detector winclip --shots 1 --backbone-weights " + q(weights) + " --root " +
                  q(synth_root()) + " --category cap --out " + q(tmp / "few.json"));
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(read_json(tmp / "few.json").dump().find("\"shots\":1") != std::string::npos);
}

TEST_CASE("winclip speed: ViT-B-16-plus-240 with random weights, zero-shot maps", "[.][winclip_bench]") {
  // Run by scripts/bench_clip.sh; hidden from the default run. The whole detector: decode, resize,
  // the image pass and the 365 window passes, aggregation, maps at the image size.
  const char* env_images = std::getenv("ADBENCH_WINCLIP_BENCH_IMAGES");
  const int n = env_images ? std::atoi(env_images) : 4;
  if (const char* t = std::getenv("ADBENCH_CLIP_BENCH_THREADS")) at::set_num_threads(std::atoi(t));
  TempDir tmp("winclip-bench");
  torch::manual_seed(0);
  ClipModel m(clip_config("openclip_vit_b_16_plus_240"));
  std::map<std::string, at::Tensor> t;
  for (const auto& p : m->named_parameters()) t[p.key()] = p.value().detach().clone();
  write_safetensors(tmp / "b16plus.safetensors", t, {{"activation", "gelu"}});
  register_builtin_detectors();
  auto det =
      detector_registry().create("winclip", {{"backbone_weights", (tmp / "b16plus.safetensors").string()}});
  const auto train = images(tmp.path(), "bottle", 1, 1);
  const auto test = images(tmp.path(), "bottle", n, 2);
  RunContext ctx;
  ctx.batch_size = n;
  auto t0 = std::chrono::steady_clock::now();
  det->fit(train, ctx);
  const double fit_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  det->predict({test[0]}, ctx);  // warm-up
  t0 = std::chrono::steady_clock::now();
  det->predict(test, ctx);
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::cout << "winclip_bench images " << n << " threads " << at::get_num_threads() << ": " << n / s
            << " images/s (" << s / n * 1e3 << " ms/image; prompts " << fit_s << " s)\n";
}
