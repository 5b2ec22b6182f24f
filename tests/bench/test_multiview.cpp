// Multi-view samples in the evaluation driver and image detectors run per view (issue 10): the
// sample score aggregated from the views' (--sample-agg), the view and pixel levels, and
// PerViewDetector (one model over all views, or one per camera) with its state round trip.
#include <catch2/catch.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <set>

#include "adbench/bench/evaluate.hpp"
#include "adbench/bench/predictions.hpp"
#include "adbench/detectors/per_view.hpp"
#include "test_util.hpp"

namespace fs = std::filesystem;
using namespace adbench;
using adbench::test::TempDir;

namespace {

/// A multi-view category written to `dir`: 32 x 32 grey noise views C1..C5 (train: 6 normal
/// samples); test: A and B normal, C anomalous in C1, D anomalous in C3 (a white 6 x 6 square and
/// its mask).
CategoryData multiview_category(const fs::path& dir) {
  CategoryData d;
  d.dataset = "test";
  d.category = "obj";
  d.root = dir;
  d.modality = Modality::MultiView;
  d.truth = CategoryData::Truth::Masks;
  d.has_truth = true;
  cv::RNG rng(7);
  auto sample = [&](const std::string& split, const std::string& key, int anomalous_view) {
    Sample s;
    s.category = "obj";
    s.split = split;
    s.modality = Modality::MultiView;
    s.stem = key;
    s.label = anomalous_view >= 0;
    s.defect = s.label ? "NG" : "good";
    s.rel_path = s.defect + "/" + key;
    for (int v = 0; v < 5; ++v) {
      Unit u;
      u.name = "C" + std::to_string(v + 1);
      cv::Mat img(32, 32, CV_8UC3);
      rng.fill(img, cv::RNG::NORMAL, cv::Scalar::all(128), cv::Scalar::all(10));
      u.path = dir / (split + "_" + key + "_" + u.name + ".png");
      if (v == anomalous_view) {
        cv::rectangle(img, cv::Rect(10, 12, 6, 6), cv::Scalar::all(255), cv::FILLED);
        cv::Mat mask = cv::Mat::zeros(32, 32, CV_8UC1);
        cv::rectangle(mask, cv::Rect(10, 12, 6, 6), cv::Scalar(255), cv::FILLED);
        const fs::path m = dir / (split + "_" + key + "_" + u.name + "_mask.png");
        REQUIRE(cv::imwrite(m.string(), mask));
        u.truth = m;
        u.label = 1;
      }
      REQUIRE(cv::imwrite(u.path.string(), img));
      s.units.push_back(u);
    }
    return s;
  };
  for (int i = 0; i < 6; ++i) d.train.push_back(sample("train", "t" + std::to_string(i), -1));
  d.test = {sample("test", "A", -1), sample("test", "B", -1), sample("test", "C", 0), sample("test", "D", 2)};
  return d;
}

const LevelResult& level(const CategoryResult& r, const std::string& name) {
  for (const auto& l : r.levels)
    if (l.level == name) return l;
  FAIL("no level " << name);
  return r.levels.front();
}

}  // namespace

TEST_CASE("multi-view evaluation: sample score from the views (--sample-agg), view and pixel levels",
          "[bench][multiview]") {
  TempDir tmp("mv-eval");
  const CategoryData data = multiview_category(tmp.path());
  // View scores per test sample; the predictor's own sample score (0) is ignored.
  const std::map<std::string, std::vector<double>> views = {{"A", {0.1, 0.1, 0.1, 0.1, 0.9}},
                                                            {"B", {0.2, 0.2, 0.2, 0.2, 0.2}},
                                                            {"C", {0.8, 0.3, 0.3, 0.3, 0.3}},
                                                            {"D", {0.3, 0.3, 0.3, 0.3, 0.3}}};
  BatchPredictor oracle_maps = [&](const std::vector<Sample>& batch) {
    std::vector<Prediction> out;
    for (const auto& s : batch) {
      Prediction p;
      p.score = 0;
      for (std::size_t u = 0; u < s.units.size(); ++u) {
        UnitOutput o;
        o.map = at::zeros({32, 32});
        if (s.units[u].truth) o.map.slice(0, 12, 18).slice(1, 10, 16).fill_(1.0);  // the mask's square
        o.score = views.at(s.stem)[u];
        p.units.push_back(std::move(o));
      }
      out.push_back(std::move(p));
    }
    return out;
  };
  EvalOptions eval;
  CategoryResult r = evaluate_category(data, oracle_maps, eval, CommonOptions{}, nullptr);
  REQUIRE(r.levels.size() == 3);
  CHECK(r.levels[0].level == "sample");
  CHECK(r.levels[1].level == "view");
  CHECK(r.levels[2].level == "pixel");
  // Max: anomalous {0.8, 0.3} against normal {0.9, 0.2}: 2 of 4 pairs.
  CHECK(*level(r, "sample").metric("auroc") == 0.5);
  // Views: 0.8 beats 17 of the 18 normal views; 0.3 beats 9 and ties 8: (17 + 9 + 4) / 36.
  CHECK(*level(r, "view").metric("auroc") == Approx(30.0 / 36.0).epsilon(1e-12));
  CHECK(level(r, "view").count("units") == 20);
  CHECK(level(r, "view").count("anomalous") == 2);
  // Ground-truth masks as maps: pixel AUROC and AUPRO 1.
  CHECK(*level(r, "pixel").metric("auroc") == 1.0);
  CHECK(*level(r, "pixel").metric("aupro_0.3") == Approx(1.0).epsilon(1e-12));
  // Mean: anomalous {0.38, 0.3} against normal {0.26, 0.2}: all 4 pairs.
  eval.sample_agg = SampleAgg::Mean;
  r = evaluate_category(data, oracle_maps, eval, CommonOptions{}, nullptr);
  CHECK(*level(r, "sample").metric("auroc") == 1.0);
  CHECK(*level(r, "view").metric("auroc") == Approx(30.0 / 36.0).epsilon(1e-12));
}

TEST_CASE("PerViewDetector: an image detector on every view, shared or per camera, state round trip",
          "[bench][multiview]") {
  TempDir tmp("mv-det");
  const CategoryData data = multiview_category(tmp.path());
  register_builtin_detectors();
  for (const bool banks : {false, true}) {
    CAPTURE(banks);
    auto det = make_per_view_detector("variation_model", {{kPerViewBanks, banks}});
    CHECK(det->name() == "variation_model");
    CHECK(det->modality() == Modality::MultiView);
    CHECK(det->config().at(kPerViewBanks) == banks);
    det->fit(data.train, RunContext{});
    const auto st = det->state();
    REQUIRE(!st.empty());
    std::set<std::string> prefixes;
    for (const auto& [k, t] : st)
      prefixes.insert(k.substr(0, k.find('/') == std::string::npos ? 0 : k.find('/')));
    if (banks)
      CHECK(prefixes == std::set<std::string>{"C1", "C2", "C3", "C4", "C5"});
    else
      CHECK(prefixes == std::set<std::string>{""});
    const std::vector<Prediction> p = det->predict(data.test, RunContext{});
    REQUIRE(p.size() == 4);
    for (std::size_t i = 0; i < p.size(); ++i) {
      REQUIRE(p[i].units.size() == 5);
      double mx = -1e300;
      for (const auto& u : p[i].units) {
        CHECK(u.map.sizes() == at::IntArrayRef({32, 32}));
        mx = std::max(mx, u.score);
      }
      CHECK(p[i].score == mx);
    }
    // The white square is the most anomalous view of C and of D.
    auto argmax = [](const Prediction& q) {
      std::size_t best = 0;
      for (std::size_t u = 1; u < q.units.size(); ++u)
        if (q.units[u].score > q.units[best].score) best = u;
      return best;
    };
    CHECK(argmax(p[2]) == 0);
    CHECK(argmax(p[3]) == 2);
    // A fresh wrapper with the saved state predicts the same.
    auto again = make_per_view_detector("variation_model", {{kPerViewBanks, banks}});
    again->load_state(st);
    const std::vector<Prediction> q = again->predict(data.test, RunContext{});
    for (std::size_t i = 0; i < p.size(); ++i)
      for (std::size_t u = 0; u < 5; ++u) {
        CHECK(q[i].units[u].score == p[i].units[u].score);
        CHECK(at::equal(q[i].units[u].map, p[i].units[u].map));
      }
  }
  // Errors.
  auto banks = make_per_view_detector("variation_model", {{kPerViewBanks, true}});
  banks->fit(data.train, RunContext{});
  Sample odd = data.test[0];
  odd.units[4].name = "C6";
  REQUIRE_THROWS_WITH(banks->predict({odd}, RunContext{}),
                      "per_view_banks: no model for view 'C6' (trained views: C1, C2, C3, C4, C5)");
  REQUIRE_THROWS_WITH(make_per_view_detector("variation_model", {{kPerViewBanks, "yes"}}),
                      "detector variation_model: setting 'per_view_banks' expects a boolean, got \"yes\"");
  auto shared = make_per_view_detector("variation_model", {{kPerViewBanks, false}});
  shared->fit(data.train, RunContext{});
  REQUIRE_THROWS_WITH(banks->load_state(shared->state()),
                      Catch::Matchers::StartsWith("tensor '") &&
                          Catch::Matchers::EndsWith("' has no '<view>/' prefix (per_view_banks is true)"));
}

TEST_CASE("multi-view prediction folders: one map and score per view, keyed by image_path",
          "[bench][multiview]") {
  TempDir tmp("mv-pred");
  const fs::path cat_dir = tmp / "data";
  fs::create_directories(cat_dir);
  const CategoryData data = multiview_category(cat_dir);
  register_builtin_detectors();
  auto det = make_per_view_detector("variation_model", {});
  det->fit(data.train, RunContext{});
  BatchPredictor predict = [&](const std::vector<Sample>& b) { return det->predict(b, RunContext{}); };
  CHECK(view_image_path(cat_dir, data.test[2].units[0]) == "test_C_C1.png");
  {
    PredictionWriter w(tmp / "P", "obj", false, false, cat_dir);
    const CategoryResult a = evaluate_category(data, predict, EvalOptions{}, CommonOptions{}, &w);
    w.commit({{"source", "test"}});
    PredictionReader reader(tmp / "P", "obj", data.test, cat_dir);
    REQUIRE(reader.has_scores_csv());
    BatchPredictor from_folder = [&](const std::vector<Sample>& b) {
      std::vector<Prediction> out;
      for (const auto& s : b) out.push_back(reader.read(s));
      return out;
    };
    const CategoryResult b = evaluate_category(data, from_folder, EvalOptions{}, CommonOptions{}, nullptr);
    REQUIRE(a.levels.size() == 3);
    REQUIRE(b.levels.size() == 3);
    for (std::size_t i = 0; i < 3; ++i)
      for (const auto& [k, v] : a.levels[i].metrics) {
        CAPTURE(a.levels[i].level, k);
        REQUIRE(v.has_value() == b.levels[i].metric(k).has_value());
        if (v) CHECK(*b.levels[i].metric(k) == Approx(*v).epsilon(1e-6));
      }
  }
  CHECK(fs::exists(tmp / "P" / "obj" / "test_C_C1.tiff"));
  const std::string csv = adbench::test::read_text(tmp / "P" / "obj" / "scores.csv");
  CHECK(csv.rfind("path,score\ntest_A_C1.png,", 0) == 0);
  CHECK(std::count(csv.begin(), csv.end(), '\n') == 1 + 20);
  fs::remove(tmp / "P" / "obj" / "test_D_C3.tiff");
  REQUIRE_THROWS_WITH(
      PredictionReader(tmp / "P", "obj", data.test, cat_dir),
      (tmp / "P" / "obj").string() +
          ": 1 of 20 view maps missing (first: test_D_C3.tiff for view test_D_C3.png; a view's map is its "
          "image_path with .tiff, .tif or .npy)");
}
