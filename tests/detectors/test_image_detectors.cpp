// Feature-based image detectors (patchcore, padim, spade, fastrecon): mechanics with a randomly
// initialised mobilenet_v2 (no shared files needed), the bounded-memory building blocks against
// brute force, state round trips, bad input with its exact message, and the multi-class protocol.
#include <adbench/build_info.hpp>
#include <catch2/catch.hpp>
#include <fstream>

#include "adbench/core/error.hpp"
#include "adbench/core/fs.hpp"
#include "adbench/core/safetensors.hpp"
#include "adbench/core/sha256.hpp"
#include "adbench/detectors/detector.hpp"
#include "common/features.hpp"
#include "image_fixtures.hpp"
#include "result_view.hpp"

namespace fs = std::filesystem;
using namespace adbench::test;

namespace {

const std::vector<std::string> kDetectors = {"patchcore", "padim", "spade", "fastrecon"};

nlohmann::json small_config(const std::string& det) {
  nlohmann::json o = {{"backbone", "mobilenet_v2"}, {"backbone_weights", "none"}, {"image_size", 64}};
  if (det == "spade") o["top_k"] = 2;
  if (det == "padim") o["channels"] = 20;
  if (det == "fastrecon") o["shots"] = 2;
  return o;
}

adbench::CategoryData cap() {
  adbench::register_builtin_datasets();
  return adbench::dataset_registry().create("mvtec_ad")->load(tiny_synth_root(), "cap");
}

}  // namespace

// knn and greedy_coreset (adbench/core/nearest.hpp): tests/core/test_helpers.cpp.

TEST_CASE("image detectors: maps at image size, state round trip gives identical predictions",
          "[detectors][image]") {
  auto data = cap();
  std::vector<adbench::Sample> train(data.train.begin(), data.train.begin() + 4);
  std::vector<adbench::Sample> test = {data.test.front(), data.test.back()};
  adbench::register_builtin_detectors();
  adbench::RunContext ctx;
  ctx.batch_size = 3;  // batches that do not divide the set
  for (const auto& name : kDetectors) {
    INFO(name);
    TempDir tmp("det");
    auto a = adbench::detector_registry().create(name, small_config(name));
    a->fit(train, ctx);
    auto pa = a->predict(test, ctx);
    REQUIRE(pa.size() == 2);
    for (const auto& p : pa) {
      REQUIRE(p.map().sizes() == at::IntArrayRef({128, 128}));
      REQUIRE(at::isfinite(p.map()).all().item<bool>());
      REQUIRE(std::isfinite(p.score));
    }
    auto prov = a->provenance();
    REQUIRE(prov["backbone"] == "mobilenet_v2");
    REQUIRE(prov["weights"] == "none");
    adbench::write_safetensors(tmp / "m.safetensors", a->state());
    auto b = adbench::detector_registry().create(name, a->config());
    b->load_state(adbench::read_safetensors(tmp / "m.safetensors").tensors);
    auto pb = b->predict(test, ctx);
    for (size_t i = 0; i < pa.size(); ++i) {
      REQUIRE(at::equal(pa[i].map(), pb[i].map()));
      REQUIRE(pa[i].score == pb[i].score);
    }
    auto st = a->state();
    st.erase("seed");
    REQUIRE_THROWS_WITH(b->load_state(st), name + ": model has no tensor 'seed'");
    REQUIRE_THROWS_WITH(a->fit({}, ctx), name + ": no training images");
  }
}

TEST_CASE("image detectors: settings resolve per backbone and are checked", "[detectors][image]") {
  adbench::register_builtin_detectors();
  auto& r = adbench::detector_registry();
  REQUIRE(r.create("patchcore", {{"backbone", "wide_resnet50_2"}})->config()["layers"] ==
          nlohmann::json({"layer2", "layer3"}));
  REQUIRE(r.create("patchcore", {{"backbone", "mobilenet_v2"}})->config()["layers"] ==
          nlohmann::json({"features.6", "features.13"}));
  REQUIRE(r.create("spade", {{"backbone", "mobilenet_v2"}})->config()["image_layer"] == "features.18");
  REQUIRE(r.create("padim", {{"backbone", "mobilenet_v2"}, {"layers", {"features.3"}}})->config()["layers"] ==
          nlohmann::json({"features.3"}));
  REQUIRE_THROWS_WITH(r.create("patchcore", {{"coreset_ratio", 0}}),
                      "detector patchcore: setting 'coreset_ratio' must be in (0, 1], got 0");
  REQUIRE_THROWS_WITH(r.create("spade", {{"image_metric", "l1"}}),
                      "detector spade: setting 'image_metric' must be one of l2, cosine, got 'l1'");
  REQUIRE_THROWS_WITH(
      r.create("patchcore", {{"backbone", "torchscript"}}),
      "detector patchcore: backbone 'torchscript' has no default layers; give them with --set "
      "layers='[\"name\", ...]'");
}

TEST_CASE("image detectors: bad input has one exact message", "[detectors][image]") {
  auto data = cap();
  adbench::register_builtin_detectors();
  adbench::RunContext ctx;
  // No backbone and no weights: the shipped mobilenet_v2 and its weights, for all four detectors.
  const std::string shipped = std::string(ADBENCH_SOURCE_DIR) + "/models/mobilenet_v2_imagenet.safetensors";
  for (const char* name : {"patchcore", "padim", "spade", "fastrecon"}) {
    INFO(name);
    const auto c = adbench::detector_registry().create(name, nlohmann::json::object())->config();
    CHECK(c["backbone"] == "mobilenet_v2");
    CHECK(c["backbone_weights"] == shipped);
    CHECK(c["layers"].size() == (std::string(name) == "padim" || std::string(name) == "spade" ? 3u : 2u));
  }
  // --backbone mobilenet_v2 alone: the shipped weights; the user's weights win.
  CHECK(adbench::detector_registry()
            .create("padim", {{"backbone", "mobilenet_v2"}})
            ->config()["backbone_weights"] == shipped);
  CHECK(adbench::detector_registry()
            .create("padim", {{"backbone", "mobilenet_v2"}, {"backbone_weights", "none"}})
            ->config()["backbone_weights"] == "none");
  // Another backbone without weights: no default file, the error says how to make one.
  auto pc = adbench::detector_registry().create("patchcore", {{"backbone", "wide_resnet50_2"}});
  REQUIRE_THROWS_WITH(
      pc->fit(data.train, ctx),
      "detector patchcore: no backbone weights for wide_resnet50_2: give --backbone-weights FILE "
      "(export torchvision's with scripts/export_weights.py wide_resnet50_2 --out FILE), "
      "--backbone-weights none for random initialisation, or leave out --backbone to use the "
      "shipped mobilenet_v2");
  // A damaged shipped file (ADBENCH_MODELS_DIR points at a copy of models/ holding other bytes).
  {
    TempDir models("models");
    const auto bad = (models / "mobilenet_v2_imagenet.safetensors").string();
    std::ofstream(bad) << "version https://git-lfs.github.com/spec/v1\n";
    ::setenv("ADBENCH_MODELS_DIR", models.path().c_str(), 1);
    auto damaged = adbench::detector_registry().create("spade", nlohmann::json::object());
    ::unsetenv("ADBENCH_MODELS_DIR");
    REQUIRE_THROWS_WITH(damaged->fit(data.train, ctx),
                        bad + ": not the shipped mobilenet_v2 weights (sha256 " + adbench::sha256_file(bad) +
                            ", expected 36331b4591893551f3df7913b1c4d5c13c9960eb674338c666f174721595eb65); "
                            "restore them with git checkout or give --backbone-weights FILE");
  }
  // Fewer training images than shots.
  auto fr = adbench::detector_registry().create(
      "fastrecon", {{"backbone", "mobilenet_v2"}, {"backbone_weights", "none"}, {"shots", 9}});
  REQUIRE_THROWS_WITH(fr->fit(data.train, ctx),
                      "fastrecon: --shots 9 needs at least 9 training images, got 8");
  // More PaDiM channels than the layers give (24 + 32 + 96 = 152 on mobilenet_v2).
  auto pd = adbench::detector_registry().create(
      "padim",
      {{"backbone", "mobilenet_v2"}, {"backbone_weights", "none"}, {"image_size", 64}, {"channels", 200}});
  REQUIRE_THROWS_WITH(pd->fit(data.train, ctx),
                      "detector padim: channels = 200 but the layers give only 152 channels");
}

TEST_CASE("CLI: --shots, empty training set, multi-class errors (exit 2, one line)",
          "[detectors][image][cli]") {
  TempDir tmp("imgcli");
  const auto root = tiny_synth_root();
  auto expect = [](const adbench::test::CommandResult& r, const std::string& line) {
    INFO(r.err);
    REQUIRE(r.exit_code == 2);
    REQUIRE(r.err == "adbench: error: " + line + "\n");
  };
  expect(run_adbench("--quiet eval --detector fastrecon --backbone mobilenet_v2 --backbone-weights none "
                     "--shots 20 --root " +
                     quote(root) + " --category cap"),
         "fastrecon: --shots 20 needs at least 20 training images, got 8");
  expect(run_adbench("--quiet eval --detector patchcore --backbone resnet18 --root " + quote(root) +
                     " --category cap"),
         "detector patchcore: no backbone weights for resnet18: give --backbone-weights FILE (export "
         "torchvision's with scripts/export_weights.py resnet18 --out FILE), --backbone-weights none for "
         "random initialisation, or leave out --backbone to use the shipped mobilenet_v2");
  expect(run_adbench("--quiet eval --detector variation_model --backbone mobilenet_v2 --root " + quote(root) +
                     " --category cap"),
         "detector variation_model: unknown setting 'backbone' (valid: image_size, std_floor)");
  // An empty training set.
  fs::copy(root, tmp / "d", fs::copy_options::recursive);
  for (const auto& e : fs::directory_iterator(tmp / "d" / "cap" / "train" / "good")) fs::remove(e.path());
  expect(run_adbench("--quiet eval --detector padim --backbone mobilenet_v2 --backbone-weights none --root " +
                     quote(tmp / "d") + " --category cap"),
         (tmp / "d" / "cap" / "train").string() + ": no training images for category 'cap'");
  expect(run_adbench("--quiet train --detector patchcore --backbone-weights none --setting multi-class "
                     "--category cap --root " +
                     quote(root) + " --out " + quote(tmp / "run")),
         "adbench train: --setting multi-class trains one model on every category: use --category all");
  expect(
      run_adbench("--quiet train --detector patchcore --backbone-weights none --category all --root " +
                  quote(root) + " --out " + quote(tmp / "run")),
      "adbench train: --category all needs --setting multi-class (single-class trains one category per run)");
}

TEST_CASE("CLI: multi-class trains one model on every category and records the setting",
          "[detectors][image][cli]") {
  TempDir tmp("imgmc");
  const auto root = tiny_synth_root();
  const std::string det =
      " --detector patchcore --backbone mobilenet_v2 --backbone-weights none --set image_size=64";
  auto r = run_adbench("--quiet train" + det + " --setting multi-class --category all --root " + quote(root) +
                       " --out " + quote(tmp / "run"));
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  auto info = nlohmann::json::parse(read_text(tmp / "run" / "run.json"));
  REQUIRE(info["setting"] == "multi-class");
  REQUIRE(info["category"] == "all");
  REQUIRE(info["train_count"] == 16);  // 8 cap + 8 weave
  REQUIRE(info["provenance"]["backbone"] == "mobilenet_v2");
  REQUIRE(info["provenance"]["weights"] == "none");
  // infer writes every category; eval --run reads the setting from the run.
  r = run_adbench("--quiet infer --run " + quote(tmp / "run") + " --out " + quote(tmp / "pred"));
  REQUIRE(r.exit_code == 0);
  REQUIRE(fs::exists(tmp / "pred" / "cap" / "scores.csv"));
  REQUIRE(fs::exists(tmp / "pred" / "weave" / "scores.csv"));
  r = run_adbench("--quiet eval --run " + quote(tmp / "run") + " --root " + quote(root) + " --out " +
                  quote(tmp / "r.json"));
  REQUIRE(r.exit_code == 0);
  auto res = adbench::test::with_v1_view(nlohmann::json::parse(read_text(tmp / "r.json")));
  REQUIRE(res["setting"] == "multi-class");
  REQUIRE(res["categories"].size() == 2);
  REQUIRE(res["categories"][0]["counts"]["train"] == 16);
  r = run_adbench("--quiet eval --run " + quote(tmp / "run") + " --setting single-class --root " +
                  quote(root));
  REQUIRE(r.exit_code == 2);
  REQUIRE(r.err ==
          "adbench: error: adbench eval: --setting single-class but the run was trained multi-class\n");
  // One-go multi-class eval: same model for both categories, the same numbers as the run.
  r = run_adbench("--quiet eval" + det + " --setting multi-class --root " + quote(root) + " --out " +
                  quote(tmp / "g.json") + " --csv " + quote(tmp / "b.csv"));
  REQUIRE(r.exit_code == 0);
  auto go = adbench::test::with_v1_view(nlohmann::json::parse(read_text(tmp / "g.json")));
  REQUIRE(go["setting"] == "multi-class");
  for (size_t c = 0; c < 2; ++c) REQUIRE(go["categories"][c]["metrics"] == res["categories"][c]["metrics"]);
  REQUIRE(read_text(tmp / "b.csv").find(",multi-class,") != std::string::npos);
}

TEST_CASE("CLI: a run folder from another version or detector is refused", "[detectors][image][cli]") {
  TempDir tmp("imgrun");
  const auto root = tiny_synth_root();
  auto r = run_adbench(
      "--quiet train --detector padim --backbone mobilenet_v2 --backbone-weights none --set image_size=64 "
      "--set channels=10 --category cap --root " +
      quote(root) + " --out " + quote(tmp / "run"));
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  const fs::path info_path = tmp / "run" / "run.json";
  const std::string original = read_text(info_path);
  auto info = nlohmann::json::parse(original);
  info["adbench_version"] = "0.0.1";
  std::ofstream(info_path) << info.dump(2);
  r = run_adbench("--quiet infer --run " + quote(tmp / "run") + " --out " + quote(tmp / "pred"));
  REQUIRE(r.exit_code == 2);
  REQUIRE(r.err == "adbench: error: " + info_path.string() + ": written by adbench 0.0.1, this is adbench " +
                       adbench::build::kVersion + "; retrain with this version\n");
  info = nlohmann::json::parse(original);
  info["detector"] = "patchcore";
  std::ofstream(info_path) << info.dump(2);
  r = run_adbench("--quiet infer --run " + quote(tmp / "run") + " --out " + quote(tmp / "pred"));
  REQUIRE(r.exit_code == 2);
  REQUIRE(r.err == "adbench: error: " + (tmp / "run" / "model.safetensors").string() +
                       ": holds a 'padim' model, run.json says 'patchcore'\n");
}
