// Every case of ../shared/golden/metrics_{image,pixel}.json within 1e-6, on both engines and in
// float32 where the golden maps are float32 values.
#include <catch2/catch.hpp>
#include <fstream>
#include <nlohmann/json.hpp>

#include "adbench/metrics/metrics.hpp"
#include "test_util.hpp"

using namespace adbench;
using namespace adbench::metrics;
using nlohmann::json;

namespace {
json load(const std::string& file) {
  std::ifstream in(test::shared_dir() / "golden" / file);
  REQUIRE(in.good());
  return json::parse(in);
}
void check(const std::optional<double>& got, const json& expected, const std::string& what) {
  INFO(what);
  REQUIRE(got.has_value());
  REQUIRE(std::abs(*got - expected.get<double>()) <= 1e-6);
}
}  // namespace

TEST_CASE("golden image-level metrics", "[metrics][golden]") {
  json g = load("metrics_image.json");
  REQUIRE(g["cases"].size() >= 9);
  for (const auto& c : g["cases"]) {
    auto scores = c["scores"].get<std::vector<double>>();
    auto labels = c["labels"].get<std::vector<int64_t>>();
    INFO("case " << c["name"].get<std::string>());
    auto r = binary_metrics(at::tensor(scores, at::kDouble), at::tensor(labels, at::kLong));
    check(r.auroc, c["expected"]["auroc"], "auroc");
    check(r.ap, c["expected"]["ap"], "ap");
    check(r.f1_max, c["expected"]["f1_max"], "f1_max");
    // the same values as one flat point set through the pixel accumulator (both engines)
    for (auto e : {Engine::Radix, Engine::Torch}) {
      Options o;
      o.engine = e;
      PixelAccumulator acc(o);
      acc.add_points(at::tensor(scores, at::kDouble), at::tensor(labels, at::kLong));
      auto p = acc.compute();
      check(p.auroc, c["expected"]["auroc"], "points auroc");
      check(p.ap, c["expected"]["ap"], "points ap");
      check(p.f1_max, c["expected"]["f1_max"], "points f1_max");
    }
  }
}

TEST_CASE("golden pixel-level metrics", "[metrics][golden]") {
  json g = load("metrics_pixel.json");
  REQUIRE(g["cases"].size() >= 4);
  for (const auto& c : g["cases"]) {
    const auto& ex = c["expected"];
    std::vector<at::Tensor> maps, masks;
    std::vector<double> image_scores;
    std::vector<int64_t> image_labels;
    bool float32_exact = true;
    for (const auto& im : c["images"]) {
      const int64_t h = im["height"], w = im["width"];
      auto map = im["map"].get<std::vector<double>>();
      auto mask = im["mask"].get<std::vector<int64_t>>();
      for (double v : map) float32_exact = float32_exact && static_cast<double>(static_cast<float>(v)) == v;
      maps.push_back(at::tensor(map, at::kDouble).reshape({h, w}));
      masks.push_back(at::tensor(mask, at::kLong).reshape({h, w}).to(at::kByte));
      image_scores.push_back(*std::max_element(map.begin(), map.end()));
      int64_t any = 0;
      for (auto m : mask) any |= (m != 0);
      image_labels.push_back(any);
    }
    std::vector<at::ScalarType> dtypes{at::kDouble};
    if (float32_exact) dtypes.push_back(at::kFloat);
    for (auto dt : dtypes) {
      for (auto e : {Engine::Radix, Engine::Torch}) {
        INFO("case " << c["name"].get<std::string>() << " dtype " << c10::toString(dt) << " engine "
                     << (e == Engine::Radix ? "radix" : "torch"));
        Options o;
        o.aupro_limits = {0.3, 0.05, 0.01};
        o.engine = e;
        std::vector<at::Tensor> m;
        for (auto& t : maps) m.push_back(t.to(dt));
        auto r = pixel_metrics(m, masks, o);
        check(r.auroc, ex["pixel_auroc"], "pixel_auroc");
        check(r.ap, ex["pixel_ap"], "pixel_ap");
        check(r.f1_max, ex["pixel_f1_max"], "pixel_f1_max");
        check(r.aupro[0].second, ex["aupro_0.3"], "aupro_0.3");
        check(r.aupro[1].second, ex["aupro_0.05"], "aupro_0.05");
        check(r.aupro[2].second, ex["aupro_0.01"], "aupro_0.01");
        // a huge bin count on these small sets is the exact computation again
        o.aupro_bins = 1 << 30;
        auto rb = pixel_metrics(m, masks, o);
        check(rb.aupro[0].second, ex["aupro_0.3"], "aupro_0.3 with 2^30 bins");
      }
    }
    if (ex.contains("image_auroc_max")) {
      INFO("case " << c["name"].get<std::string>() << " image level");
      auto r = binary_metrics(at::tensor(image_scores, at::kDouble), at::tensor(image_labels, at::kLong));
      check(r.auroc, ex["image_auroc_max"], "image_auroc_max");
      check(r.ap, ex["image_ap_max"], "image_ap_max");
      check(r.f1_max, ex["image_f1_max_max"], "image_f1_max_max");
    }
  }
}
