// Core I/O: safetensors, .npy, TIFF maps, image headers, atomic writes, staging folders, SHA-256.
#include <ATen/Parallel.h>
#include <dlfcn.h>

#include <catch2/catch.hpp>
#include <fstream>
#include <opencv2/imgcodecs.hpp>

#include "adbench/core/device.hpp"
#include "adbench/core/error.hpp"
#include "adbench/core/fs.hpp"
#include "adbench/core/image_io.hpp"
#include "adbench/core/npy.hpp"
#include "adbench/core/registry.hpp"
#include "adbench/core/safetensors.hpp"
#include "adbench/core/sha256.hpp"
#include "test_util.hpp"

namespace fs = std::filesystem;
using adbench::test::TempDir;

TEST_CASE("safetensors round trip keeps names, dtypes, values and metadata", "[core]") {
  TempDir tmp("st");
  at::manual_seed(1);
  std::map<std::string, at::Tensor> t = {{"a.weight", at::randn({3, 4, 5})},
                                         {"b", at::arange(7, at::kLong)},
                                         {"c", at::rand({2}, at::kDouble)},
                                         {"scalar", at::zeros({}, at::kLong)}};
  adbench::write_safetensors(tmp / "m.safetensors", t, {{"k", "v"}});
  auto back = adbench::read_safetensors(tmp / "m.safetensors");
  REQUIRE(back.metadata.at("k") == "v");
  REQUIRE(back.tensors.size() == 4);
  for (const auto& [name, v] : t) {
    INFO(name);
    REQUIRE(back.tensors.at(name).scalar_type() == v.scalar_type());
    REQUIRE(back.tensors.at(name).sizes() == v.sizes());
    REQUIRE(at::equal(back.tensors.at(name), v));
  }
  // Header length is a multiple of 8 and the file is exactly 8 + header + data bytes.
  std::ifstream in(tmp / "m.safetensors", std::ios::binary);
  std::uint64_t hl = 0;
  in.read(reinterpret_cast<char*>(&hl), 8);
  REQUIRE(hl % 8 == 0);
  REQUIRE(fs::file_size(tmp / "m.safetensors") == 8 + hl + (60 * 4 + 7 * 8 + 2 * 8 + 8));
}

TEST_CASE("safetensors: truncated and corrupt files are clear errors", "[core]") {
  TempDir tmp("st");
  adbench::write_safetensors(tmp / "m.safetensors", {{"x", at::ones({100})}});
  auto bytes = adbench::read_file(tmp / "m.safetensors");
  { std::ofstream(tmp / "cut.safetensors", std::ios::binary) << bytes.substr(0, bytes.size() - 10); }
  REQUIRE_THROWS_WITH(adbench::read_safetensors(tmp / "cut.safetensors"),
                      (tmp / "cut.safetensors").string() +
                          ": tensor 'x' has data offsets [0, 400] outside the file's 390 data bytes");
  { std::ofstream(tmp / "tiny.safetensors", std::ios::binary) << "abc"; }
  REQUIRE_THROWS_WITH(
      adbench::read_safetensors(tmp / "tiny.safetensors"),
      (tmp / "tiny.safetensors").string() + ": not a safetensors file (shorter than 8 bytes)");
}

TEST_CASE("npy round trip for every supported dtype", "[core]") {
  TempDir tmp("npy");
  for (auto t :
       {at::randn({4, 5}), at::randn({2, 3, 4}, at::kDouble), at::arange(9, at::kLong).reshape({3, 3}),
        at::ones({6}, at::kByte), at::arange(5, at::kInt)}) {
    adbench::write_npy(tmp / "a.npy", t);
    auto back = adbench::read_npy(tmp / "a.npy");
    REQUIRE(back.scalar_type() == t.scalar_type());
    REQUIRE(at::equal(back, t));
  }
  { std::ofstream(tmp / "bad.npy", std::ios::binary) << "not numpy"; }
  REQUIRE_THROWS_WITH(adbench::read_npy(tmp / "bad.npy"),
                      (tmp / "bad.npy").string() + ": not a .npy file (bad magic)");
}

TEST_CASE("score maps: TIFF round trip, .npy dtypes, non-2-D maps refused", "[core]") {
  TempDir tmp("map");
  at::Tensor m = at::rand({17, 23});
  adbench::write_score_map_tiff(tmp / "m.tiff", m);
  auto back = adbench::read_score_map(tmp / "m.tiff");
  REQUIRE(back.scalar_type() == at::kFloat);
  REQUIRE(at::equal(back, m));
  adbench::write_npy(tmp / "d.npy", m.to(at::kDouble));
  REQUIRE(adbench::read_score_map(tmp / "d.npy").scalar_type() == at::kDouble);
  adbench::write_npy(tmp / "i.npy", at::ones({3, 3}, at::kLong));
  REQUIRE_THROWS_WITH(adbench::read_score_map(tmp / "i.npy"),
                      (tmp / "i.npy").string() + ": expected float16, float32 or float64 values, got Long");
  adbench::write_npy(tmp / "v.npy", at::ones({3}));
  REQUIRE_THROWS_WITH(adbench::read_score_map(tmp / "v.npy"),
                      (tmp / "v.npy").string() + ": expected a 2-D map, got 1 dimensions");
  cv::imwrite((tmp / "rgb.tiff").string(), cv::Mat(4, 4, CV_32FC3, cv::Scalar(1, 2, 3)));
  REQUIRE_THROWS_WITH(adbench::read_score_map(tmp / "rgb.tiff"),
                      (tmp / "rgb.tiff").string() + ": expected a 2-D single-channel map, got 3 channels");
}

TEST_CASE("image sizes from headers match decoding; masks binarise instance ids", "[core]") {
  TempDir tmp("img");
  cv::Mat img(37, 51, CV_8UC3, cv::Scalar(10, 20, 30));
  for (const char* ext : {".png", ".jpg", ".bmp", ".tiff"}) {
    auto p = tmp / (std::string("x") + ext);
    cv::imwrite(p.string(), img);
    INFO(ext);
    REQUIRE(adbench::read_image_size(p) == cv::Size(51, 37));
    REQUIRE(adbench::read_image_rgb(p).size() == cv::Size(51, 37));
  }
  cv::Mat ids(5, 5, CV_8UC1, cv::Scalar(0));
  ids.at<uchar>(1, 1) = 1;
  ids.at<uchar>(2, 2) = 2;
  ids.at<uchar>(3, 3) = 255;
  cv::imwrite((tmp / "ids.png").string(), ids);
  auto mask = adbench::read_mask(tmp / "ids.png");
  REQUIRE(cv::countNonZero(mask) == 3);
  REQUIRE(mask.at<uchar>(2, 2) == 1);
  // Real-IAD's resized masks: > 127 (interpolated edges 1..127 are background).
  ids.at<uchar>(4, 4) = 127;
  ids.at<uchar>(0, 4) = 128;
  cv::imwrite((tmp / "edges.png").string(), ids);
  mask = adbench::read_mask(tmp / "edges.png", 127);
  REQUIRE(cv::countNonZero(mask) == 2);  // 128 and 255
  REQUIRE(mask.at<uchar>(0, 4) == 1);
  REQUIRE(mask.at<uchar>(4, 4) == 0);
  { std::ofstream(tmp / "bad.png") << "garbage"; }
  REQUIRE_THROWS_WITH(adbench::read_image_rgb(tmp / "bad.png"),
                      (tmp / "bad.png").string() + ": cannot decode image (corrupt or unsupported format)");
  REQUIRE_THROWS_WITH(adbench::read_image_rgb(tmp / "none.png"),
                      (tmp / "none.png").string() + ": no such file");
}

TEST_CASE("atomic writes never overwrite without force and leave nothing partial", "[core]") {
  TempDir tmp("fs");
  auto f = tmp / "sub" / "r.json";
  const std::string own = "{\"schema\": \"adbench.result/1\"}\n";
  adbench::write_result_file(f, own, false);
  REQUIRE(adbench::read_file(f) == own);
  REQUIRE_THROWS_WITH(adbench::write_result_file(f, "two", false),
                      f.string() + ": already exists (use --force to overwrite)");
  adbench::write_result_file(f, "two", true);
  REQUIRE(adbench::read_file(f) == "two");
  adbench::append_csv_rows(tmp / "a.csv", "x,y", "1,2\n");
  adbench::append_csv_rows(tmp / "a.csv", "x,y", "3,4\n");
  REQUIRE(adbench::read_file(tmp / "a.csv") == "x,y\n1,2\n3,4\n");
  REQUIRE_THROWS(adbench::append_csv_rows(tmp / "a.csv", "x,z", "5,6\n"));
  {
    adbench::StagingDir s(tmp / "out", adbench::OutputKind::RunFolder, false);
    std::ofstream(s.path() / "half") << "x";
    // destroyed without commit: nothing left
  }
  REQUIRE_FALSE(fs::exists(tmp / "out"));
  {
    adbench::StagingDir s(tmp / "out", adbench::OutputKind::RunFolder, false);
    std::ofstream(s.path() / "done") << "x";
    s.commit();
  }
  REQUIRE(fs::exists(tmp / "out" / "done"));
  REQUIRE(fs::exists(tmp / "out" / adbench::kMarkerFile));
  REQUIRE_THROWS_WITH(adbench::StagingDir(tmp / "out", adbench::OutputKind::RunFolder, false),
                      (tmp / "out").string() + ": already exists (use --force to overwrite)");
  for (const auto& e : fs::recursive_directory_iterator(tmp.path()))
    REQUIRE(e.path().filename().string().find(".partial-") == std::string::npos);
}

TEST_CASE("sha256 matches known digests", "[core]") {
  REQUIRE(adbench::sha256_bytes("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  REQUIRE(adbench::sha256_bytes("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  REQUIRE(adbench::sha256_bytes(std::string(1000, 'a')) ==
          "41edece42d63e8d9bf515a9ba6932e1c20cbc9f5a5d134645adb5db1b9737ea3");
}

TEST_CASE("registry lists valid names for an unknown one", "[core]") {
  adbench::Registry<int> r("thing");
  r.add("b", "second", [] { return std::make_unique<int>(2); });
  r.add("a", "first", [] { return std::make_unique<int>(1); });
  REQUIRE(*r.create("a") == 1);
  REQUIRE(r.names() == std::vector<std::string>{"a", "b"});
  REQUIRE_THROWS_WITH(r.create("c"), "unknown thing 'c' (valid: a, b)");
  REQUIRE_THROWS_AS(r.add("a", "", [] { return std::make_unique<int>(0); }), adbench::InternalError);
}

TEST_CASE("set_threads sizes LibTorch's pool and OpenBLAS's own", "[core]") {
  // LibTorch's BLAS here is Debian's OpenBLAS (scripts/install_deps.sh installs
  // libopenblas0-pthread); its pthread pool is not LibTorch's to size.
  using GetThreads = int (*)();
  auto* blas_threads = reinterpret_cast<GetThreads>(::dlsym(RTLD_DEFAULT, "openblas_get_num_threads"));
  REQUIRE(blas_threads != nullptr);
  const int before = at::get_num_threads();
  CHECK(adbench::set_threads(1) == 1);
  CHECK(at::get_num_threads() == 1);
  CHECK(blas_threads() == 1);
  CHECK(adbench::set_threads(2) == 2);
  CHECK(blas_threads() == 2);
  adbench::set_threads(before);
}
