// The evaluation driver with a fake predictor: counts, warnings, metric levels and the prediction
// writer's output for an image category, an xyz-grid (mvtec_3d) category and an unorganised point
// category, pinned by independent references (rank AUROC over all units / pixels / points) and by
// values recorded before the driver was unified (issue 8).
#include <catch2/catch.hpp>
#include <cmath>
#include <map>
#include <sstream>

#include "adbench/bench/pipeline.hpp"
#include "adbench/bench/predictions.hpp"
#include "adbench/core/fs.hpp"
#include "adbench/core/image_io.hpp"
#include "adbench/datasets/dataset.hpp"
#include "adbench/datasets/synth.hpp"
#include "adbench/datasets/synth_points.hpp"
#include "adbench/pointcloud/cloud.hpp"
#include "test_util.hpp"

namespace fs = std::filesystem;
using namespace adbench;
using adbench::test::TempDir;

namespace {

// ---- the only places that know the Sample / Prediction / CategoryResult types ----

const fs::path& unit_path(const Sample& s) { return s.path(); }
std::optional<fs::path> unit_truth(const Sample& s) { return s.truth(); }

Prediction make_prediction(at::Tensor map, double score) { return Prediction::single(std::move(map), score); }

/// Metrics of a result by "<level>.<metric>" (the coarsest level as "sample"), plus the counts the
/// driver reported before metric levels, by "count.<name>".
std::map<std::string, double> flatten(const CategoryResult& r) {
  std::map<std::string, double> out;
  REQUIRE(!r.levels.empty());
  for (size_t i = 0; i < r.levels.size(); ++i) {
    const LevelResult& l = r.levels[i];
    const std::string name = i == 0 ? "sample" : l.level;
    for (const auto& [k, v] : l.metrics) {
      if (!v) continue;
      // "aupro_0.3" -> "aupro_0.30" (the keys pinned below).
      std::string key = k;
      if (k.rfind("aupro_", 0) == 0) key = "aupro_" + std::to_string(std::stod(k.substr(6))).substr(0, 4);
      out[name + "." + key] = *v;
    }
  }
  const LevelResult& s = r.levels.front();
  const LevelResult* fine = r.levels.size() > 1 ? &r.levels.back() : nullptr;
  auto fc = [&](const char* k) { return fine ? double(fine->count(k)) : 0.0; };
  out["count.train"] = double(r.train);
  out["count.test"] = double(r.test);
  out["count.test_normal"] = double(s.count("normal"));
  out["count.test_anomalous"] = double(s.count("anomalous"));
  out["count.masks"] = fc("masks");
  out["count.empty_masks"] = fc("empty_masks");
  out["count.pixels"] = fc("units");
  out["count.anomalous_pixels"] = fc("anomalous");
  out["count.regions"] = fc("regions");
  out["count.resized_maps"] = fc("resized_maps");
  return out;
}

/// Level names, the coarsest as "sample" whatever its name (its name is checked separately).
std::vector<std::string> levels_of(const CategoryResult& r) {
  std::vector<std::string> out;
  for (size_t i = 0; i < r.levels.size(); ++i) out.push_back(i == 0 ? "sample" : r.levels[i].level);
  return out;
}

// ---- fake predictions: deterministic, depend on the ground truth so metrics are non-trivial ----

/// A value in [0, 1) from an integer: a fixed hash.
float hash01(std::uint64_t x) {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdULL;
  x ^= x >> 33;
  return float(x % 10007) / 10007.0f;
}

std::uint64_t key_of(const Sample& s) {
  std::uint64_t h = 1469598103934665603ULL;
  for (char c : s.rel_path) h = (h ^ static_cast<unsigned char>(c)) * 1099511628211ULL;
  return h;
}

/// Image: map = 0.6 * mask + 0.5 * hash noise (so pixel AUROC < 1); the map is half the image's
/// size on even-indexed defects (resized by the driver). Score: max of the map plus noise.
Prediction fake_image(const Sample& s, int idx) {
  cv::Size size = read_image_size(unit_path(s));
  at::Tensor gt = at::zeros({size.height, size.width}, at::kFloat);
  if (unit_truth(s)) gt = mask_to_tensor(read_mask(*unit_truth(s))).to(at::kFloat);
  at::Tensor noise = at::empty({size.height, size.width}, at::kFloat);
  auto a = noise.accessor<float, 2>();
  const std::uint64_t k = key_of(s);
  for (int64_t y = 0; y < size.height; ++y)
    for (int64_t x = 0; x < size.width; ++x) a[y][x] = hash01(k + std::uint64_t(y * size.width + x));
  at::Tensor map = 0.6f * gt + 0.5f * noise;
  if (idx % 2 == 0 && s.label)
    map = at::upsample_bilinear2d(map.unsqueeze(0).unsqueeze(0), {size.height / 2, size.width / 2}, false)
              .squeeze(0)
              .squeeze(0);
  return make_prediction(map, double(s.label) * 0.02 + hash01(k * 31 + 5));
}

/// xyz grid: an [H,W] map on the grid: 0.3 * gt + 0.5 * noise.
Prediction fake_grid(const Sample& s) {
  pointcloud::Cloud c = pointcloud::read_cloud(unit_path(s));
  at::Tensor gt = at::zeros({c.height, c.width}, at::kFloat);
  if (unit_truth(s)) gt = mask_to_tensor(read_mask(*unit_truth(s))).to(at::kFloat);
  at::Tensor noise = at::empty({c.height, c.width}, at::kFloat);
  auto a = noise.accessor<float, 2>();
  const std::uint64_t k = key_of(s);
  for (int64_t y = 0; y < c.height; ++y)
    for (int64_t x = 0; x < c.width; ++x) a[y][x] = hash01(k + std::uint64_t(y * c.width + x));
  return make_prediction(0.3f * gt + 0.5f * noise, double(s.label) * 0.2 + hash01(k + 7));
}

/// Unorganised cloud: [N] per-point scores: 0.3 * label + 0.5 * noise.
Prediction fake_points(const Sample& s) {
  const int64_t n = pointcloud::cloud_point_count(unit_path(s));
  at::Tensor lab = unit_truth(s)
                       ? pointcloud::read_point_labels(*unit_truth(s), n, unit_path(s)).to(at::kFloat)
                       : at::zeros({n}, at::kFloat);
  at::Tensor noise = at::empty({n}, at::kFloat);
  const std::uint64_t k = key_of(s);
  for (int64_t i = 0; i < n; ++i) noise[i] = hash01(k + std::uint64_t(i));
  return make_prediction(0.3f * lab + 0.5f * noise, double(s.label) * 0.25 + hash01(k + 3));
}

struct Collected {
  std::vector<double> scores;
  std::vector<int> labels;
};

BatchPredictor recording(std::function<Prediction(const Sample&, int)> f, Collected& c, int& calls) {
  return [f, &c, &calls](const std::vector<Sample>& batch) {
    std::vector<Prediction> out;
    for (const auto& s : batch) {
      out.push_back(f(s, int(c.scores.size())));
      c.scores.push_back(out.back().score);
      c.labels.push_back(s.label);
    }
    ++calls;
    return out;
  };
}

CommonOptions common_opts(int batch) {
  CommonOptions o;
  o.batch_size = batch;
  return o;
}

CategoryData load(const std::string& dataset, const fs::path& root, const std::string& category) {
  register_builtin_datasets();
  return dataset_registry().create(dataset)->load(root, category);
}

void dump(const std::string& tag, const std::map<std::string, double>& m) {
  if (!std::getenv("ADBENCH_DUMP")) return;
  for (const auto& [k, v] : m) std::printf("%s {\"%s\", %.17g},\n", tag.c_str(), k.c_str(), v);
}

void check_near(const std::map<std::string, double>& got, const std::map<std::string, double>& want) {
  for (const auto& [k, v] : want) {
    INFO(k);
    REQUIRE(got.count(k) == 1);
    CHECK(got.at(k) == Approx(v).epsilon(0).margin(1e-9));
  }
}

std::vector<std::string> files_under(const fs::path& dir) {
  std::vector<std::string> out;
  for (const auto& e : fs::recursive_directory_iterator(dir))
    if (e.is_regular_file()) out.push_back(fs::relative(e.path(), dir).generic_string());
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

TEST_CASE("evaluate: image category with masks, fake predictor, writer round trip", "[bench]") {
  TempDir tmp("bench-img");
  SynthOptions so;
  so.train_good = 2;
  so.test_good = 2;
  so.per_defect = 1;
  so.categories = {"weave"};
  so.image_size = 48;
  write_synthetic_dataset(tmp / "data", 11, so);
  CategoryData data = load("mvtec_ad", tmp / "data", "weave");
  REQUIRE(data.test.size() == 6);

  Collected col;
  int calls = 0;
  EvalOptions eval;
  PredictionWriter writer(tmp / "pred", "weave", /*heatmaps=*/true, false);
  CategoryResult r =
      evaluate_category(data, recording(fake_image, col, calls), eval, common_opts(4), &writer);
  writer.commit({{"detector", "fake"}});
  CHECK(calls == 2);  // 6 test images in batches of 4
  CHECK(r.category == "weave");
  CHECK(levels_of(r) == std::vector<std::string>{"sample", "pixel"});
  CHECK(r.levels[0].level == "image");
  auto got = flatten(r);
  dump("image", got);
  // Sample level against the rank reference over the collected scores.
  CHECK(got["sample.auroc"] == Approx(test::rank_auroc(col.scores, col.labels)).margin(1e-12));
  check_near(got, {{"count.train", 2},
                   {"count.test", 6},
                   {"count.test_normal", 2},
                   {"count.test_anomalous", 4},
                   {"count.masks", 4},
                   {"count.empty_masks", 0},
                   {"count.pixels", 6 * 48 * 48},
                   {"count.resized_maps", 2}});
  // The resized maps warning, and nothing else.
  REQUIRE(r.warnings.size() == 1);
  CHECK(r.warnings[0] == "category weave: 2 maps resized bilinearly to their mask's size");
  // Recorded before the driver was unified (issue 8): must not move.
  check_near(got, {
                      {"count.anomalous_pixels", 82},
                      {"count.empty_masks", 0},
                      {"count.masks", 4},
                      {"count.pixels", 13824},
                      {"count.regions", 4},
                      {"count.resized_maps", 2},
                      {"count.test", 6},
                      {"count.test_anomalous", 4},
                      {"count.test_normal", 2},
                      {"count.train", 2},
                      {"pixel.ap", 0.86985056429696073},
                      {"pixel.aupro_0.30", 0.93797224846803917},
                      {"pixel.auroc", 0.98677101710618331},
                      {"pixel.f1_max", 0.90909090909090906},
                      {"sample.ap", 0.85416666666666663},
                      {"sample.auroc", 0.625},
                      {"sample.f1_max", 0.80000000000000004},
                  });
  CHECK(got.size() == 17);

  // Writer output: one map per test image, scores.csv, prediction.json, heatmaps.
  auto files = files_under(tmp / "pred" / "weave");
  CHECK(std::count_if(files.begin(), files.end(), [](auto& f) { return f.ends_with(".tiff"); }) == 6);
  CHECK(std::count_if(files.begin(), files.end(), [](auto& f) { return f.starts_with("heatmaps/"); }) == 6);
  CHECK(std::count(files.begin(), files.end(), "scores.csv") == 1);
  CHECK(std::count(files.begin(), files.end(), "prediction.json") == 1);

  // One record renders JSON, CSV and table from the same levels.
  ResultRecord rec;
  rec.dataset = "mvtec_ad";
  rec.source = {{"kind", "predictions"}, {"path", "/p"}};
  rec.device = "cpu";
  rec.categories.push_back(r);
  const std::string rows = rec.csv_rows();
  CHECK(std::count(rows.begin(), rows.end(), '\n') == 2);
  const std::string header = ResultRecord::csv_header();
  CHECK(header.rfind(
            "adbench.csv/2,created_utc,git_commit,dataset,category,setting,level,source,detector,spec,", 0) ==
        0);
  CHECK(csv_schema_of(header) == "adbench.csv/2");
  const auto commas = std::count(header.begin(), header.end(), ',');
  std::istringstream lines(rows);
  std::string line;
  std::vector<std::string> levels;
  while (std::getline(lines, line)) {
    CHECK(std::count(line.begin(), line.end(), ',') == commas);  // no quoted cells here
    std::vector<std::string> cells;
    std::istringstream ls(line);
    for (std::string c; std::getline(ls, c, ',');) cells.push_back(c);
    REQUIRE(cells.size() > 8);
    CHECK(cells[7] == "predictions:/p");
    levels.push_back(cells[6]);
  }
  CHECK(levels == std::vector<std::string>{"image", "pixel"});
  nlohmann::json j = rec.to_json();
  CHECK(j["schema"] == "adbench.result/2");
  CHECK(j["categories"][0]["levels"][1]["metrics"]["auroc"].get<double>() ==
        Approx(got["pixel.auroc"]).margin(1e-15));
  CHECK(j["categories"][0]["levels"][1]["counts"]["resized_maps"] == 2);
  CHECK(j["mean"]["pixel"]["categories_counted"]["auroc"] == 1);
  const std::string table = rec.table();
  CHECK(table.find("I-AUROC") != std::string::npos);
  CHECK(table.find("P-AUPRO@0.3") != std::string::npos);

  // Reading the folder back gives the same metrics (maps were written at their own size).
  PredictionReader reader(tmp / "pred", "weave", data.test);
  BatchPredictor from_folder = [&reader](const std::vector<Sample>& b) {
    std::vector<Prediction> out;
    for (const auto& s : b) out.push_back(reader.read(s));
    return out;
  };
  CategoryResult back = evaluate_category(data, from_folder, eval, common_opts(3), nullptr);
  auto got2 = flatten(back);
  for (const auto& [k, v] : got) {
    INFO(k);
    CHECK(got2[k] == Approx(v).margin(1e-6));
  }
}

TEST_CASE("evaluate: image category without masks warns and has no pixel level", "[bench]") {
  TempDir tmp("bench-nomask");
  SynthOptions so;
  so.train_good = 1;
  so.test_good = 2;
  so.per_defect = 1;
  so.categories = {"cap"};
  so.image_size = 40;
  write_synthetic_dataset(tmp / "data", 5, so);
  fs::remove_all(tmp / "data" / "cap" / "ground_truth");
  CategoryData data = load("mvtec_ad", tmp / "data", "cap");
  Collected col;
  int calls = 0;
  CategoryResult r = evaluate_category(data, recording(fake_image, col, calls), {}, common_opts(16), nullptr);
  CHECK(calls == 1);
  CHECK(levels_of(r) == std::vector<std::string>{"sample"});
  REQUIRE(r.warnings.size() == 1);
  CHECK(r.warnings[0] ==
        "category cap: no ground-truth masks in the test set; evaluated at image level only (pixel metrics "
        "null)");
  auto got = flatten(r);
  CHECK(got["count.test"] == 7);
  CHECK(got["count.masks"] == 0);
  CHECK(got["count.pixels"] == 0);
  CHECK(got["sample.auroc"] == Approx(test::rank_auroc(col.scores, col.labels)).margin(1e-12));
}

TEST_CASE("evaluate: xyz-grid category (mvtec_3d) excludes missing points", "[bench]") {
  TempDir tmp("bench-xyz");
  PointSynthOptions po;
  po.grid = 32;
  po.train = 1;
  po.test_good = 2;
  po.per_defect = 1;
  write_synthetic_xyz_dataset(tmp / "data", 3, po);
  CategoryData data = load("mvtec_3d", tmp / "data", "disc");
  REQUIRE(data.test.size() == 5);
  Collected col;
  int calls = 0;
  PredictionWriter writer(tmp / "pred", "disc", false, false);
  CategoryResult r =
      evaluate_category(data, recording([](const Sample& s, int) { return fake_grid(s); }, col, calls), {},
                        common_opts(2), &writer);
  writer.commit({{"detector", "fake"}});
  CHECK(calls == 3);
  CHECK(levels_of(r) == std::vector<std::string>{"sample", "pixel"});
  CHECK(r.levels[0].level == "sample");
  CHECK(r.warnings.empty());
  auto got = flatten(r);
  dump("xyz", got);
  CHECK(got["sample.auroc"] == Approx(test::rank_auroc(col.scores, col.labels)).margin(1e-12));
  // Valid points only: every grid cell minus the missing background and dropouts.
  int64_t valid = 0;
  for (const auto& s : data.test) valid += pointcloud::read_cloud(unit_path(s)).size();
  CHECK(got["count.pixels"] == double(valid));
  CHECK(got["count.pixels"] < 5 * 32 * 32);
  CHECK(got["count.masks"] == 3);
  // mvtec_3d always reports AUPRO at 0.3 and 0.01.
  CHECK(got.count("pixel.aupro_0.30") == 1);
  CHECK(got.count("pixel.aupro_0.01") == 1);
  // Recorded before the driver was unified (issue 8): must not move.
  check_near(got, {
                      {"count.anomalous_pixels", 26},
                      {"count.empty_masks", 0},
                      {"count.masks", 3},
                      {"count.pixels", 2876},
                      {"count.regions", 3},
                      {"count.resized_maps", 0},
                      {"count.test", 5},
                      {"count.test_anomalous", 3},
                      {"count.test_normal", 2},
                      {"count.train", 1},
                      {"pixel.ap", 0.61531575208527034},
                      {"pixel.aupro_0.01", 0.58743449532923198},
                      {"pixel.aupro_0.30", 0.79878547378546816},
                      {"pixel.auroc", 0.93283400809716599},
                      {"pixel.f1_max", 0.69999999999999996},
                      {"sample.ap", 0.91666666666666663},
                      {"sample.auroc", 0.83333333333333337},
                      {"sample.f1_max", 0.8571428571428571},
                  });
  CHECK(got.size() == 18);
  // [H,W] grid maps are written as .tiff (MVTec 3D-AD evaluation layout) and .npy.
  CHECK(files_under(tmp / "pred" / "disc") ==
        std::vector<std::string>{".adbench-output", "prediction.json", "scores.csv", "test/bump/000.npy",
                                 "test/bump/000.tiff", "test/crack/000.npy", "test/crack/000.tiff",
                                 "test/dent/000.npy", "test/dent/000.tiff", "test/good/000.npy",
                                 "test/good/000.tiff", "test/good/001.npy", "test/good/001.tiff"});
}

TEST_CASE("evaluate: unorganised point category, point level", "[bench]") {
  TempDir tmp("bench-pts");
  PointSynthOptions po;
  po.points = 600;
  po.train = 1;
  po.test_good = 2;
  po.per_defect = 1;
  write_synthetic_pointcloud_dataset(tmp / "data", 9, po);
  CategoryData data = load("real3d_ad", tmp / "data", "plate");
  REQUIRE(data.test.size() == 6);
  Collected col;
  int calls = 0;
  PredictionWriter writer(tmp / "pred", "plate", false, false);
  CategoryResult r =
      evaluate_category(data, recording([](const Sample& s, int) { return fake_points(s); }, col, calls), {},
                        common_opts(5), &writer);
  writer.commit({{"detector", "fake"}});
  CHECK(calls == 2);
  CHECK(levels_of(r) == std::vector<std::string>{"sample", "point"});
  CHECK(r.levels[0].level == "sample");
  CHECK(r.warnings.empty());
  auto got = flatten(r);
  dump("points", got);
  CHECK(got["sample.auroc"] == Approx(test::rank_auroc(col.scores, col.labels)).margin(1e-12));
  // Point level against the rank reference over every point of the test set.
  std::vector<double> ps;
  std::vector<int> pl;
  int64_t positives = 0;
  for (const auto& s : data.test) {
    Prediction p = fake_points(s);
    const int64_t n = p.map().size(0);
    at::Tensor lab = unit_truth(s) ? pointcloud::read_point_labels(*unit_truth(s), n, unit_path(s))
                                   : at::zeros({n}, at::kByte);
    for (int64_t i = 0; i < n; ++i) {
      ps.push_back(p.map()[i].item<float>());
      pl.push_back(lab[i].item<int>() != 0);
      positives += pl.back();
    }
  }
  CHECK(got["point.auroc"] == Approx(test::rank_auroc(ps, pl)).margin(1e-9));
  CHECK(got["count.pixels"] == double(ps.size()));
  CHECK(got["count.anomalous_pixels"] == double(positives));
  CHECK(got.count("point.aupro_0.30") == 0);  // points have no regions
  // Recorded before the driver was unified (issue 8): must not move.
  check_near(got, {
                      {"count.anomalous_pixels", 33},
                      {"count.empty_masks", 0},
                      {"count.masks", 4},
                      {"count.pixels", 3597},
                      {"count.regions", 0},
                      {"count.resized_maps", 0},
                      {"count.test", 6},
                      {"count.test_anomalous", 4},
                      {"count.test_normal", 2},
                      {"count.train", 1},
                      {"point.ap", 0.68200299001440567},
                      {"point.auroc", 0.9504812434105363},
                      {"point.f1_max", 0.77777777777777779},
                      {"sample.ap", 0.88749999999999996},
                      {"sample.auroc", 0.75},
                      {"sample.f1_max", 0.88888888888888884},
                  });
  CHECK(got.size() == 16);
  CHECK(files_under(tmp / "pred" / "plate") ==
        std::vector<std::string>{".adbench-output", "prediction.json", "scores.csv", "test/bump/2_bump.npy",
                                 "test/crack/3_crack.npy", "test/dent/4_dent.npy", "test/good/0_good.npy",
                                 "test/good/1_good.npy", "test/hole/5_hole.npy"});
}

TEST_CASE("evaluate: a predictor returning the wrong number of predictions is an internal error", "[bench]") {
  TempDir tmp("bench-count");
  SynthOptions so;
  so.train_good = 1;
  so.test_good = 1;
  so.per_defect = 1;
  so.categories = {"weave"};
  so.image_size = 32;
  write_synthetic_dataset(tmp / "data", 1, so);
  CategoryData data = load("mvtec_ad", tmp / "data", "weave");
  BatchPredictor short_by_one = [](const std::vector<Sample>& b) {
    std::vector<Prediction> out;
    for (size_t i = 0; i + 1 < b.size(); ++i) out.push_back(make_prediction(at::zeros({32, 32}), 0));
    return out;
  };
  CHECK_THROWS_AS(evaluate_category(data, short_by_one, {}, common_opts(8), nullptr), InternalError);
}
