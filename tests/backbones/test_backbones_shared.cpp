// The real ImageNet MobileNetV2 in ../shared/weights: identity, normalisation and TF SAME padding
// from its metadata, and logits equal to torchvision's with the weights README's exact TF-SAME
// reproduction. (The README's four test images are not available offline, so its top-1 table is
// not checked here; see lib/backbones/README.md.)
#include <ATen/ATen.h>

#include <catch2/catch.hpp>
#include <iostream>

#include "adbench/backbones/backbone.hpp"
#include "adbench/core/safetensors.hpp"
#include "reference.hpp"

namespace fs = std::filesystem;
using namespace adbench;
using adbench::test::reference_dir;
using adbench::test::rel_err;

namespace {
const fs::path kWeights = adbench::test::shared_dir() / "weights/mobilenet_v2_imagenet_coral.safetensors";
}

TEST_CASE("shared MobileNetV2: identity, normalisation and padding from the file", "[backbones][shared]") {
  REQUIRE(fs::exists(kWeights));
  auto bb = load_backbone("mobilenet_v2", kWeights.string(), at::kCPU);
  auto p = bb->provenance();
  CHECK(p["weights"] == "mobilenet_v2_imagenet_coral.safetensors");
  CHECK(p["weights_sha256"] == "36331b4591893551f3df7913b1c4d5c13c9960eb674338c666f174721595eb65");
  CHECK(p["padding"] == "tf_same");
  CHECK(p["normalization"]["source"] == "metadata (input_normalization)");
  CHECK(bb->normalization().mean == std::array<float, 3>{0.5f, 0.5f, 0.5f});
  CHECK(bb->normalization().std == std::array<float, 3>{0.5f, 0.5f, 0.5f});
  CHECK(p["weights_license"] == "Apache-2.0");
}

TEST_CASE("shared MobileNetV2: logits equal torchvision's with the README's TF-SAME padding", "[backbones][shared]") {
  const fs::path dir = reference_dir("shared", kWeights.string());
  auto bb = load_backbone("mobilenet_v2", kWeights.string(), at::kCPU);
  for (const std::string name : {"shared_ref_224.safetensors", "shared_ref_90x75.safetensors"}) {
    auto ref = read_safetensors(dir / name).tensors;
    const at::Tensor x = ref.at("input");
    auto f = bb->features(x, {"features.18"});
    const double ef = rel_err(f.at("features.18"), ref.at("layer.features.18"));
    const at::Tensor logits = bb->logits(x);
    const double el = rel_err(logits, ref.at("logits"));
    std::cout << "parity shared mobilenet_v2 " << name << ": features.18 " << ef << ", logits " << el << "\n";
    INFO(name);
    CHECK(ef < 1e-4);
    CHECK(el < 1e-4);
    CHECK(logits.argmax(1).item<int64_t>() == ref.at("logits").argmax(1).item<int64_t>());
  }
}
