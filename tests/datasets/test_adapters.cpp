// Dataset adapters on small trees written in each dataset's own layout.
#include <catch2/catch.hpp>
#include <fstream>
#include <opencv2/imgcodecs.hpp>

#include "adbench/core/error.hpp"
#include "adbench/core/image_io.hpp"
#include "adbench/datasets/dataset.hpp"
#include "test_util.hpp"

using adbench::test::input_error_of;

namespace fs = std::filesystem;
using adbench::CategoryData;
using adbench::Sample;
using adbench::test::TempDir;

namespace {

/// Writes a small image (PNG, BMP, JPEG or TIFF by extension), creating parent folders.
void put_image(const fs::path& p, int value = 128, int w = 8, int h = 6, int channels = 3) {
  fs::create_directories(p.parent_path());
  cv::Mat m(h, w, channels == 3 ? CV_8UC3 : CV_8UC1, cv::Scalar::all(value));
  REQUIRE(cv::imwrite(p.string(), m));
}

/// A mask with a 2x2 square of 255 (or of `value`).
void put_mask(const fs::path& p, int value = 255, int w = 8, int h = 6) {
  fs::create_directories(p.parent_path());
  cv::Mat m = cv::Mat::zeros(h, w, CV_8UC1);
  m(cv::Rect(1, 1, 2, 2)).setTo(value);
  REQUIRE(cv::imwrite(p.string(), m));
}

void put_text(const fs::path& p, const std::string& text) {
  fs::create_directories(p.parent_path());
  std::ofstream(p) << text;
}

/// The message of the InputError `f` throws, or a marker when it throws something else or nothing.
std::unique_ptr<adbench::DatasetAdapter> adapter(const std::string& name) {
  return adbench::make_dataset_adapter(name);
}

std::vector<std::string> rel_paths(const std::vector<Sample>& v) {
  std::vector<std::string> out;
  for (const auto& s : v) out.push_back(s.rel_path);
  return out;
}

using Strings = std::vector<std::string>;

/// An MVTec-layout category: 3 train, 2 good test, 2 + 1 defective test images with masks.
void write_mvtec_category(const fs::path& root, const std::string& cat, bool masks = true) {
  for (const char* f : {"000.png", "001.png", "002.PNG"}) put_image(root / cat / "train/good" / f);
  put_image(root / cat / "test/good/000.png");
  put_image(root / cat / "test/good/001.jpg");
  put_image(root / cat / "test/crack/001.png");
  put_image(root / cat / "test/crack/000.png");
  put_image(root / cat / "test/hole/000.bmp");
  put_text(root / cat / "test/crack/notes.txt", "not an image");
  put_image(root / cat / "test/crack/.hidden.png");
  if (masks) {
    put_mask(root / cat / "ground_truth/crack/000_mask.png");
    put_mask(root / cat / "ground_truth/crack/001_mask.png");
    put_mask(root / cat / "ground_truth/hole/000_mask.png");
  }
}

}  // namespace

TEST_CASE("dataset registry: built-in names, summaries, idempotent registration", "[datasets]") {
  adbench::register_builtin_datasets();
  adbench::register_builtin_datasets();  // idempotent
  auto& reg = adbench::dataset_registry();
  CHECK(reg.names() == Strings{"anomaly_shapenet", "btad", "folder", "ipad", "minishift", "mpdd", "mvtec_3d",
                               "mvtec_ad", "real3d_ad", "real_iad", "video_folder", "visa"});
  const Strings clouds{"anomaly_shapenet", "minishift", "mvtec_3d", "real3d_ad"};
  const Strings videos{"ipad", "video_folder"};
  for (const auto& n : reg.names()) {
    CHECK(reg.create(n)->name() == n);
    const bool cloud = std::find(clouds.begin(), clouds.end(), n) != clouds.end();
    const bool video = std::find(videos.begin(), videos.end(), n) != videos.end();
    CHECK(reg.create(n)->modality() == (cloud             ? adbench::Modality::PointCloud
                                        : video           ? adbench::Modality::Video
                                        : n == "real_iad" ? adbench::Modality::MultiView
                                                          : adbench::Modality::Image));
    CHECK_FALSE(adbench::dataset_summary(n).empty());
  }
  const std::string help = adbench::dataset_layout_help();
  CHECK(std::count(help.begin(), help.end(), '\n') == 12);
  CHECK(help.rfind("anomaly_shapenet ", 0) == 0);
  CHECK(help.find("\nvisa ") != std::string::npos);
  CHECK(input_error_of([] { adbench::make_dataset_adapter("mvtec"); }) ==
        "unknown dataset 'mvtec' (valid: anomaly_shapenet, btad, folder, ipad, minishift, mpdd, mvtec_3d, "
        "mvtec_ad, real3d_ad, real_iad, video_folder, visa)");
  CHECK(input_error_of([] { adbench::dataset_summary("nope"); }) ==
        "unknown dataset 'nope' (valid: anomaly_shapenet, btad, folder, ipad, minishift, mpdd, mvtec_3d, "
        "mvtec_ad, real3d_ad, real_iad, video_folder, visa)");
  CHECK(adbench::to_string(adbench::Modality::Image) == "image");
  CHECK(adbench::to_string(adbench::Modality::PointCloud) == "point_cloud");
  adbench::DatasetOptions split;
  split.split = "single-view";
  CHECK(input_error_of([&] { adbench::make_dataset_adapter("mvtec_ad", split); }) ==
        "--split single-view: dataset mvtec_ad has no split files");
  split.split = "";
  CHECK(adbench::make_dataset_adapter("mvtec_ad", split)->splits().empty());
}

TEST_CASE("mvtec_ad and mpdd: categories, samples, labels, masks", "[datasets]") {
  for (const std::string name : {"mvtec_ad", "mpdd"}) {
    INFO(name);
    TempDir tmp("mvtec");
    const fs::path root = tmp.path();
    write_mvtec_category(root, "bottle");
    write_mvtec_category(root, "cable");
    put_image(root / "only_test/test/good/000.png");  // no train/: not a category
    put_text(root / "license.txt", "x");
    auto a = adapter(name);
    CHECK(a->categories(root) == Strings{"bottle", "cable"});

    CategoryData d = a->load(root, "bottle");
    CHECK(d.dataset == name);
    CHECK(d.category == "bottle");
    CHECK(d.root == root);
    CHECK(d.has_truth);
    REQUIRE(d.train.size() == 3);
    CHECK(rel_paths(d.train) == Strings{"good/000.png", "good/001.png", "good/002.PNG"});
    for (const auto& s : d.train) {
      CHECK(s.split == "train");
      CHECK(s.label == 0);
      CHECK(s.defect == "good");
      CHECK_FALSE(s.truth());
    }
    REQUIRE(d.test.size() == 5);
    CHECK(rel_paths(d.test) ==
          Strings{"crack/000.png", "crack/001.png", "good/000.png", "good/001.jpg", "hole/000.bmp"});
    const Sample& c0 = d.test[0];
    CHECK(c0.category == "bottle");
    CHECK(c0.split == "test");
    CHECK(c0.defect == "crack");
    CHECK(c0.stem == "000");
    CHECK(c0.label == 1);
    CHECK(c0.path() == root / "bottle/test/crack/000.png");
    REQUIRE(c0.truth());
    CHECK(*c0.truth() == root / "bottle/ground_truth/crack/000_mask.png");
    CHECK(*d.test[4].truth() == root / "bottle/ground_truth/hole/000_mask.png");
    for (int i : {2, 3}) {
      CHECK(d.test[i].label == 0);
      CHECK(d.test[i].defect == "good");
      CHECK_FALSE(d.test[i].truth());
    }
  }
}

TEST_CASE("mvtec_ad: a missing or empty train folder is not an error at load", "[datasets]") {
  TempDir tmp("mvtec-notrain");
  write_mvtec_category(tmp.path(), "bottle");
  fs::remove_all(tmp / "bottle/train/good");
  auto d = adapter("mvtec_ad")->load(tmp.path(), "bottle");
  CHECK(d.train.empty());
  CHECK(d.test.size() == 5);
}

TEST_CASE("adapters: a category without any mask is evaluated at image level", "[datasets]") {
  TempDir tmp("nomask");
  write_mvtec_category(tmp.path(), "bottle", /*masks=*/false);
  for (const std::string name : {"mvtec_ad", "mpdd", "folder"}) {
    auto d = adapter(name)->load(tmp.path(), "bottle");
    CHECK_FALSE(d.has_truth);
    CHECK(d.test.size() == 5);
    for (const auto& s : d.test) CHECK_FALSE(s.truth());
  }
}

TEST_CASE("mvtec_ad: error messages", "[datasets]") {
  TempDir tmp("mvtec-err");
  const fs::path root = tmp.path();
  auto a = adapter("mvtec_ad");

  SECTION("missing root") {
    const fs::path missing = root / "nope";
    for (const std::string name : {"mvtec_ad", "mpdd", "btad", "folder", "visa"}) {
      CHECK(input_error_of([&] { adapter(name)->categories(missing); }) ==
            missing.string() + ": no such folder");
      CHECK(input_error_of([&] { adapter(name)->load(missing, "x"); }) ==
            missing.string() + ": no such folder");
    }
  }
  SECTION("no categories") {
    put_text(root / "readme.txt", "x");
    CHECK(input_error_of([&] { a->categories(root); }) ==
          root.string() +
              ": no categories found (expected <root>/<category>/train and <root>/<category>/test folders)");
  }
  SECTION("unknown category lists the valid ones") {
    write_mvtec_category(root, "bottle");
    write_mvtec_category(root, "cable");
    CHECK(input_error_of([&] { a->load(root, "screw"); }) ==
          root.string() + ": unknown category 'screw' (valid: bottle, cable)");
  }
  SECTION("empty test set") {
    put_image(root / "bottle/train/good/000.png");
    fs::create_directories(root / "bottle/test/good");
    put_text(root / "bottle/test/good/readme.txt", "x");
    CHECK(input_error_of([&] { a->load(root, "bottle"); }) ==
          (root / "bottle/test").string() + ": no test images");
  }
  SECTION("a missing mask where others exist") {
    write_mvtec_category(root, "bottle");
    fs::remove(root / "bottle/ground_truth/crack/001_mask.png");
    CHECK(input_error_of([&] { a->load(root, "bottle"); }) ==
          (root / "bottle/ground_truth/crack/001_mask.png").string() + ": missing ground-truth mask for " +
              (root / "bottle/test/crack/001.png").string());
  }
  SECTION("two files with one stem") {
    write_mvtec_category(root, "bottle");
    put_image(root / "bottle/test/crack/000.jpg");
    CHECK(input_error_of([&] { a->load(root, "bottle"); }) ==
          (root / "bottle/test/crack/000.png").string() + ": duplicate file stem '000' in test/crack (also " +
              (root / "bottle/test/crack/000.jpg").string() + ")");
  }
}

TEST_CASE("btad: ok/ko folders, png and bmp masks", "[datasets]") {
  TempDir tmp("btad");
  const fs::path root = tmp.path();
  // 01: bmp images, png masks; 03: bmp images, bmp masks; 02: png images, png masks.
  for (const std::string cat : {"01", "02", "03"}) {
    const std::string ext = cat == "02" ? ".png" : ".bmp";
    const std::string mext = cat == "03" ? ".bmp" : ".png";
    for (const char* s : {"0000", "0001"}) put_image(root / cat / "train/ok" / (s + ext));
    put_image(root / cat / "test/ok" / ("0000" + ext));
    put_image(root / cat / "test/ko" / ("0000" + ext));
    put_image(root / cat / "test/ko" / ("0001" + ext));
    put_mask(root / cat / "ground_truth/ko" / ("0000" + mext));
    put_mask(root / cat / "ground_truth/ko" / ("0001" + mext));
  }
  auto a = adapter("btad");
  CHECK(a->categories(root) == Strings{"01", "02", "03"});
  for (const std::string cat : {"01", "02", "03"}) {
    INFO(cat);
    auto d = a->load(root, cat);
    CHECK(d.dataset == "btad");
    CHECK(d.has_truth);
    REQUIRE(d.train.size() == 2);
    CHECK(d.train[0].defect == "ok");
    CHECK(d.train[0].label == 0);
    REQUIRE(d.test.size() == 3);
    const std::string ext = cat == "02" ? ".png" : ".bmp";
    CHECK(rel_paths(d.test) == Strings{"ko/0000" + ext, "ko/0001" + ext, "ok/0000" + ext});
    CHECK(d.test[0].label == 1);
    CHECK(d.test[0].defect == "ko");
    CHECK(d.test[2].label == 0);
    CHECK(d.test[2].defect == "ok");
    CHECK_FALSE(d.test[2].truth());
    REQUIRE(d.test[1].truth());
    CHECK(*d.test[1].truth() == root / cat / "ground_truth/ko" / (cat == "03" ? "0001.bmp" : "0001.png"));
  }
  fs::remove(root / "03/ground_truth/ko/0001.bmp");
  CHECK(input_error_of([&] { a->load(root, "03"); }) == (root / "03/ground_truth/ko/0001.png").string() +
                                                            ": missing ground-truth mask for " +
                                                            (root / "03/test/ko/0001.bmp").string());
  CHECK(input_error_of([&] { a->load(root, "04"); }) ==
        root.string() + ": unknown category '04' (valid: 01, 02, 03)");
}

TEST_CASE("folder: lenient extensions and mask names, train optional", "[datasets]") {
  TempDir tmp("folder");
  const fs::path root = tmp.path();
  put_image(root / "parts/train/good/a.tiff");
  put_image(root / "parts/train/good/b.TIF");
  put_image(root / "parts/test/good/c.jpeg");
  put_image(root / "parts/test/dent/d1.png");
  put_image(root / "parts/test/dent/d2.tiff");
  put_image(root / "parts/test/dent/d3.jpg");
  put_mask(root / "parts/ground_truth/dent/d1_mask.bmp");
  put_mask(root / "parts/ground_truth/dent/d2.png");
  put_mask(root / "parts/ground_truth/dent/d3_mask.tif");
  put_image(root / "testonly/test/bad/x.png");  // no train/: still a category for `folder`
  auto a = adapter("folder");
  CHECK(a->categories(root) == Strings{"parts", "testonly"});
  auto d = a->load(root, "parts");
  CHECK(d.has_truth);
  CHECK(rel_paths(d.train) == Strings{"good/a.tiff", "good/b.TIF"});
  CHECK(rel_paths(d.test) == Strings{"dent/d1.png", "dent/d2.tiff", "dent/d3.jpg", "good/c.jpeg"});
  CHECK(*d.test[0].truth() == root / "parts/ground_truth/dent/d1_mask.bmp");
  CHECK(*d.test[1].truth() == root / "parts/ground_truth/dent/d2.png");
  CHECK(*d.test[2].truth() == root / "parts/ground_truth/dent/d3_mask.tif");
  CHECK_FALSE(d.test[3].truth());

  auto t = a->load(root, "testonly");
  CHECK(t.train.empty());
  CHECK_FALSE(t.has_truth);
  REQUIRE(t.test.size() == 1);
  CHECK(t.test[0].label == 1);

  fs::remove(root / "parts/ground_truth/dent/d2.png");
  CHECK(input_error_of([&] { a->load(root, "parts"); }) ==
        (root / "parts/ground_truth/dent/d2_mask.png").string() + ": missing ground-truth mask for " +
            (root / "parts/test/dent/d2.tiff").string());
  // The official adapters do not read .tiff images.
  put_image(root / "parts/train/good/e.png");
  put_image(root / "parts/test/good/f.png");
  auto m = adapter("mvtec_ad")->load(root, "parts");
  CHECK(rel_paths(m.train) == Strings{"good/b.TIF", "good/e.png"});
}

TEST_CASE("visa: split_csv/1cls.csv, good/bad defects, instance-id masks", "[datasets]") {
  TempDir tmp("visa");
  const fs::path root = tmp.path();
  for (const char* f : {"candle/Data/Images/Normal/0000.JPG", "candle/Data/Images/Normal/0001.JPG",
                        "candle/Data/Images/Normal/0002.JPG", "candle/Data/Images/Anomaly/000.JPG",
                        "candle/Data/Images/Anomaly/001.JPG", "pcb1/Data/Images/Normal/0000.JPG",
                        "pcb1/Data/Images/Anomaly/000.JPG"})
    put_image(root / f);
  // Instance ids 0, 1, 2 (VisA masks are not 0/255).
  fs::create_directories(root / "candle/Data/Masks/Anomaly");
  cv::Mat ids = cv::Mat::zeros(6, 8, CV_8UC1);
  ids(cv::Rect(0, 0, 2, 2)).setTo(1);
  ids(cv::Rect(4, 3, 3, 2)).setTo(2);
  REQUIRE(cv::imwrite((root / "candle/Data/Masks/Anomaly/000.png").string(), ids));
  put_mask(root / "candle/Data/Masks/Anomaly/001.png", 1);
  put_mask(root / "pcb1/Data/Masks/Anomaly/000.png", 1);
  put_text(root / "split_csv/1cls.csv",
           "object,split,label,image,mask\r\n"
           "candle,train,normal,candle/Data/Images/Normal/0000.JPG,\r\n"
           "candle,train,normal,candle/Data/Images/Normal/0001.JPG,\r\n"
           "candle,test,anomaly,candle/Data/Images/Anomaly/001.JPG,candle/Data/Masks/Anomaly/001.png\r\n"
           "candle,test,anomaly,candle/Data/Images/Anomaly/000.JPG,candle/Data/Masks/Anomaly/000.png\r\n"
           "candle,test,normal,candle/Data/Images/Normal/0002.JPG,\r\n"
           "pcb1,train,normal,pcb1/Data/Images/Normal/0000.JPG,\r\n"
           "pcb1,test,anomaly,pcb1/Data/Images/Anomaly/000.JPG,pcb1/Data/Masks/Anomaly/000.png\r\n");
  auto a = adapter("visa");
  CHECK(a->categories(root) == Strings{"candle", "pcb1"});
  auto d = a->load(root, "candle");
  CHECK(d.dataset == "visa");
  CHECK(d.has_truth);
  CHECK(rel_paths(d.train) == Strings{"good/0000.JPG", "good/0001.JPG"});
  REQUIRE(d.test.size() == 3);
  CHECK(rel_paths(d.test) == Strings{"bad/000.JPG", "bad/001.JPG", "good/0002.JPG"});
  CHECK(d.test[0].stem == "000");
  CHECK(d.test[0].label == 1);
  CHECK(d.test[0].defect == "bad");
  CHECK(d.test[0].path() == root / "candle/Data/Images/Anomaly/000.JPG");
  REQUIRE(d.test[0].truth());
  CHECK(*d.test[0].truth() == root / "candle/Data/Masks/Anomaly/000.png");
  CHECK(d.test[2].label == 0);
  CHECK(d.test[2].defect == "good");
  CHECK_FALSE(d.test[2].truth());

  cv::Mat m = adbench::read_mask(*d.test[0].truth());  // instance ids -> binary
  REQUIRE(m.type() == CV_8UC1);
  CHECK(cv::countNonZero(m) == 4 + 6);
  double lo, hi;
  cv::minMaxLoc(m, &lo, &hi);
  CHECK(lo == 0);
  CHECK(hi == 1);
  CHECK(m.at<std::uint8_t>(0, 0) == 1);
  CHECK(m.at<std::uint8_t>(4, 5) == 1);
  CHECK(m.at<std::uint8_t>(2, 2) == 0);

  const fs::path csv = root / "split_csv/1cls.csv";
  SECTION("unknown category") {
    CHECK(input_error_of([&] { a->load(root, "fryum"); }) ==
          root.string() + ": unknown category 'fryum' (valid: candle, pcb1)");
  }
  SECTION("missing mask file where others exist") {
    fs::remove(root / "candle/Data/Masks/Anomaly/001.png");
    CHECK(input_error_of([&] { a->load(root, "candle"); }) ==
          (root / "candle/Data/Masks/Anomaly/001.png").string() + ": missing ground-truth mask for " +
              (root / "candle/Data/Images/Anomaly/001.JPG").string());
  }
  SECTION("no masks at all: image level") {
    fs::remove_all(root / "candle/Data/Masks");
    auto n = a->load(root, "candle");
    CHECK_FALSE(n.has_truth);
    for (const auto& s : n.test) CHECK_FALSE(s.truth());
  }
  SECTION("empty test set, missing csv, bad rows") {
    put_text(csv, "object,split,label,image,mask\ncandle,train,normal,candle/Data/Images/Normal/0000.JPG,\n");
    CHECK(input_error_of([&] { a->load(root, "candle"); }) ==
          csv.string() + ": no test images for category 'candle'");
    put_text(csv, "object,split,label,image,mask\ncandle,val,normal,candle/Data/Images/Normal/0000.JPG,\n");
    CHECK(input_error_of([&] { a->categories(root); }) ==
          csv.string() + ":2: split 'val' (expected train or test)");
    put_text(csv, "object,split,label,image\n");
    CHECK(input_error_of([&] { a->categories(root); }) ==
          csv.string() + ": header has no 'mask' column (expected object,split,label,image,mask)");
    fs::remove(csv);
    CHECK(input_error_of([&] { a->categories(root); }) ==
          root.string() + ": no categories found (expected split_csv/1cls.csv)");
  }
}
