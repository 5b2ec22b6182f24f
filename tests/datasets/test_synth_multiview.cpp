// The synthetic multi-view generator (issue 10): the Real-IAD layout and its JSON splits, exact
// masks from the id buffer, determinism, and the golden sample-level property (C1-only oracle 0.75).
#include <ATen/Parallel.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <regex>
#include <set>
#include <sstream>

#include "adbench/core/sha256.hpp"
#include "adbench/datasets/synth_multiview.hpp"
#include "test_util.hpp"

namespace fs = std::filesystem;
using adbench::MultiviewSynthOptions;
using adbench::test::rank_auroc;
using adbench::test::TempDir;

namespace {

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::map<std::string, std::string> all_files(const fs::path& root) {
  std::map<std::string, std::string> out;
  for (const auto& e : fs::recursive_directory_iterator(root))
    if (e.is_regular_file()) out[fs::relative(e.path(), root).string()] = slurp(e.path());
  return out;
}

std::string pixels_sha(const cv::Mat& m) {
  return adbench::sha256_bytes(std::string(reinterpret_cast<const char*>(m.data), m.total() * m.elemSize()))
      .substr(0, 16);
}

const std::regex kKey("([a-zA-Z][a-zA-Z0-9_]*_[0-9]{4}_[A-Z][A-Z_]*[A-Z])_C([0-9])_([0-9]{14})\\.jpg");

}  // namespace

TEST_CASE("synthetic multiview: rendered views", "[datasets][synth_multiview]") {
  REQUIRE(adbench::synthetic_multiview_categories() == std::vector<std::string>{"crate", "socket"});
  REQUIRE(adbench::synthetic_multiview_defects() == std::vector<std::string>{"CH", "HS", "ZW"});
  for (const auto& cat : adbench::synthetic_multiview_categories()) {
    // Normal views: no mask, and two normal samples differ (pose, light, noise).
    const auto a = adbench::render_synthetic_multiview_view(cat, 0, "OK", 1, 2);
    const auto b = adbench::render_synthetic_multiview_view(cat, 0, "OK", 2, 2);
    REQUIRE(a.image.rows == 128);
    REQUIRE(a.image.cols == 128);
    REQUIRE(a.image.type() == CV_8UC3);
    CHECK(a.defect_pixels == 0);
    CHECK(a.anomaly_class == "OK");
    CHECK(cv::countNonZero(a.mask) == 0);
    CHECK(cv::norm(a.image, b.image, cv::NORM_L1) > 0);
    CHECK(a.folder == "OK/S0001");
    CHECK(std::regex_match(a.stem + ".jpg", kKey));
    // Anomalous samples: seen (>= 4 px) from 1..3 views, from C1 exactly for odd numbers.
    for (const auto& code : adbench::synthetic_multiview_defects())
      for (int n = 1; n <= 4; ++n) {
        int seen = 0;
        std::set<std::string> stamps;
        for (int v = 1; v <= 5; ++v) {
          const auto mv = adbench::render_synthetic_multiview_view(cat, 0, code, n, v);
          INFO(cat << " " << code << " " << n << " C" << v);
          REQUIRE(mv.mask.type() == CV_8UC1);
          REQUIRE(mv.defect_pixels == cv::countNonZero(mv.mask));
          REQUIRE((mv.defect_pixels == 0 || mv.defect_pixels >= 4));
          cv::Mat not_binary = (mv.mask != 0) & (mv.mask != 255);
          REQUIRE(cv::countNonZero(not_binary) == 0);
          CHECK(mv.anomaly_class == (mv.defect_pixels > 0 ? code : std::string("OK")));
          if (v == 1) CHECK((mv.defect_pixels > 0) == (n % 2 == 1));
          seen += mv.defect_pixels > 0;
          std::smatch m;
          const std::string file = mv.stem + ".jpg";
          REQUIRE(std::regex_match(file, m, kKey));
          CHECK(m[1].str() == cat + "_000" + std::to_string(n) + "_NG_" + code);
          CHECK(m[2].str() == std::to_string(v));
          stamps.insert(m[3].str());
        }
        CHECK(seen >= 1);
        CHECK(seen <= 3);
        CHECK(stamps.size() == 5);
      }
  }
  // Bad arguments.
  CHECK_THROWS_WITH(adbench::render_synthetic_multiview_view("nope", 0, "OK", 1, 1),
                    Catch::Contains("unknown category 'nope'"));
  CHECK_THROWS_WITH(adbench::render_synthetic_multiview_view("crate", 0, "XX", 1, 1),
                    Catch::Contains("unknown class 'XX'"));
  CHECK_THROWS_WITH(adbench::render_synthetic_multiview_view("crate", 0, "OK", 1, 6),
                    Catch::Contains("view must be 1..5"));
}

TEST_CASE("synthetic multiview: same seed gives byte-identical files, another seed different ones",
          "[datasets][synth_multiview]") {
  TempDir tmp("synthmv");
  MultiviewSynthOptions o;
  o.categories = {"crate"};
  o.train_samples = 2;
  o.test_normal = 2;
  o.per_defect = 2;
  adbench::write_synthetic_multiview_dataset(tmp / "a", 7, o);
  {
    // One thread or many: the same bytes (each view renders from its own stream).
    const int threads = at::get_num_threads();
    at::set_num_threads(1);
    adbench::write_synthetic_multiview_dataset(tmp / "b", 7, o);
    at::set_num_threads(threads);
  }
  adbench::write_synthetic_multiview_dataset(tmp / "c", 8, o);
  const auto a = all_files(tmp / "a"), b = all_files(tmp / "b"), c = all_files(tmp / "c");
  REQUIRE(a == b);
  // Another seed: other timestamps (file names), other pixels.
  int jpgs_a = 0, jpgs_c = 0;
  std::set<std::string> bytes_a;
  for (const auto& [k, v] : a)
    if (k.size() > 4 && k.substr(k.size() - 4) == ".jpg") ++jpgs_a, bytes_a.insert(v);
  for (const auto& [k, v] : c)
    if (k.size() > 4 && k.substr(k.size() - 4) == ".jpg") {
      ++jpgs_c;
      CHECK(bytes_a.count(v) == 0);
      CHECK(a.count(k) == 0);
    }
  CHECK(jpgs_a == (2 + 2 + 3 * 2) * 5);
  CHECK(jpgs_c == jpgs_a);
  // Pinned values: the generator's streams and rendering must not change silently (raw pixels, so
  // that another libjpeg's bytes do not matter).
  CHECK(pixels_sha(adbench::render_synthetic_multiview_view("crate", 7, "HS", 1, 1).image) ==
        "c71a344d92c94ede");
  CHECK(pixels_sha(adbench::render_synthetic_multiview_view("socket", 7, "OK", 3, 4).image) ==
        "bd103cd101668882");
  // The existing-folder rule.
  REQUIRE_THROWS_WITH(adbench::write_synthetic_multiview_dataset(tmp / "a", 7, o),
                      (tmp / "a").string() + ": already exists and is not empty");
}

TEST_CASE("synthetic multiview: the Real-IAD layout, its JSON splits and the golden property",
          "[datasets][synth_multiview]") {
  TempDir tmp("synthmv");
  const fs::path root = tmp / "mv";
  const auto t0 = std::chrono::steady_clock::now();
  const adbench::SynthSummary sum = adbench::write_synthetic_multiview_dataset(root, 0);
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  WARN("default multiview set written in " << secs << " s");
  REQUIRE(sum.categories == std::vector<std::string>{"crate", "socket"});
  CHECK(sum.train_images == 2 * 24 * 5);
  CHECK(sum.test_good_images + sum.test_defect_images == 2 * 24 * 5);
  REQUIRE(fs::is_regular_file(root / "README.txt"));
  int files = 0;
  for (const auto& e : fs::recursive_directory_iterator(root)) files += e.is_regular_file();
  CHECK(files == sum.files_written);

  for (const auto& cat : sum.categories) {
    INFO(cat);
    const fs::path cdir = root / cat;
    std::ifstream in(root / "realiad_jsons" / (cat + ".json"));
    const nlohmann::json j = nlohmann::json::parse(in);
    REQUIRE(j.at("meta") == nlohmann::json({{"prefix", cat + "/"}, {"normal_class", "OK"}}));
    REQUIRE(j.size() == 3);
    std::set<std::string> paths;
    int masks_listed = 0;
    // key -> view -> record
    std::map<std::string, std::map<int, nlohmann::json>> train, test;
    std::vector<std::string> test_key_order;
    for (const char* split : {"train", "test"}) {
      for (const auto& r : j.at(split)) {
        REQUIRE(r.size() == 4);
        REQUIRE(r.at("category") == cat);
        const std::string cls = r.at("anomaly_class"), img = r.at("image_path");
        INFO(img);
        REQUIRE(paths.insert(img).second);
        REQUIRE(fs::is_regular_file(cdir / img));
        std::smatch m;
        const std::string file = fs::path(img).filename().string();
        REQUIRE(std::regex_match(file, m, kKey));
        const std::string key = m[1];
        const int view = std::stoi(m[2]);
        // Folder and key agree: OK/Snnnn or NG/<code>/Snnnn.
        const std::string folder = fs::path(img).parent_path().string();
        const bool ng_folder = folder.rfind("NG/", 0) == 0;
        CHECK((key.find("_NG_") != std::string::npos) == ng_folder);
        if (!ng_folder) CHECK(cls == "OK");
        // Timestamps: a plausible date-time.
        const std::string ts = m[3];
        CHECK(ts.substr(0, 4) == "2023");
        CHECK(std::stoi(ts.substr(4, 2)) >= 1);
        CHECK(std::stoi(ts.substr(4, 2)) <= 12);
        CHECK(std::stoi(ts.substr(12, 2)) <= 59);
        if (cls == "OK") {
          REQUIRE(r.at("mask_path").is_null());
          CHECK(!fs::exists(cdir / fs::path(img).replace_extension(".png")));
        } else {
          REQUIRE(r.at("mask_path").is_string());
          const std::string mp = r.at("mask_path");
          CHECK(mp == fs::path(img).replace_extension(".png").string());
          REQUIRE(fs::is_regular_file(cdir / mp));
          CHECK(key.find("_NG_" + cls) != std::string::npos);
          ++masks_listed;
        }
        auto& group = std::string(split) == "train" ? train : test;
        if (std::string(split) == "test" && !group.count(key)) test_key_order.push_back(key);
        REQUIRE(group[key].emplace(view, r).second);  // each view once
      }
    }
    // Every mask file on disk is listed.
    int masks_on_disk = 0;
    for (const auto& e : fs::recursive_directory_iterator(cdir))
      masks_on_disk += e.path().extension() == ".png";
    CHECK(masks_on_disk == masks_listed);
    REQUIRE(train.size() == 24);
    REQUIRE(test.size() == 24);
    for (const auto& [k, views] : train) {
      REQUIRE(views.size() == 5);
      for (const auto& [v, r] : views) REQUIRE(r.at("anomaly_class") == "OK");
    }
    // The records do not list a sample's views consecutively.
    REQUIRE(j.at("test").size() == 120);
    CHECK(j.at("test")[0].at("image_path") != j.at("test")[1].at("image_path"));
    {
      std::smatch m0, m1;
      const std::string f0 = fs::path(std::string(j.at("test")[0].at("image_path"))).filename().string();
      const std::string f1 = fs::path(std::string(j.at("test")[1].at("image_path"))).filename().string();
      REQUIRE(std::regex_match(f0, m0, kKey));
      REQUIRE(std::regex_match(f1, m1, kKey));
      CHECK(m0[1].str() != m1[1].str());
    }

    // Per test sample: label, C1 oracle, max over views; pixels of every view for the pixel AUROC.
    std::vector<double> c1_oracle, max_label, pix_score, view_score;
    std::vector<int> sample_label, pix_label, view_label;
    int ng = 0, ng_c1 = 0;
    for (const auto& key : test_key_order) {
      const auto& views = test.at(key);
      INFO(key);
      REQUIRE(views.size() == 5);
      for (int v = 1; v <= 5; ++v) REQUIRE(views.count(v) == 1);
      const bool anomalous = key.find("_NG_") != std::string::npos;
      int seen = 0;
      bool c1 = false;
      for (const auto& [v, r] : views) {
        const cv::Mat img = cv::imread((cdir / std::string(r.at("image_path"))).string(), cv::IMREAD_COLOR);
        REQUIRE(img.rows == 128);
        REQUIRE(img.cols == 128);
        cv::Mat mask = cv::Mat::zeros(img.size(), CV_8UC1);
        if (!r.at("mask_path").is_null()) {
          mask = cv::imread((cdir / std::string(r.at("mask_path"))).string(), cv::IMREAD_UNCHANGED);
          REQUIRE(mask.type() == CV_8UC1);
          REQUIRE(mask.size() == img.size());
          cv::Mat not_binary = (mask != 0) & (mask != 255);
          REQUIRE(cv::countNonZero(not_binary) == 0);
          REQUIRE(cv::countNonZero(mask) >= 4);
          ++seen;
          if (v == 1) c1 = true;
        }
        // View level: the mask's maximum as the score, the record's class as the label.
        view_score.push_back(cv::countNonZero(mask) > 0 ? 1.0 : 0.0);
        view_label.push_back(r.at("anomaly_class") != "OK");
        for (int i = 0; i < mask.rows; ++i)
          for (int x = 0; x < mask.cols; ++x) {
            const int m = mask.at<std::uint8_t>(i, x);
            pix_score.push_back(m / 255.0);  // the mask used as the prediction
            pix_label.push_back(m > 127);
          }
      }
      if (anomalous) {
        ++ng;
        ng_c1 += c1;
        CHECK(seen >= 1);
        CHECK(seen <= 3);
      } else {
        CHECK(seen == 0);
      }
      sample_label.push_back(anomalous);
      c1_oracle.push_back(c1 ? 1.0 : 0.0);
      max_label.push_back(seen > 0 ? 1.0 : 0.0);
    }
    CHECK(ng == 12);
    CHECK(ng_c1 == 6);
    CHECK(rank_auroc(c1_oracle, sample_label) == 0.75);
    CHECK(rank_auroc(max_label, sample_label) == 1.0);
    CHECK(rank_auroc(view_score, view_label) == 1.0);
    CHECK(rank_auroc(pix_score, pix_label) == 1.0);

    // The single-view split: exactly the C1 records, in the same order.
    std::ifstream in_sv(root / "realiad_jsons_sv" / (cat + ".json"));
    const nlohmann::json sv = nlohmann::json::parse(in_sv);
    REQUIRE(sv.at("meta") == j.at("meta"));
    for (const char* split : {"train", "test"}) {
      std::vector<nlohmann::json> c1;
      for (const auto& r : j.at(split))
        if (std::string(r.at("image_path")).find("_C1_") != std::string::npos) c1.push_back(r);
      REQUIRE(sv.at(split).size() == c1.size());
      for (std::size_t i = 0; i < c1.size(); ++i) CHECK(sv.at(split)[i] == c1[i]);
    }
  }
}
