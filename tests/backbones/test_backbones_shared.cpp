// The real ImageNet MobileNetV2 in ../shared/weights: identity, normalisation and TF SAME padding
// from its metadata, and logits equal to torchvision's with the weights README's exact TF-SAME
// reproduction. (The README's four test images are not available offline, so its top-1 table is
// not checked here; see lib/backbones/README.md.)
#include <ATen/ATen.h>

#include <catch2/catch.hpp>
#include <iostream>
#include <opencv2/imgproc.hpp>

#include "adbench/backbones/backbone.hpp"
#include "adbench/core/image_io.hpp"
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

TEST_CASE("shared MobileNetV2: logits equal torchvision's with the README's TF-SAME padding",
          "[backbones][shared]") {
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

// Not the README's grace_hopper.bmp (its four test images are not available offline) but another
// rendering of the same photograph: matplotlib's 512x600 JPEG sample (Debian's python-matplotlib-data,
// which scripts/install_deps.sh installs for the tests, so its absence fails). Checked end
// to end (image -> resize -> normalisation from the metadata -> TF SAME network): torchvision with
// TF SAME padding puts it in "military uniform" (652) with p = 0.929 after a box resize; with
// torchvision's padding the top-1 is "mortarboard" (667, 0.34), as the README warns.
TEST_CASE("shared MobileNetV2 on matplotlib's grace_hopper.jpg",
          "[backbones][shared][image]") {
  const fs::path img = "/usr/share/matplotlib/mpl-data/sample_data/grace_hopper.jpg";
  REQUIRE(fs::exists(img));
  auto bb = load_backbone("mobilenet_v2", kWeights.string(), at::kCPU);
  cv::Mat rgb = read_image_rgb(img), small;
  cv::resize(rgb, small, cv::Size(224, 224), 0, 0, cv::INTER_AREA);
  const at::Tensor x = normalize(image_to_tensor(small), bb->normalization()).unsqueeze(0);
  const at::Tensor p = bb->logits(x).softmax(1)[0];
  const int64_t top1 = p.argmax().item<int64_t>();
  std::cout << "grace_hopper.jpg (matplotlib): top-1 " << top1 << " p=" << p[top1].item<float>() << "\n";
  CHECK(top1 == 652);  // military uniform
  CHECK(p[652].item<float>() > 0.85f);
}
