// Zero-shot CLIP detectors (issue 13) without real CLIP weights.
//
// anomalyclip: parity with an independent torch.nn reference (tests/backbones/make_clip_reference.py
// anomalyclip) on seeded random CLIPs and prompt checkpoints in the official layout converted by
// scripts/export_weights.py anomalyclip: a tiny config within 1e-5 and ViT-L/14's widths (3 blocks per
// tower) within 1e-4 relative: text features with deep prompts, DPAM-path tokens, the image score from
// the class token without ln_post, the summed patch maps. Also the prompt file's errors and `adbench
// eval --detector anomalyclip` end to end.
//
// winclip: the prompt ensemble, class scores, harmonic
// aggregation and visual association on small inputs worked out by hand; the detector on a tiny
// seeded random CLIP (few-shot on a reference image halves the zero-shot map exactly, state round
// trip); and `adbench eval --detector winclip` end to end on the synthetic data (no AUROC claim).
#include <catch2/catch.hpp>
#include <chrono>
#include <functional>
#include <iostream>
#include <opencv2/imgcodecs.hpp>

#include "adbench/backbones/clip.hpp"
#include "adbench/backbones/clip_tokenizer.hpp"
#include "adbench/core/error.hpp"
#include "adbench/core/safetensors.hpp"
#include "adbench/core/sha256.hpp"
#include "anomalyclip/anomalyclip.hpp"
#include "cli_fixtures.hpp"
#include "reference.hpp"
#include "winclip/winclip.hpp"

namespace fs = std::filesystem;
using namespace adbench;
using namespace adbench::test;
using adbench::test::rel_err;

namespace {

/// Writes a CLIP's parameters under their names, as scripts/export_weights.py clip would.
void write_clip(const ClipModel& m, const fs::path& file,
                const std::map<std::string, std::string>& metadata) {
  std::map<std::string, at::Tensor> t;
  for (const auto& p : m->named_parameters()) t[p.key()] = p.value().detach().clone();
  write_safetensors(file, t, metadata);
}

/// A tiny CLIP (vision 64 wide, 2 blocks, patch 16 at 64 px: a 4 x 4 grid; text 64 wide, 2 blocks,
/// embed 32; QuickGELU) with seeded random weights, written as scripts/export_weights.py clip would.
fs::path tiny_clip(const fs::path& dir) {
  ClipConfig c;
  c.vision = {64, 2, 2};
  c.patch = 16, c.image_size = 64;
  c.text = {64, 2, 2};
  c.embed_dim = 32;
  torch::manual_seed(7);
  const fs::path file = dir / "tiny_clip.safetensors";
  write_clip(ClipModel(c), file, {{"activation", "quick_gelu"}, {"vision_heads", "2"}, {"text_heads", "2"}});
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
  const at::Tensor s = clip_class_scores(e, text, 1.0);
  const double a = 1.0 / (1.0 + std::exp(std::sqrt(0.5))),
               b = std::exp(1.0) / (std::exp(1.0) + std::exp(std::sqrt(0.5)));
  CHECK(s[0][0].item<double>() == Approx(a).epsilon(1e-6));
  CHECK(s[0][1].item<double>() == Approx(1 - a).epsilon(1e-6));
  CHECK(s[1][0].item<double>() == Approx(b).epsilon(1e-6));
  // Temperature 0.5 doubles the logits.
  CHECK(clip_class_scores(e, text, 0.5)[0][0].item<double>() ==
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

namespace {

fs::path anomalyclip_reference() {
  return adbench::test::reference_dir("anomalyclip", "", "make_clip_reference.py",
                                      {"scripts/clip_weights.py"});
}

/// The detector on a reference case: its settings as the reference's, no smoothing.
std::unique_ptr<Detector> anomalyclip_on(const std::string& name, int64_t size,
                                         const std::vector<int64_t>& taps) {
  const fs::path dir = anomalyclip_reference();
  register_builtin_detectors();
  return detector_registry().create("anomalyclip",
                                    {{"backbone_weights", (dir / (name + "_clip.safetensors")).string()},
                                     {"prompt_weights", (dir / (name + "_prompts.safetensors")).string()},
                                     {"image_size", size},
                                     {"dpam_layer", 3},
                                     {"features", taps},
                                     {"sigma", 0.0}});
}

void check_anomalyclip_case(const std::string& name, int64_t size, const std::vector<int64_t>& taps,
                            int64_t dpam_from, double tol) {
  const fs::path dir = anomalyclip_reference();
  auto ref = read_safetensors(dir / (name + "_ref.safetensors")).tensors;
  auto det = anomalyclip_on(name, size, taps);
  det->fit({}, RunContext{});
  auto* ac = dynamic_cast<AnomalyClip*>(det.get());
  REQUIRE(ac != nullptr);
  torch::NoGradGuard ng;
  double worst = 0;
  auto check = [&](const std::string& what, const at::Tensor& got) {
    const double e = rel_err(got, ref.at(what));
    INFO(name << " " << what << " relative error " << e);
    CHECK(e < tol);
    worst = std::max(worst, e);
  };
  check("text_features", det->state().at("text_embeddings"));
  const at::Tensor images = ref.at("images");
  const auto [scores, maps] = ac->score(images, true);
  check("image_scores", scores);
  check("patch_maps", maps);
  // Scores alone skip the DPAM path: the same numbers.
  CHECK(rel_err(ac->score(images, false).first, scores) < 1e-6);

  // The backbone's pieces: DPAM-path tokens at the taps, and the ordinary path unchanged by DPAM.
  ClipModel m = load_clip(dir / (name + "_clip.safetensors"));
  const at::Tensor tokens = m->visual->embed(images);
  const ClipVisionTokens out = m->visual->encode_tokens_dpam(tokens, dpam_from, taps);
  for (size_t k = 0; k < taps.size(); ++k) check("dpam_layer." + std::to_string(taps[k]), out.layers[k]);
  check("image_embeds", at::matmul(out.last.select(1, 0), m->visual->proj));
  CHECK(rel_err(out.last, m->visual->encode_tokens(tokens).last) < 1e-6);
  std::cout << "anomalyclip parity " << name << ": worst relative error " << worst << "\n";
}

}  // namespace

TEST_CASE("anomalyclip matches the torch reference: tiny within 1e-5, ViT-L/14 widths within 1e-4",
          "[anomalyclip]") {
  // ac_tiny: 4 vision blocks, DPAM in 3-4, taps 2 (before DPAM: the ordinary output) and 4, 40 px
  // on a 32 px model (positions interpolated); 2 deep prompts of 2 tokens, 4 context tokens.
  check_anomalyclip_case("ac_tiny", 40, {2, 4}, 3, 1e-5);
  // ac_l14: 1024/768 wide, 3 blocks per tower, DPAM in 2-3, 126 px (9 x 9 patches of 14); 12
  // context tokens, 2 deep prompts of 4.
  check_anomalyclip_case("ac_l14", 126, {3}, 2, 1e-4);
}

TEST_CASE("anomalyclip map value and predict: maps at the image size, scores in (0, 1)", "[anomalyclip]") {
  // (p_anomalous + 1 - p_normal) / 2 = p_anomalous for two classes: e = [1, 0] against normal [0, 1],
  // anomalous [1, 0] at temperature 1 gives softmax([0, 1]).
  const at::Tensor v = anomalyclip::map_scores(at::tensor({1.f, 0.f}).view({1, 2}),
                                               at::tensor({0.f, 1.f, 3.f, 0.f}).view({2, 2}), 1.0);
  CHECK(v[0].item<double>() == Approx(std::exp(1.0) / (1.0 + std::exp(1.0))).epsilon(1e-6));

  TempDir tmp("anomalyclip");
  auto det = anomalyclip_on("ac_tiny", 64, {4});
  det->fit({}, RunContext{});
  const auto test = images(tmp.path(), "cable", 2, 5);
  RunContext ctx;
  ctx.batch_size = 2;
  const auto p = det->predict(test, ctx);
  REQUIRE(p.size() == 2);
  for (const auto& x : p) {
    REQUIRE(x.map().sizes() == at::IntArrayRef({60, 80}));
    CHECK(x.score > 0.0);
    CHECK(x.score < 1.0);
    CHECK(x.map().min().item<double>() > 0.0);
    CHECK(x.map().max().item<double>() < 1.0);
  }
  // The state (the two text features) round-trips; provenance names both files.
  auto again = detector_registry().create("anomalyclip", det->config());
  again->load_state(det->state());
  const auto pa = again->predict(test, ctx);
  CHECK(pa[1].score == Approx(p[1].score).epsilon(1e-6));
  const auto prov = det->provenance();
  CHECK(prov["prompt_weights"] == "ac_tiny_prompts.safetensors");
  CHECK(prov["weights"] == "ac_tiny_clip.safetensors");
  CHECK(prov["dpam_blocks"] == "3-4");
  CHECK(prov["prompt_weights_sha256"].get<std::string>().size() == 64);
}

TEST_CASE("anomalyclip prompt files: the converter's layout, bad files one line each", "[anomalyclip]") {
  const fs::path dir = anomalyclip_reference();
  const SafeTensors st = read_safetensors(dir / "ac_l14_prompts.safetensors");
  CHECK(st.metadata.at("n_ctx") == "12");
  CHECK(st.metadata.at("deep_prompts") == "2");
  CHECK(st.metadata.at("deep_prompt_length") == "4");
  for (const auto& [k, t] : st.tensors) CHECK(k.rfind("compound_prompt_projections", 0) == std::string::npos);
  const auto p = anomalyclip::load_prompts(dir / "ac_l14_prompts.safetensors");
  CHECK(p.embeddings.sizes() == at::IntArrayRef({2, 77, 768}));
  CHECK(p.n_ctx == 12);
  CHECK(p.eot[0].item<int64_t>() == 1 + 12 + 2);  // "object." after the contexts
  CHECK(p.eot[1].item<int64_t>() == 1 + 12 + 3);  // "damaged object."
  REQUIRE(p.deep.size() == 2);

  TempDir tmp("anomalyclip-bad");
  const auto bad = [&](const std::function<void(std::map<std::string, at::Tensor>&)>& edit) {
    auto t = st.tensors;
    edit(t);
    const fs::path f = tmp / "bad.safetensors";
    write_safetensors(f, t, {});
    return input_error_of([&] { anomalyclip::load_prompts(f); });
  };
  const std::string where = (tmp / "bad.safetensors").string() + ": AnomalyCLIP prompts: ";
  CHECK(bad([](auto& t) { t.erase("ctx_neg"); }) ==
        where +
            "no tensor 'ctx_neg' (convert the official prompt checkpoint with scripts/export_weights.py "
            "anomalyclip)");
  CHECK(bad([](auto& t) {
          t["ctx_pos"] = at::zeros({2, 1, 12, 768});
        }) == where +
                  "tensor 'ctx_pos' has shape [2, 1, 12, 768], expected [1, 1, rows, width] (one class, one "
                  "prompt per state)");
  CHECK(bad([](auto& t) {
          t["tokenized_prompts_neg"] = at::zeros({1, 1, 70}, at::kLong);
        }) == where + "tokenized_prompts_neg holds 70 ids, the embeddings 77 rows");
  CHECK(bad([](auto& t) {
          t["compound_prompts_text.5"] = at::zeros({4, 768});
        }) == where + "tensor 'compound_prompts_text.5' does not continue compound_prompts_text.0..1");
  CHECK(bad([](auto& t) { t["extra"] = at::zeros({1}); }) ==
        where +
            "unknown tensor 'extra' (convert the official prompt checkpoint with scripts/export_weights.py "
            "anomalyclip)");
  // Prompts of another CLIP: ViT-L/14 widths against the tiny model.
  register_builtin_detectors();
  auto mismatch = detector_registry().create(
      "anomalyclip", {{"backbone_weights", (dir / "ac_tiny_clip.safetensors").string()},
                      {"prompt_weights", (dir / "ac_l14_prompts.safetensors").string()},
                      {"dpam_layer", 3},
                      {"features", {4}},
                      {"image_size", 64}});
  CHECK(input_error_of([&] { mismatch->fit({}, RunContext{}); }) ==
        (dir / "ac_l14_prompts.safetensors").string() +
            ": AnomalyCLIP prompts of 77 x 768 do not fit the CLIP text tower of " +
            (dir / "ac_tiny_clip.safetensors").string() + " (16 x 48)");
  auto none = detector_registry().create("anomalyclip", {{"backbone_weights", "x.safetensors"}});
  CHECK(input_error_of([&] { none->fit({}, RunContext{}); }) ==
        "detector anomalyclip: needs the learned prompts: --set prompt_weights=FILE.safetensors (convert the "
        "official checkpoint with scripts/export_weights.py anomalyclip)");
  // dpam_layer 1 would leave no block with the DPAM path (the official code fails on it).
  REQUIRE_THROWS_WITH(detector_registry().create("anomalyclip", {{"dpam_layer", 1}}),
                      Catch::Contains("detector anomalyclip: setting 'dpam_layer' must be"));
  // The official DPAM_layer 20 on a 4-block model.
  auto deep = detector_registry().create(
      "anomalyclip", {{"backbone_weights", (dir / "ac_tiny_clip.safetensors").string()},
                      {"prompt_weights", (dir / "ac_tiny_prompts.safetensors").string()}});
  CHECK(input_error_of([&] { deep->fit({}, RunContext{}); }) ==
        "detector anomalyclip: dpam_layer 20 needs at least 19 vision blocks, " +
            (dir / "ac_tiny_clip.safetensors").string() + " has 4");
}

TEST_CASE("adbench eval --detector anomalyclip on the synthetic data with a random CLIP",
          "[anomalyclip][cli]") {
  TempDir tmp("anomalyclip-cli");
  const fs::path dir = anomalyclip_reference();
  auto r = run_adbench("--quiet eval --detector anomalyclip --backbone-weights " +
                       q(dir / "ac_tiny_clip.safetensors") +
                       " --set prompt_weights=" + q(dir / "ac_tiny_prompts.safetensors") +
                       " --set image_size=64 --set dpam_layer=3 --set 'features=[4]' --root " +
                       q(synth_root()) + " --category cap --out " + q(tmp / "r.json"));
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  const auto j = read_json(tmp / "r.json");
  CHECK(metric(j, "cap", "image_auroc") >= 0.0);
  CHECK(metric(j, "cap", "pixel_auroc") <= 1.0);
  // The prompt file is identified by its content, as the CLIP weights are: in other_weights, in the
  // config hash, and not by its path in the spec.
  const auto& by = j.at("produced_by");
  CHECK(by.at("other_weights").at("prompt_weights").at("file") == "ac_tiny_prompts.safetensors");
  CHECK(by.at("other_weights").at("prompt_weights").at("sha256") ==
        sha256_file(dir / "ac_tiny_prompts.safetensors"));
  CHECK(by.at("spec") == "anomalyclip(dpam_layer=3,features=4,image_size=64,sigma=4.0,temperature=0.07)");
  nlohmann::json hashed = by.at("config");
  hashed["backbone_weights"] = "sha256:" + sha256_file(dir / "ac_tiny_clip.safetensors");
  hashed["prompt_weights"] = "sha256:" + sha256_file(dir / "ac_tiny_prompts.safetensors");
  CHECK(by.at("config_sha256") == sha256_bytes(hashed.dump()));
}

TEST_CASE("winclip speed: ViT-B-16-plus-240 with random weights, zero-shot maps", "[.][winclip_bench]") {
  // Run by scripts/bench_clip.sh; hidden from the default run. The whole detector: decode, resize,
  // the image pass and the 365 window passes, aggregation, maps at the image size.
  const char* env_images = std::getenv("ADBENCH_WINCLIP_BENCH_IMAGES");
  const int n = env_images ? std::atoi(env_images) : 4;
  if (const char* t = std::getenv("ADBENCH_CLIP_BENCH_THREADS")) at::set_num_threads(std::atoi(t));
  TempDir tmp("winclip-bench");
  torch::manual_seed(0);
  write_clip(ClipModel(clip_config("openclip_vit_b_16_plus_240")), tmp / "b16plus.safetensors",
             {{"activation", "gelu"}});
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

TEST_CASE("anomalyclip speed: ViT-L/14@336px with random weights at 518 px, maps", "[.][anomalyclip_bench]") {
  // Run by scripts/bench_anomalyclip.sh; hidden from the default run. The whole detector: decode,
  // resize, the vision pass with DPAM in blocks 6-24, maps at the image size, Gaussian sigma 4.
  const char* env_images = std::getenv("ADBENCH_ANOMALYCLIP_BENCH_IMAGES");
  const int n = env_images ? std::atoi(env_images) : 2;
  if (const char* t = std::getenv("ADBENCH_CLIP_BENCH_THREADS")) at::set_num_threads(std::atoi(t));
  TempDir tmp("anomalyclip-bench");
  torch::manual_seed(0);
  write_clip(ClipModel(clip_config("openai_vit_l_14_336")), tmp / "l14.safetensors",
             {{"activation", "quick_gelu"}});
  // Random prompts in the converter's layout: 12 contexts, 8 deep prompts of 4, 77 positions.
  std::map<std::string, at::Tensor> p;
  for (const std::string s : {"pos", "neg"}) {
    p["ctx_" + s] = at::randn({1, 1, 12, 768}) * 0.02;
    p["token_prefix_" + s] = at::randn({1, 1, 1, 768}) * 0.02;
    p["token_suffix_" + s] = at::randn({1, 1, 64, 768}) * 0.02;
    at::Tensor ids = at::zeros({1, 1, 77}, at::kLong);
    ids[0][0][0] = 49406;
    ids[0][0][s == "pos" ? 15 : 16] = 49407;
    p["tokenized_prompts_" + s] = ids;
  }
  for (int k = 0; k < 8; ++k) p["compound_prompts_text." + std::to_string(k)] = at::randn({4, 768}) * 0.02;
  write_safetensors(tmp / "prompts.safetensors", p, {});
  register_builtin_detectors();
  auto det =
      detector_registry().create("anomalyclip", {{"backbone_weights", (tmp / "l14.safetensors").string()},
                                                 {"prompt_weights", (tmp / "prompts.safetensors").string()}});
  const auto test = images(tmp.path(), "bottle", n, 2);
  RunContext ctx;
  ctx.batch_size = 1;
  auto t0 = std::chrono::steady_clock::now();
  det->fit({}, ctx);
  const double fit_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  det->predict({test[0]}, ctx);  // warm-up
  t0 = std::chrono::steady_clock::now();
  for (const auto& s : test) det->predict({s}, ctx);
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  RunContext scores_only = ctx;
  scores_only.want_maps = false;
  t0 = std::chrono::steady_clock::now();
  for (const auto& x : test) det->predict({x}, scores_only);
  const double s0 = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::cout << "anomalyclip_bench images " << n << " threads " << at::get_num_threads() << ": " << n / s
            << " images/s (" << s / n * 1e3 << " ms/image with maps; " << s0 / n * 1e3
            << " ms/image scores only; fit " << fit_s << " s)\n";
}
