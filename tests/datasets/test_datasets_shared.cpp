// The real Magnetic Tile data in ../shared/data/magnetic_tile (MVTec AD layout).
#include <catch2/catch.hpp>
#include <map>
#include <set>

#include "adbench/core/image_io.hpp"
#include "adbench/datasets/dataset.hpp"
#include "test_util.hpp"

namespace fs = std::filesystem;

TEST_CASE("magnetic_tile through mvtec_ad and folder", "[datasets][shared]") {
  const fs::path root = adbench::test::shared_dir() / "data/magnetic_tile";
  REQUIRE(fs::is_directory(root));
  for (const std::string name : {"mvtec_ad", "folder"}) {
    INFO(name);
    auto a = adbench::make_dataset_adapter(name);
    REQUIRE(a->categories(root) == std::vector<std::string>{"tile"});
    auto d = a->load(root, "tile");
    CHECK(d.has_truth);
    CHECK(d.train.size() == 714);
    REQUIRE(d.test.size() == 238 + 392);
    std::map<std::string, int> per_defect;
    for (const auto& s : d.test) {
      ++per_defect[s.defect];
      CHECK(s.label == (s.defect == "good" ? 0 : 1));
      CHECK(s.truth().has_value() == (s.label == 1));
    }
    CHECK(per_defect ==
          std::map<std::string, int>{
              {"blowhole", 115}, {"break", 85}, {"crack", 57}, {"fray", 32}, {"good", 238}, {"uneven", 103}});
    if (name != "mvtec_ad") continue;  // the pixel checks below need one pass only

    std::set<std::pair<int, int>> sizes;
    for (const auto& s : d.train) {
      cv::Size sz = adbench::read_image_size(s.path());
      sizes.insert({sz.width, sz.height});
    }
    int empty_masks = 0, size_mismatches = 0;
    for (const auto& s : d.test) {
      cv::Size sz = adbench::read_image_size(s.path());
      sizes.insert({sz.width, sz.height});
      if (!s.truth()) continue;
      cv::Mat m = adbench::read_mask(*s.truth());
      if (m.size() != sz) {
        ++size_mismatches;
        UNSCOPED_INFO("size mismatch: " << s.truth()->string());
      }
      if (cv::countNonZero(m) == 0) ++empty_masks;
    }
    CHECK(size_mismatches == 0);
    CHECK(empty_masks == 4);
    // 1,225 distinct (width, height) pairs among the 1,344 images; also measured independently
    // with `file` over the JPEG headers.
    CHECK(sizes.size() == 1225);
  }
}
