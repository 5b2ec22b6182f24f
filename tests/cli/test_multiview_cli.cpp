// Multi-view end to end through the binary (issue 10): `synth --kind multiview` read by the
// `real_iad` adapter; ground-truth masks as a prediction folder give S-, V-, P-AUROC and AUPRO 1,
// a C1-only oracle S-AUROC 0.75 (the generator's golden property); an image detector per view with
// --pred-out, read back by --pred; --split single-view evaluates C1 images at the image level.
#include <catch2/catch.hpp>
#include <fstream>
#include <opencv2/imgcodecs.hpp>

#include "adbench/core/image_io.hpp"
#include "cli_fixtures.hpp"

namespace fs = std::filesystem;
using namespace adbench::test;

namespace {

const fs::path& mv_root() {
  static TempDir tmp("mv-cli");
  static const fs::path root = [] {
    const fs::path r = tmp / "syn";
    const CommandResult c = run_adbench("--quiet synth --kind multiview --out " + q(r));
    INFO(c.err);
    REQUIRE(c.exit_code == 0);
    return r;
  }();
  return root;
}

double level_metric(const nlohmann::json& r, std::size_t cat, const std::string& level,
                    const std::string& m) {
  for (const auto& l : r.at("categories").at(cat).at("levels"))
    if (l.at("level") == level)
      return l.at("metrics").at(m).is_null() ? -1.0 : l.at("metrics").at(m).get<double>();
  FAIL("no level " << level);
  return 0;
}

/// PRED/<category>/<image_path>.tiff from every test view's mask (zeros without one); with
/// `c1_only`, scores.csv gives C1 views their mask's maximum and every other view 0.
void write_mask_predictions(const fs::path& pred, bool c1_only) {
  for (const char* cat : {"crate", "socket"}) {
    const nlohmann::json split = read_json(mv_root() / "realiad_jsons" / (std::string(cat) + ".json"));
    std::ofstream csv;
    if (c1_only) {
      fs::create_directories(pred / cat);
      csv.open(pred / cat / "scores.csv");
      csv << "path,score\n";
    }
    for (const auto& rec : split.at("test")) {
      const std::string image = rec.at("image_path");
      const fs::path img = mv_root() / cat / image;
      at::Tensor map = at::zeros({128, 128});
      if (!rec.at("mask_path").is_null()) {
        const cv::Mat m = adbench::read_mask(mv_root() / cat / rec.at("mask_path").get<std::string>());
        REQUIRE(m.rows == 128);
        for (int y = 0; y < 128; ++y)
          for (int x = 0; x < 128; ++x) map[y][x] = m.at<std::uint8_t>(y, x) ? 1.0f : 0.0f;
      }
      fs::path out = pred / cat / image;
      out.replace_extension(".tiff");
      fs::create_directories(out.parent_path());
      adbench::write_score_map_tiff(out, map);
      if (c1_only) {
        const bool c1 = image.find("_C1_") != std::string::npos;
        csv << image << "," << (c1 ? map.max().item<double>() : 0.0) << "\n";
      }
    }
  }
}

}  // namespace

TEST_CASE("multi-view: ground-truth masks as predictions give 1 everywhere; a C1-only oracle S-AUROC 0.75",
          "[cli][multiview]") {
  TempDir tmp("mv-gt");
  write_mask_predictions(tmp / "gt", false);
  CommandResult r = run_adbench("--quiet eval --pred " + q(tmp / "gt") + " --dataset real_iad --root " +
                                q(mv_root()) + " --category all --out " + q(tmp / "gt.json"));
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  nlohmann::json j = read_json(tmp / "gt.json");
  REQUIRE(j["categories"].size() == 2);
  for (std::size_t c = 0; c < 2; ++c) {
    CAPTURE(c);
    CHECK(level_metric(j, c, "sample", "auroc") == 1.0);
    CHECK(level_metric(j, c, "view", "auroc") == 1.0);
    CHECK(level_metric(j, c, "pixel", "auroc") == 1.0);
    CHECK(level_metric(j, c, "pixel", "aupro_0.3") == Approx(1.0).epsilon(1e-12));
    CHECK(j["categories"][c]["levels"][0]["counts"]["units"] == 24);
    CHECK(j["categories"][c]["levels"][1]["counts"]["units"] == 120);
  }
  CHECK(j["options"]["sample_agg"] == "max");
  write_mask_predictions(tmp / "c1", true);
  r = run_adbench("--quiet eval --pred " + q(tmp / "c1") + " --dataset real_iad --root " + q(mv_root()) +
                  " --category all --out " + q(tmp / "c1.json"));
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  j = read_json(tmp / "c1.json");
  for (std::size_t c = 0; c < 2; ++c) CHECK(level_metric(j, c, "sample", "auroc") == 0.75);
}

TEST_CASE("multi-view: an image detector per view, --pred-out then --pred; --split single-view",
          "[cli][multiview]") {
  TempDir tmp("mv-det");
  CommandResult r =
      run_adbench("--quiet eval --detector variation_model --dataset real_iad --root " + q(mv_root()) +
                  " --category crate --out " + q(tmp / "det.json") + " --pred-out " + q(tmp / "P"));
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  r = run_adbench("--quiet eval --pred " + q(tmp / "P") + " --dataset real_iad --root " + q(mv_root()) +
                  " --category crate --out " + q(tmp / "pred.json"));
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  const nlohmann::json a = read_json(tmp / "det.json"), b = read_json(tmp / "pred.json");
  for (const char* level : {"sample", "view", "pixel"})
    for (const char* m : {"auroc", "ap", "f1_max"}) {
      CAPTURE(level, m);
      CHECK(level_metric(b, 0, level, m) == Approx(level_metric(a, 0, level, m)).epsilon(1e-6));
    }
  CHECK(a["categories"][0]["counts"]["train"] == 24);
  // Single view: C1 images only, evaluated as images.
  r = run_adbench("--quiet --split single-view eval --detector variation_model --dataset real_iad --root " +
                  q(mv_root()) + " --category crate --out " + q(tmp / "sv.json"));
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  const nlohmann::json sv = read_json(tmp / "sv.json");
  CHECK(sv["options"]["split"] == "single-view");
  CHECK(sv["categories"][0]["levels"][0]["level"] == "image");
  CHECK(sv["categories"][0]["levels"][0]["counts"]["units"] == 24);
  // Bad --split: one line, exit 2.
  r = run_adbench("--quiet --split fuiad-0.3 eval --detector variation_model --dataset real_iad --root " +
                  q(mv_root()) + " --category crate --out " + q(tmp / "bad.json"));
  CHECK(r.exit_code == 2);
  CHECK(
      r.err ==
      "adbench: error: --split fuiad-0.3: unknown split of dataset real_iad (valid: multi-view, single-view, "
      "fuiad-0.0, fuiad-0.1, fuiad-0.2, fuiad-0.4)\n");
  CHECK(!fs::exists(tmp / "bad.json"));
}

TEST_CASE("multi-view: bad ground truth and bad view maps are one line naming the file and the view, exit 2",
          "[cli][multiview]") {
  TempDir tmp("mv-bad");
  const nlohmann::json split = read_json(mv_root() / "realiad_jsons" / "crate.json");
  std::string bad_view, good_view;  // image_path of the first anomalous / first normal test view
  for (const auto& rec : split.at("test")) {
    if (bad_view.empty() && !rec.at("mask_path").is_null()) bad_view = rec.at("image_path");
    if (good_view.empty() && rec.at("mask_path").is_null()) good_view = rec.at("image_path");
  }
  REQUIRE(!bad_view.empty());
  REQUIRE(!good_view.empty());
  auto with_ext = [](std::string p, const char* ext) { return fs::path(p).replace_extension(ext).string(); };
  // Runs eval on PRED and the given root; expects exit 2, exactly `err` on stderr, no result file.
  auto expect_error = [&](const fs::path& pred, const fs::path& root, const std::string& extra,
                          const std::string& err) {
    const fs::path out = tmp / "r.json";
    CommandResult r = run_adbench("--quiet eval --pred " + q(pred) + " --dataset real_iad --root " + q(root) +
                                  " --category crate" + extra + " --out " + q(out));
    CHECK(r.exit_code == 2);
    CHECK(r.err == "adbench: error: " + err + "\n");
    CHECK(!fs::exists(out));
  };

  SECTION("a mask whose size differs from its image: the mask file and both sizes") {
    write_mask_predictions(tmp / "P", false);
    copy_tree(mv_root(), tmp / "root");
    const fs::path mask = tmp / "root" / "crate" / with_ext(bad_view, ".png");
    REQUIRE(fs::exists(mask));
    REQUIRE(cv::imwrite(mask.string(), cv::Mat(64, 96, CV_8UC1, cv::Scalar(255))));
    expect_error(tmp / "P", tmp / "root", "",
                 mask.string() + ": mask is 96x64 but its image " +
                     (tmp / "root" / "crate" / bad_view).string() + " is 128x128");
  }
  SECTION("a missing view map: the file expected and the view") {
    write_mask_predictions(tmp / "P", false);
    REQUIRE(fs::remove(tmp / "P" / "crate" / with_ext(good_view, ".tiff")));
    expect_error(tmp / "P", mv_root(), "",
                 (tmp / "P" / "crate").string() +
                     ": 1 of 120 view maps missing (first: " + with_ext(good_view, ".tiff") + " for view " +
                     good_view + "; a view's map is its image_path with .tiff, .tif or .npy)");
  }
  SECTION("NaN in a view map: the map file and the view") {
    write_mask_predictions(tmp / "P", false);
    const fs::path map = tmp / "P" / "crate" / with_ext(good_view, ".tiff");
    at::Tensor m = at::zeros({128, 128});
    m[3][4] = std::nanf("");
    m[5][6] = std::nanf("");
    adbench::write_score_map_tiff(map, m);
    expect_error(tmp / "P", mv_root(), "",
                 map.string() + " (view " + good_view + "): map has 2 non-finite values (NaN or infinite)");
  }
  SECTION(
      "a view map of another size than its mask: resized, or with --no-resize the map file, the view, "
      "both sizes") {
    write_mask_predictions(tmp / "P", false);
    const fs::path map = tmp / "P" / "crate" / with_ext(bad_view, ".tiff");
    adbench::write_score_map_tiff(map, at::zeros({64, 64}));
    expect_error(tmp / "P", mv_root(), " --no-resize",
                 map.string() + " (view " + bad_view + "): map is 64x64 but its mask " +
                     (mv_root() / "crate" / with_ext(bad_view, ".png")).string() +
                     " is 128x128 (--no-resize forbids resizing)");
    CommandResult r = run_adbench("--quiet eval --pred " + q(tmp / "P") + " --dataset real_iad --root " +
                                  q(mv_root()) + " --category crate --out " + q(tmp / "ok.json"));
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    const nlohmann::json j = read_json(tmp / "ok.json");
    CHECK(j["categories"][0]["levels"][2]["counts"]["resized_maps"] == 1);
  }
}
