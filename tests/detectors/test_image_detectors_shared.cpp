// Feature-based image detectors with the real ImageNet MobileNetV2 of ../shared/weights: each
// separates the synthetic defects (image AUROC >= 0.9), and train -> infer -> eval on the
// prediction folder, eval --run and the one-go eval agree exactly. Bad weights are refused.
#include <catch2/catch.hpp>
#include <fstream>

#include "adbench/core/fs.hpp"
#include "adbench/core/safetensors.hpp"
#include "image_fixtures.hpp"
#include "result_view.hpp"

namespace fs = std::filesystem;
using namespace adbench::test;

namespace {

fs::path weights() { return shared_dir() / "weights" / "mobilenet_v2_imagenet_coral.safetensors"; }

nlohmann::json read_json(const fs::path& p) {
  return adbench::test::with_v1_view(nlohmann::json::parse(adbench::read_file(p)));
}

}  // namespace

TEST_CASE("image detectors with the shared MobileNetV2: AUROC >= 0.9; train/infer/eval == one go",
          "[detectors][shared]") {
  const auto root = tiny_synth_root();
  for (const std::string det : {"patchcore", "padim", "spade", "fastrecon"}) {
    INFO(det);
    TempDir tmp("imgshared");
    const std::string settings =
        " --detector " + det + fast_settings(det) + " --backbone-weights " + quote(weights());
    auto r = run_adbench("--quiet eval" + settings + " --root " + quote(root) + " --category all --out " +
                         quote(tmp / "go.json"));
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    auto go = read_json(tmp / "go.json");
    REQUIRE(go["produced_by"]["backbone"] == "mobilenet_v2");
    REQUIRE(go["produced_by"]["weights"] == "mobilenet_v2_imagenet_coral.safetensors");
    REQUIRE(go["produced_by"]["weights_sha256"] ==
            "36331b4591893551f3df7913b1c4d5c13c9960eb674338c666f174721595eb65");
    for (const auto& c : go["categories"]) {
      INFO(c["category"].get<std::string>());
      REQUIRE(c["metrics"]["image_auroc"].get<double>() >= 0.9);
      REQUIRE(c["metrics"]["pixel_auroc"].get<double>() >= 0.9);
    }
    // Separate steps, one category: train -> infer -> eval --pred, and eval --run.
    for (const std::string cat : {"cap"}) {
      r = run_adbench("--quiet train" + settings + " --root " + quote(root) + " --category " + cat +
                      " --out " + quote(tmp / "run"));
      REQUIRE(r.exit_code == 0);
      REQUIRE(read_json(tmp / "run" / "run.json")["provenance"]["weights_sha256"] ==
              go["produced_by"]["weights_sha256"]);
      r = run_adbench("--quiet infer --run " + quote(tmp / "run") + " --out " + quote(tmp / "pred"));
      REQUIRE(r.exit_code == 0);
      r = run_adbench("--quiet eval --pred " + quote(tmp / "pred") + " --root " + quote(root) +
                      " --category " + cat + " --out " + quote(tmp / "pred.json"));
      REQUIRE(r.exit_code == 0);
      r = run_adbench("--quiet eval --run " + quote(tmp / "run") + " --root " + quote(root) + " --category " +
                      cat + " --out " + quote(tmp / "run.json"));
      REQUIRE(r.exit_code == 0);
      const auto& want = go["categories"][0]["metrics"];  // cap is the first category
      REQUIRE(read_json(tmp / "pred.json")["categories"][0]["metrics"] == want);
      REQUIRE(read_json(tmp / "run.json")["categories"][0]["metrics"] == want);
    }
  }
}

TEST_CASE("bad backbone weights: mis-shaped tensors, another architecture, changed file (exit 2, one line)",
          "[detectors][shared]") {
  TempDir tmp("imgweights");
  const auto root = tiny_synth_root();
  auto st = adbench::read_safetensors(weights());
  // A copy whose first convolution has 16 instead of 32 filters.
  auto bad = st.tensors;
  bad["features.0.0.weight"] = bad["features.0.0.weight"].narrow(0, 0, 16).contiguous();
  adbench::write_safetensors(tmp / "bad.safetensors", bad, st.metadata);
  auto r = run_adbench("--quiet eval --detector patchcore --backbone mobilenet_v2 --backbone-weights " +
                       quote(tmp / "bad.safetensors") + " --root " + quote(root) + " --category cap");
  REQUIRE(r.exit_code == 2);
  REQUIRE(r.err ==
          "adbench: error: " + (tmp / "bad.safetensors").string() +
              ": tensor 'features.0.0.weight' has shape [16, 3, 3, 3], mobilenet_v2 expects [32, 3, 3, 3]\n");
  // The MobileNetV2 file given for a ResNet.
  r = run_adbench("--quiet eval --detector padim --backbone resnet18 --backbone-weights " + quote(weights()) +
                  " --root " + quote(root) + " --category cap");
  REQUIRE(r.exit_code == 2);
  REQUIRE(r.err == "adbench: error: " + weights().string() +
                       ": metadata 'architecture' is 'torchvision.models.mobilenet_v2 (width 1.0, 1000 "
                       "classes)', not resnet18\n");
  // A run whose weights file changed since training is refused.
  fs::copy_file(weights(), tmp / "w.safetensors");
  r = run_adbench(
      "--quiet train --detector fastrecon --backbone mobilenet_v2 --set image_size=64 --backbone-weights " +
      quote(tmp / "w.safetensors") + " --root " + quote(root) + " --category cap --out " +
      quote(tmp / "run"));
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  auto changed = st.tensors;
  changed["classifier.1.bias"] = changed["classifier.1.bias"] + 1;
  adbench::write_safetensors(tmp / "w.safetensors", changed, st.metadata);
  r = run_adbench("--quiet infer --run " + quote(tmp / "run") + " --out " + quote(tmp / "pred"));
  REQUIRE(r.exit_code == 2);
  REQUIRE(r.err.rfind("adbench: error: " + (tmp / "run" / "run.json").string() +
                          ": trained with backbone weights w.safetensors (sha256 "
                          "36331b4591893551f3df7913b1c4d5c13c9960eb674338c666f174721595eb65), "
                          "but the weights file now has sha256 ",
                      0) == 0);
  REQUIRE(std::count(r.err.begin(), r.err.end(), '\n') == 1);
}
