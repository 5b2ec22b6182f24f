// Backbones: parity with torchvision on seeded random weights (every tappable layer and the
// logits), TF SAME padding, TorchScript, strict weight loading, metadata and input errors.
#include <ATen/ATen.h>

#include <catch2/catch.hpp>
#include <iostream>
#include <limits>

#include "adbench/backbones/backbone.hpp"
#include "adbench/core/error.hpp"
#include "adbench/core/safetensors.hpp"
#include "adbench/core/sha256.hpp"
#include "reference.hpp"

namespace fs = std::filesystem;
using namespace adbench;
using adbench::test::reference_dir;
using adbench::test::rel_err;
using Catch::Matchers::Contains;

namespace {

constexpr double kTol = 1e-4;

std::vector<std::string> resnet_layers() {
  return {"conv1", "bn1", "relu", "maxpool", "layer1", "layer2", "layer3", "layer4", "avgpool", "fc"};
}
std::vector<std::string> mnv2_layers() {
  std::vector<std::string> out;
  for (int i = 0; i < 19; ++i) out.push_back("features." + std::to_string(i));
  out.push_back("classifier");
  return out;
}

/// Compares every "layer.<name>" of the reference file and the logits; returns the worst error.
double check_parity(Backbone& bb, const fs::path& ref_file, const std::string& label) {
  auto ref = read_safetensors(ref_file).tensors;
  const at::Tensor x = ref.at("input");
  std::vector<std::string> names;
  for (const auto& [k, v] : ref)
    if (k.rfind("layer.", 0) == 0) names.push_back(k.substr(6));
  REQUIRE(!names.empty());
  auto feats = bb.features(x, names);
  REQUIRE(feats.size() == names.size());
  double worst = 0;
  for (const auto& n : names) {
    INFO(label << " layer " << n);
    const double e = rel_err(feats.at(n), ref.at("layer." + n));
    CHECK(e < kTol);
    worst = std::max(worst, e);
  }
  const double el = rel_err(bb.logits(x), ref.at("logits"));
  INFO(label << " logits");
  CHECK(el < kTol);
  worst = std::max(worst, el);
  std::cout << "parity " << label << ": worst layer/logit relative error " << worst << " (logits " << el
            << ")\n";
  return worst;
}

std::map<std::string, at::Tensor> tensors_of(const fs::path& f) { return read_safetensors(f).tensors; }

std::string load_error(const std::string& name, const fs::path& file) {
  try {
    load_backbone(name, file.string(), at::kCPU);
  } catch (const InputError& e) {
    return e.what();
  }
  FAIL("no InputError for " << name << " " << file);
  return "";
}

}  // namespace

TEST_CASE("backbone names and unknown names", "[backbones]") {
  CHECK(backbone_names() ==
        std::vector<std::string>{"mobilenet_v2", "resnet18", "resnet34", "torchscript", "wide_resnet50_2"});
  try {
    load_backbone("resnet1000", "none", at::kCPU);
    FAIL("no error");
  } catch (const InputError& e) {
    CHECK_THAT(e.what(), Contains("unknown backbone 'resnet1000'") && Contains("wide_resnet50_2") &&
                             Contains("torchscript"));
  }
}

TEST_CASE("parity with torchvision on random weights", "[backbones][parity]") {
  const fs::path dir = reference_dir("random");
  for (const std::string arch : {"resnet18", "resnet34", "wide_resnet50_2", "mobilenet_v2"}) {
    SECTION(arch) {
      const fs::path w = dir / (arch + ".safetensors");
      auto bb = load_backbone(arch, w.string(), at::kCPU);
      CHECK(bb->name() == arch);
      CHECK(bb->layers() == (arch == "mobilenet_v2" ? mnv2_layers() : resnet_layers()));
      check_parity(*bb, dir / (arch + "_ref.safetensors"), arch);

      // provenance: file name, SHA-256, ImageNet normalisation from the metadata, padding
      auto p = bb->provenance();
      CHECK(p["backbone"] == arch);
      CHECK(p["weights"] == arch + ".safetensors");
      CHECK(p["weights_sha256"] == sha256_file(w));
      CHECK(p["weights_format"] == "safetensors");
      CHECK(p["padding"] == "torchvision");
      CHECK(p["normalization"]["source"] == "metadata (mean/std)");
      CHECK(bb->normalization().mean == Normalization{}.mean);
      CHECK(bb->normalization().std == Normalization{}.std);

      // features() stops after the deepest requested layer and returns only what was asked
      auto ref = tensors_of(dir / (arch + "_ref.safetensors"));
      const std::string mid = arch == "mobilenet_v2" ? "features.3" : "layer1";
      auto f = bb->features(ref.at("input"), {mid});
      REQUIRE(f.size() == 1);
      CHECK(rel_err(f.at(mid), ref.at("layer." + mid)) < kTol);
    }
  }
}

TEST_CASE("mobilenet_v2 with TF SAME padding matches torchvision with the README's padding",
          "[backbones][parity]") {
  const fs::path dir = reference_dir("random");
  auto bb = load_backbone("mobilenet_v2", (dir / "mobilenet_v2_tfsame.safetensors").string(), at::kCPU);
  CHECK(bb->provenance()["padding"] == "tf_same");
  CHECK(bb->normalization().mean == std::array<float, 3>{0.5f, 0.5f, 0.5f});
  CHECK(bb->normalization().std == std::array<float, 3>{0.5f, 0.5f, 0.5f});
  // input 90x75: even and odd sizes at the stride-2 convolutions
  check_parity(*bb, dir / "mobilenet_v2_tfsame_ref.safetensors", "mobilenet_v2 tf_same 90x75");

  // the same weights with torchvision padding give other features (the grid shifts at every
  // stride-2 layer): the padding really is in effect
  auto plain = load_backbone("mobilenet_v2", (dir / "mobilenet_v2.safetensors").string(), at::kCPU);
  auto ref = tensors_of(dir / "mobilenet_v2_tfsame_ref.safetensors");
  CHECK(rel_err(plain->features(ref.at("input"), {"features.3"}).at("features.3"),
                ref.at("layer.features.3")) > 0.1);
}

TEST_CASE("torchscript backbone and TorchScript weights", "[backbones][torchscript]") {
  const fs::path dir = reference_dir("random");
  const fs::path pt = dir / "mobilenet_v2.pt";
  auto ref = tensors_of(dir / "mobilenet_v2_ref.safetensors");
  const at::Tensor x = ref.at("input");

  SECTION("torchscript backbone: layers by submodule name, logits by forward()") {
    auto bb = load_backbone("torchscript", pt.string(), at::kCPU);
    auto layers = bb->layers();
    REQUIRE(layers.size() == 21);  // features.0..18 expanded from the Sequential, classifier.0, .1
    CHECK(layers.front() == "features.0");
    CHECK(layers[18] == "features.18");
    CHECK(layers.back() == "classifier.1");
    auto f = bb->features(x, {"features.3", "features.13", "features.18"});
    for (const std::string n : {"features.3", "features.13", "features.18"}) {
      INFO(n);
      CHECK(rel_err(f.at(n), ref.at("layer." + n)) < kTol);
    }
    CHECK(rel_err(bb->logits(x), ref.at("logits")) < kTol);
    // normalisation from the archive's adbench.json extra file
    CHECK(bb->normalization().std == std::array<float, 3>{0.25f, 0.25f, 0.25f});
    auto p = bb->provenance();
    CHECK(p["weights"] == "mobilenet_v2.pt");
    CHECK(p["weights_sha256"] == sha256_file(pt));
    CHECK(p["normalization"]["source"] == "metadata (mean/std)");
    // classifier.1 needs the pooling that forward() does: a clear error, not a crash
    CHECK_THROWS_WITH(bb->features(x, {"classifier.1"}),
                      Contains("layer 'classifier.1' failed") && Contains("cannot be multiplied"));
  }
  SECTION("a named architecture loads its weights from a TorchScript archive") {
    auto bb = load_backbone("mobilenet_v2", pt.string(), at::kCPU);
    check_parity(*bb, dir / "mobilenet_v2_ref.safetensors", "mobilenet_v2 from TorchScript");
    CHECK(bb->provenance()["weights_format"] == "torchscript");
  }
  CHECK_THROWS_WITH(load_backbone("torchscript", "none", at::kCPU), Contains("needs a TorchScript file"));
}

TEST_CASE("strict weight loading", "[backbones][errors]") {
  const fs::path dir = reference_dir("random");
  const auto good = read_safetensors(dir / "mobilenet_v2.safetensors");
  adbench::test::TempDir tmp("backbones");
  auto write = [&](const std::string& fname, std::map<std::string, at::Tensor> t,
                   std::map<std::string, std::string> md) {
    const fs::path f = tmp / fname;
    write_safetensors(f, t, md);
    return f;
  };

  SECTION("missing file says how to get one") {
    const std::string e = load_error("resnet18", tmp / "nope.safetensors");
    CHECK_THAT(
        e, Contains("nope.safetensors: ") && Contains("not found") && Contains("scripts/export_weights.py"));
  }
  SECTION("missing tensor") {
    auto t = good.tensors;
    t.erase("features.1.conv.1.weight");
    const fs::path f = write("missing.safetensors", t, good.metadata);
    CHECK_THAT(
        load_error("mobilenet_v2", f),
        Contains(f.string() + ": missing tensor 'features.1.conv.1.weight'") && Contains("[16, 32, 1, 1]"));
  }
  SECTION("wrong shape") {
    auto t = good.tensors;
    t["classifier.1.weight"] = t["classifier.1.weight"].reshape({500, 2560});
    const fs::path f = write("shape.safetensors", t, good.metadata);
    CHECK_THAT(load_error("mobilenet_v2", f),
               Contains(f.string() + ": tensor 'classifier.1.weight' has shape "
                                     "[500, 2560], mobilenet_v2 expects [1000, 1280]"));
  }
  SECTION("unexpected tensor") {
    auto t = good.tensors;
    t["extra.weight"] = at::zeros({3});
    const fs::path f = write("extra.safetensors", t, good.metadata);
    CHECK_THAT(load_error("mobilenet_v2", f), Contains(f.string() + ": unexpected tensor 'extra.weight'"));
  }
  SECTION("integer weights") {
    auto t = good.tensors;
    t["features.0.0.weight"] = t["features.0.0.weight"].to(at::kLong);
    const fs::path f = write("int.safetensors", t, good.metadata);
    CHECK_THAT(load_error("mobilenet_v2", f), Contains("'features.0.0.weight' has dtype Long"));
  }
  SECTION("NaN or infinite weights are refused at load, naming the tensor") {
    auto t = good.tensors;
    at::Tensor w = t["features.1.conv.1.weight"].clone();
    w.view({-1})[7] = std::numeric_limits<float>::infinity();
    w.view({-1})[9] = std::numeric_limits<float>::quiet_NaN();
    t["features.1.conv.1.weight"] = w;
    const fs::path f = write("nan.safetensors", t, good.metadata);
    CHECK(load_error("mobilenet_v2", f) ==
          f.string() +
              ": tensor 'features.1.conv.1.weight' has 2 NaN or infinite values (first at flat index 7)");
  }
  SECTION("num_batches_tracked may be absent") {
    std::map<std::string, at::Tensor> t;
    for (const auto& [k, v] : good.tensors)
      if (k.find("num_batches_tracked") == std::string::npos) t[k] = v;
    const fs::path f = write("nbt.safetensors", t, good.metadata);
    CHECK_NOTHROW(load_backbone("mobilenet_v2", f.string(), at::kCPU));
  }
  SECTION("another architecture's file") {
    CHECK_THAT(load_error("resnet18", dir / "mobilenet_v2.safetensors"),
               Contains("metadata 'architecture' is 'mobilenet_v2', not resnet18"));
    auto md = good.metadata;
    md.erase("architecture");
    const fs::path f = write("noarch.safetensors", good.tensors, md);
    CHECK_THAT(load_error("resnet18", f), Contains(f.string() + ": missing tensor 'conv1.weight'"));
  }
  SECTION("not a weights file") {
    const fs::path f = tmp / "junk.bin";
    adbench::write_file_atomic(f, "this is not a weights file");
    CHECK_THAT(load_error("resnet18", f), Contains(f.string() + ": not a weights file"));
  }
  SECTION("TF SAME padding only for mobilenet_v2") {
    auto r18 = read_safetensors(dir / "resnet18.safetensors");
    r18.metadata["padding"] = "tf_same";
    const fs::path f = write("r18tf.safetensors", r18.tensors, r18.metadata);
    CHECK_THAT(load_error("resnet18", f), Contains("TF SAME padding"));
  }
}

TEST_CASE("normalisation from metadata", "[backbones][metadata]") {
  const fs::path dir = reference_dir("random");
  const auto good = read_safetensors(dir / "mobilenet_v2.safetensors");
  adbench::test::TempDir tmp("backbones-md");
  auto load_with = [&](std::map<std::string, std::string> md) {
    const fs::path f = tmp / "w.safetensors";
    write_safetensors(f, good.tensors, md);
    return load_backbone("mobilenet_v2", f.string(), at::kCPU);
  };
  SECTION("explicit mean/std") {
    auto bb = load_with({{"mean", "[0.1, 0.2, 0.3]"}, {"std", "[0.4,0.5,0.6]"}});
    CHECK(bb->normalization().mean == std::array<float, 3>{0.1f, 0.2f, 0.3f});
    CHECK(bb->normalization().std == std::array<float, 3>{0.4f, 0.5f, 0.6f});
    CHECK(bb->provenance()["normalization"]["source"] == "metadata (mean/std)");
  }
  SECTION("free-text input_normalization") {
    auto bb =
        load_with({{"input_normalization", "x/127.5-1 (RGB); equivalently mean=std=[0.5,0.5,0.5] on [0,1]"}});
    CHECK(bb->normalization().mean == std::array<float, 3>{0.5f, 0.5f, 0.5f});
    CHECK(bb->normalization().std == std::array<float, 3>{0.5f, 0.5f, 0.5f});
    CHECK(bb->provenance()["normalization"]["source"] == "metadata (input_normalization)");
    auto bb2 = load_with({{"input_normalization", "mean = [0.1,0.2,0.3], std = [1,2,3]"}});
    CHECK(bb2->normalization().std == std::array<float, 3>{1.f, 2.f, 3.f});
  }
  SECTION("no metadata: torchvision's ImageNet default, torchvision padding") {
    auto bb = load_with({});
    CHECK(bb->normalization().mean == Normalization{}.mean);
    CHECK(bb->provenance()["normalization"]["source"] == "default (torchvision ImageNet)");
    CHECK(bb->provenance()["padding"] == "torchvision");
  }
  SECTION("padding text mentioning TF SAME") {
    CHECK(load_with({{"padding", "source used TF SAME padding: ..."}})->provenance()["padding"] == "tf_same");
  }
  SECTION("bad values") {
    CHECK_THROWS_WITH(load_with({{"mean", "[0.1,0.2]"}, {"std", "[1,1,1]"}}),
                      Contains("metadata 'mean' must be a JSON array of 3 numbers, found '[0.1,0.2]'"));
    CHECK_THROWS_WITH(load_with({{"mean", "[0.1,0.2,0.3]"}}), Contains("'mean' without 'std'"));
    CHECK_THROWS_WITH(load_with({{"mean", "[0,0,0]"}, {"std", "[1,0,1]"}}),
                      Contains("standard deviation <= 0"));
    CHECK_THROWS_WITH(load_with({{"input_normalization", "x/255"}}), Contains("gives no mean/std"));
  }
}

TEST_CASE("random initialisation ('none')", "[backbones]") {
  const at::Tensor x = at::randn({1, 3, 64, 64});
  for (const std::string arch : {"resnet18", "mobilenet_v2"}) {
    at::manual_seed(11);
    auto a = load_backbone(arch, "none", at::kCPU);
    at::manual_seed(11);
    auto b = load_backbone(arch, "none", at::kCPU);
    auto la = a->logits(x), lb = b->logits(x);
    CHECK(la.sizes() == at::IntArrayRef{1, 1000});
    CHECK(at::equal(la, lb));  // seeded by the global generator
    CHECK(la.isfinite().all().item<bool>());
    auto p = a->provenance();
    CHECK(p["weights"] == "none");
    CHECK(p["weights_sha256"].is_null());
    CHECK(p["normalization"]["source"] == "default (torchvision ImageNet)");
  }
}

TEST_CASE("bad inputs to features()", "[backbones][errors]") {
  auto bb = load_backbone("resnet18", "none", at::kCPU);
  CHECK_THROWS_WITH(bb->features(at::zeros({2, 1, 32, 32}), {"layer1"}), Contains("[B, 3, H, W]"));
  CHECK_THROWS_WITH(bb->features(at::zeros({3, 32, 32}), {"layer1"}), Contains("[B, 3, H, W]"));
  CHECK_THROWS_WITH(bb->features(at::zeros({1, 3, 32, 32}), {"layer5"}),
                    Contains("unknown layer 'layer5'") && Contains("layer4") && Contains("avgpool"));
  CHECK_THROWS_AS(bb->features(at::zeros({1, 3, 32, 32}), {}), InputError);
  // an empty image: an InputError naming the layer, without LibTorch's backtrace
  try {
    bb->features(at::zeros({1, 3, 0, 8}), {"layer4"});
    FAIL("no error");
  } catch (const InputError& e) {
    const std::string m = e.what();
    CHECK_THAT(m, Contains("backbone resnet18: layer '") && Contains("failed on input [1, 3, 0, 8]"));
    CHECK(m.find('\n') == std::string::npos);
  }
  auto f = bb->features(at::zeros({1, 3, 32, 32}), {"layer2", "layer1"});
  CHECK(f.at("layer1").sizes() == at::IntArrayRef{1, 64, 8, 8});
  CHECK(f.at("layer2").sizes() == at::IntArrayRef{1, 128, 4, 4});
}

TEST_CASE("normalize()", "[backbones]") {
  Normalization n{{0.5f, 0.25f, 0.0f}, {0.5f, 0.25f, 2.0f}};
  auto y = normalize(at::ones({2, 3, 4, 4}), n);
  CHECK(y[1][0][0][0].item<float>() == Approx(1.0f));
  CHECK(y[1][1][0][0].item<float>() == Approx(3.0f));
  CHECK(y[1][2][0][0].item<float>() == Approx(0.5f));
  CHECK_THROWS_AS(normalize(at::ones({2, 4, 4}), n), InputError);
}
