// Detector registry, configs and variation_model's arithmetic and state round trip.
#include <catch2/catch.hpp>
#include <fstream>
#include <opencv2/imgcodecs.hpp>

#include "adbench/core/error.hpp"
#include "adbench/core/fs.hpp"
#include "adbench/core/safetensors.hpp"
#include "adbench/detectors/detector.hpp"
#include "test_util.hpp"

namespace fs = std::filesystem;
using adbench::test::TempDir;

namespace {
adbench::Sample image_sample(const fs::path& p) {
  adbench::Sample s = adbench::Sample::single(adbench::Modality::Image, p);
  s.stem = p.stem().string();
  return s;
}
}  // namespace

TEST_CASE("every registered detector: configs/<name>.json holds its defaults; config round-trips",
          "[detectors]") {
  adbench::register_builtin_detectors();
  for (const auto& name : adbench::detector_registry().names()) {
    INFO(name);
    auto file = adbench::test::source_dir() / "configs" / (name + ".json");
    REQUIRE(fs::exists(file));
    auto j = nlohmann::json::parse(adbench::read_file(file));
    REQUIRE(j["detector"] == name);
    j.erase("detector");
    j.erase("_comment");
    REQUIRE(j == adbench::detector_default_config(name));
    auto det = adbench::detector_registry().create(name, nlohmann::json::object());
    REQUIRE(det->name() == name);
    auto again = adbench::detector_registry().create(name, det->config());
    REQUIRE(again->config() == det->config());
  }
}

TEST_CASE("merge_config rejects unknown settings and wrong types", "[detectors]") {
  nlohmann::json d = {{"k", 3}, {"x", 0.5}, {"s", "a"}};
  REQUIRE(adbench::merge_config("d", d, {{"x", 1}})["x"] == 1);
  REQUIRE_THROWS_WITH(adbench::merge_config("d", d, {{"y", 1}}),
                      "detector d: unknown setting 'y' (valid: k, s, x)");
  REQUIRE_THROWS_WITH(adbench::merge_config("d", d, {{"k", 1.5}}),
                      "detector d: setting 'k' expects an integer, got 1.5");
  REQUIRE_THROWS_WITH(adbench::merge_config("d", d, {{"s", 2}}),
                      "detector d: setting 's' expects a string, got 2");
}

TEST_CASE("variation_model: per-pixel mean, floored std, max |z| over channels", "[detectors]") {
  TempDir tmp("vm");
  // Three 8x8 training images: R = 50, 100, 150 (mean 100, population std 40.82); G = B = 128.
  std::vector<adbench::Sample> train;
  for (int i = 0; i < 3; ++i) {
    cv::Mat bgr(8, 8, CV_8UC3, cv::Scalar(128, 128, 50 + 50 * i));
    fs::path p = tmp / "t";  // appended, not "t" + std::string: see q() in test_util.hpp
    p += std::to_string(i) + ".png";
    cv::imwrite(p.string(), bgr);
    train.push_back(image_sample(p));
  }
  cv::Mat test(16, 16, CV_8UC3, cv::Scalar(128, 128, 100));
  test.at<cv::Vec3b>(5, 5) = cv::Vec3b(128 + 51, 128, 100);  // B off by 51/255 = 0.2 where std is floored
  cv::imwrite((tmp / "q.png").string(), test);
  adbench::register_builtin_detectors();
  auto det = adbench::detector_registry().create("variation_model", {{"image_size", 8}, {"std_floor", 0.02}});
  adbench::RunContext ctx;
  det->fit(train, ctx);
  auto st = det->state();
  const double sd = std::sqrt(((50.0 * 50 + 0 + 50.0 * 50) / 3.0)) / 255.0;
  REQUIRE(st.at("mean")[0][0][0].item<double>() == Approx(100.0 / 255).epsilon(1e-6));
  REQUIRE(st.at("std")[0][3][3].item<double>() == Approx(sd).epsilon(1e-5));
  REQUIRE(st.at("std")[1][3][3].item<double>() == Approx(0.02).epsilon(1e-6));
  auto preds = det->predict({image_sample(tmp / "q.png")}, ctx);
  REQUIRE(preds[0].map().sizes() == at::IntArrayRef({16, 16}));  // back at the image's size
  // Away from the defect z is 0 (up to float rounding); the score is the map's maximum.
  REQUIRE(preds[0].map()[15][15].item<float>() == Approx(0.0).margin(1e-5));
  REQUIRE(preds[0].score == Approx(preds[0].map().max().item<double>()));
  REQUIRE(preds[0].score > 1.0);  // a 0.2 deviation over a 0.02 floor, area-averaged when downsized 16 -> 8
}

TEST_CASE("variation_model: state round trip gives identical predictions; bad state is refused",
          "[detectors]") {
  TempDir tmp("vm");
  std::vector<adbench::Sample> train;
  cv::RNG rng(3);
  for (int i = 0; i < 4; ++i) {
    cv::Mat img(20, 24, CV_8UC3);
    rng.fill(img, cv::RNG::UNIFORM, 0, 255);
    fs::path p = tmp / "t";  // appended, not "t" + std::string: see q() in test_util.hpp
    p += std::to_string(i) + ".png";
    cv::imwrite(p.string(), img);
    train.push_back(image_sample(p));
  }
  adbench::register_builtin_detectors();
  adbench::RunContext ctx;
  auto a = adbench::detector_registry().create("variation_model", {{"image_size", 16}});
  a->fit(train, ctx);
  adbench::write_safetensors(tmp / "m.safetensors", a->state());
  auto b = adbench::detector_registry().create("variation_model", {{"image_size", 16}});
  b->load_state(adbench::read_safetensors(tmp / "m.safetensors").tensors);
  auto pa = a->predict({train[1]}, ctx), pb = b->predict({train[1]}, ctx);
  REQUIRE(at::equal(pa[0].map(), pb[0].map()));
  REQUIRE(pa[0].score == pb[0].score);
  auto c = adbench::detector_registry().create("variation_model", {{"image_size", 32}});
  REQUIRE_THROWS_WITH(c->load_state(a->state()),
                      "variation_model: tensor 'mean' has shape [3, 16, 16], expected [3, 32, 32]");
  REQUIRE_THROWS_WITH(a->fit({}, ctx), "variation_model: no training images");
}
