// The synthetic dataset generator: determinism, layout, exact masks, detectability.
#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <fstream>
#include <map>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <set>
#include <sstream>

#include "adbench/core/error.hpp"
#include "adbench/core/image_io.hpp"
#include "adbench/core/sha256.hpp"
#include "adbench/datasets/dataset.hpp"
#include "adbench/datasets/synth.hpp"
#include "test_util.hpp"

namespace fs = std::filesystem;
using adbench::test::TempDir;

namespace {

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

/// Relative path -> bytes of every file under root.
std::map<std::string, std::string> all_files(const fs::path& root) {
  std::map<std::string, std::string> out;
  for (const auto& e : fs::recursive_directory_iterator(root))
    if (e.is_regular_file()) out[fs::relative(e.path(), root).string()] = slurp(e.path());
  return out;
}

bool same_pixels(const cv::Mat& a, const cv::Mat& b) {
  if (a.size() != b.size() || a.type() != b.type()) return false;
  cv::Mat d;
  cv::absdiff(a, b, d);
  return cv::countNonZero(d.reshape(1)) == 0;
}

/// Mann-Whitney AUROC with ties counted half.
double auroc(const std::vector<double>& normal, const std::vector<double>& anomalous) {
  double wins = 0;
  for (double a : anomalous)
    for (double n : normal) wins += a > n ? 1.0 : (a == n ? 0.5 : 0.0);
  return wins / (static_cast<double>(normal.size()) * anomalous.size());
}

/// The per-pixel Gaussian baseline: images resized to w x h, per-pixel per-channel mean and std
/// over the training images, score = max |z| over pixels and channels.
double gaussian_baseline_auroc(const adbench::CategoryData& d, int w, int h) {
  auto load = [&](const adbench::Sample& s) {
    cv::Mat img = adbench::read_image_rgb(s.path()), f;
    if (img.cols != w || img.rows != h) cv::resize(img, img, cv::Size(w, h), 0, 0, cv::INTER_LINEAR);
    img.convertTo(f, CV_64FC3, 1.0 / 255.0);
    return f;
  };
  cv::Mat sum = cv::Mat::zeros(h, w, CV_64FC3), sq = cv::Mat::zeros(h, w, CV_64FC3);
  for (const auto& s : d.train) {
    cv::Mat f = load(s);
    sum += f;
    sq += f.mul(f);
  }
  const double n = static_cast<double>(d.train.size());
  cv::Mat mean = sum / n, var = sq / n - mean.mul(mean), sd;
  cv::max(var, 0.0, var);
  cv::sqrt(var, sd);
  sd += cv::Scalar::all(1e-6);
  std::vector<double> normal, anomalous;
  for (const auto& s : d.test) {
    cv::Mat z;
    cv::absdiff(load(s), mean, z);
    cv::divide(z, sd, z);
    double mx;
    cv::minMaxLoc(z.reshape(1), nullptr, &mx);
    (s.label ? anomalous : normal).push_back(mx);
  }
  return auroc(normal, anomalous);
}

}  // namespace

TEST_CASE("synth: categories table", "[datasets][synth]") {
  auto cats = adbench::synthetic_categories();
  REQUIRE(cats.size() == 4);
  std::vector<std::string> names;
  for (const auto& c : cats) {
    names.push_back(c.name);
    CHECK(c.width >= 128);
    CHECK(c.width <= 256);
    CHECK(c.height >= 128);
    CHECK(c.height <= 256);
    CHECK(std::is_sorted(c.defects.begin(), c.defects.end()));
    CHECK(c.defects.size() == (c.texture ? 4u : 5u));
  }
  CHECK(names == std::vector<std::string>{"bracket", "cap", "marble", "weave"});
}

TEST_CASE("synth: same seed gives byte-identical files, another seed different ones", "[datasets][synth]") {
  TempDir tmp("synth-det");
  adbench::SynthOptions o;
  o.train_good = 3;
  o.test_good = 2;
  o.per_defect = 2;
  auto s1 = adbench::write_synthetic_dataset(tmp / "a", 7, o);
  adbench::write_synthetic_dataset(tmp / "b", 7, o);
  adbench::write_synthetic_dataset(tmp / "c", 8, o);
  CHECK(s1.train_images == 12);
  CHECK(s1.test_good_images == 8);
  CHECK(s1.test_defect_images == 2 * (4 + 4 + 5 + 5));
  CHECK(s1.files_written == 12 + 8 + 2 * 36 + 1);

  auto a = all_files(tmp / "a"), b = all_files(tmp / "b"), c = all_files(tmp / "c");
  CHECK(static_cast<int>(a.size()) == s1.files_written);
  REQUIRE(a.size() == b.size());
  int differing = 0;
  for (const auto& [rel, bytes] : a) {
    INFO(rel);
    REQUIRE(b.count(rel));
    CHECK(bytes == b.at(rel));
    REQUIRE(c.count(rel));
    if (bytes != c.at(rel)) ++differing;
    if (rel.find("_mask") == std::string::npos && rel.find(".png") != std::string::npos)
      CHECK(bytes != c.at(rel));  // every image differs with the seed
  }
  CHECK(differing >= static_cast<int>(a.size()) - 1);
  CHECK(slurp(tmp / "a/README.txt").find("seed: 7") != std::string::npos);

  // Images depend on (seed, category, split, defect, index), not on the counts.
  adbench::SynthOptions small = o;
  small.train_good = 1;
  small.categories = {"weave"};
  adbench::write_synthetic_dataset(tmp / "d", 7, small);
  CHECK(slurp(tmp / "d/weave/train/good/000.png") == a.at("weave/train/good/000.png"));
  CHECK(slurp(tmp / "d/weave/test/hole/001.png") == a.at("weave/test/hole/001.png"));
}

// `easy` is the set as it was before difficulties existed: the seed-0 default dataset hashes to the
// digest taken from the generator of commit a1e6b07 (`adbench --seed 0 synth --out D`, then
// `cd D && find . -type f ! -name .adbench-output | sort | xargs sha256sum | sha256sum`; the CLI's
// output marker is not part of the dataset).
TEST_CASE("synth: easy is the original set, byte for byte", "[datasets][synth]") {
  TempDir tmp("synth-easy");
  adbench::write_synthetic_dataset(tmp / "d", 0);
  std::vector<std::string> rels;
  for (const auto& e : fs::recursive_directory_iterator(tmp / "d"))
    if (e.is_regular_file()) rels.push_back("./" + fs::relative(e.path(), tmp / "d").string());
  std::sort(rels.begin(), rels.end());
  std::string listing;
  for (const auto& r : rels) listing += adbench::sha256_file(tmp / "d" / r.substr(2)) + "  " + r + "\n";
  CHECK(rels.size() == 213);
  CHECK(adbench::sha256_bytes(listing) == "35d9670fdf3b1c7e5c1f2e7b13cce377ecfc999573eae1e73affcfb96d0822a8");
}

TEST_CASE("synth: medium and hard are deterministic, harder, and say so", "[datasets][synth]") {
  using adbench::SynthDifficulty;
  TempDir tmp("synth-medium");
  adbench::SynthOptions o;
  o.train_good = 2;
  o.test_good = 2;
  o.per_defect = 1;
  o.difficulty = SynthDifficulty::Medium;
  auto s1 = adbench::write_synthetic_dataset(tmp / "a", 3, o);
  adbench::write_synthetic_dataset(tmp / "b", 3, o);
  CHECK(s1.test_defect_images == 4 + 4 + 5 + 5 + 2);  // the textures gain "smudge"
  auto a = all_files(tmp / "a"), b = all_files(tmp / "b");
  CHECK(a == b);
  CHECK(slurp(tmp / "a/README.txt").find("difficulty: medium") != std::string::npos);
  // Not the easy images, and a different pose from one image to the next.
  const auto easy = adbench::render_synthetic_sample("cap", 3, "train", "good", 0);
  const auto med = adbench::render_synthetic_sample("cap", 3, "train", "good", 0, 0, SynthDifficulty::Medium);
  CHECK(cv::norm(easy.image, med.image, cv::NORM_L1) > 0);
  // Exact masks, and fainter defects: a medium scratch moves pixels less than an easy one.
  for (const char* defect : {"scratch", "spot", "hole"}) {
    INFO(defect);
    const auto e = adbench::render_synthetic_sample("bracket", 3, "test", defect, 0);
    const auto m =
        adbench::render_synthetic_sample("bracket", 3, "test", defect, 0, 0, SynthDifficulty::Medium);
    cv::Mat diff;
    cv::absdiff(m.image, m.clean, diff);
    cv::Mat ch[3];
    cv::split(diff, ch);
    CHECK(cv::countNonZero(((ch[0] | ch[1] | ch[2]) != 0) != m.mask) == 0);
    CHECK(cv::countNonZero(m.mask) > 0);
    auto mean_change = [](const adbench::SynthSample& s) {
      cv::Mat d;
      cv::absdiff(s.image, s.clean, d);
      return cv::sum(d)[0] / std::max(1, cv::countNonZero(s.mask));
    };
    CHECK(mean_change(m) < 0.7 * mean_change(e));
  }
  const auto smudge =
      adbench::render_synthetic_sample("weave", 3, "test", "smudge", 0, 0, SynthDifficulty::Hard);
  CHECK(cv::countNonZero(smudge.mask) > 100);
  CHECK_THROWS_WITH(
      adbench::render_synthetic_sample("weave", 3, "test", "smudge", 0),
      "synthetic data: unknown defect 'smudge' for category 'weave' at difficulty easy (valid: color, "
      "hole, scratch, spot)");
  CHECK_THROWS_WITH(adbench::synth_difficulty_from("extreme"),
                    "synthetic data: difficulty must be easy, medium or hard, got 'extreme'");
  CHECK(adbench::synthetic_categories(SynthDifficulty::Hard)[3].defects ==
        std::vector<std::string>{"color", "hole", "scratch", "smudge", "spot"});
}

TEST_CASE("synth: layout, sizes and exact masks", "[datasets][synth]") {
  TempDir tmp("synth-layout");
  const auto t0 = std::chrono::steady_clock::now();
  auto sum = adbench::write_synthetic_dataset(tmp / "ds", 42);  // default counts
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  WARN("default synthetic dataset written in " << secs << " s");
  CHECK(secs < 10);  // about 1 s on one core; generous for loaded CI machines
  CHECK(sum.categories == std::vector<std::string>{"bracket", "cap", "marble", "weave"});
  CHECK(sum.train_images == 80);
  CHECK(sum.test_good_images == 24);
  CHECK(sum.test_defect_images == 3 * 18);

  auto adapter = adbench::make_dataset_adapter("mvtec_ad");
  REQUIRE(adapter->categories(tmp / "ds") == sum.categories);
  for (const auto& info : adbench::synthetic_categories()) {
    INFO(info.name);
    auto d = adapter->load(tmp / "ds", info.name);
    CHECK(d.has_truth);
    CHECK(d.train.size() == 20);
    CHECK(d.test.size() == 6 + 3 * info.defects.size());
    std::set<std::string> defects;
    std::set<std::pair<int, int>> sizes;
    for (const auto& s : d.train) {
      cv::Size sz = adbench::read_image_size(s.path());
      sizes.insert({sz.width, sz.height});
    }
    int checked = 0;
    for (const auto& s : d.test) {
      INFO(s.rel_path);
      defects.insert(s.defect);
      const cv::Mat img = adbench::read_image_rgb(s.path());
      sizes.insert({img.cols, img.rows});
      CHECK(img.cols >= 128);
      CHECK(img.rows <= 256);
      if (s.label == 0) {
        CHECK_FALSE(s.truth());
        continue;
      }
      REQUIRE(s.truth());
      cv::Mat raw = cv::imread(s.truth()->string(), cv::IMREAD_UNCHANGED);
      REQUIRE(raw.type() == CV_8UC1);
      CHECK(raw.size() == img.size());
      CHECK(cv::countNonZero(raw) > 0);
      CHECK(cv::countNonZero((raw != 0) & (raw != 255)) == 0);
      // Re-render: the file holds the rendered image, the mask is exactly where it differs from
      // the clean render.
      if (std::stoi(s.stem) == 0) {
        auto r = adbench::render_synthetic_sample(info.name, 42, "test", s.defect, 0);
        CHECK(same_pixels(r.image, img));
        CHECK(same_pixels(r.mask, raw));
        cv::Mat diff, ch[3];
        cv::absdiff(r.image, r.clean, diff);
        cv::split(diff, ch);
        cv::Mat changed = (ch[0] | ch[1] | ch[2]) != 0;
        CHECK(same_pixels(changed, raw));
        // Defects are visible: the mean change over the mask is large.
        CHECK(cv::mean(diff, raw)[0] + cv::mean(diff, raw)[1] + cv::mean(diff, raw)[2] > 60);
        ++checked;
      }
    }
    CHECK(checked == static_cast<int>(info.defects.size()));
    std::set<std::string> expected(info.defects.begin(), info.defects.end());
    expected.insert("good");
    CHECK(defects == expected);
    if (info.varying_size) {
      CHECK(sizes.size() > 5);
    } else {
      CHECK(sizes == std::set<std::pair<int, int>>{{info.width, info.height}});
    }
  }
  // Normal renders are clean and have an empty mask.
  auto g = adbench::render_synthetic_sample("cap", 42, "train", "good", 3);
  CHECK(same_pixels(g.image, g.clean));
  CHECK(cv::countNonZero(g.mask) == 0);
}

TEST_CASE("synth: a per-pixel Gaussian baseline separates the defects (image AUROC > 0.8)",
          "[datasets][synth]") {
  TempDir tmp("synth-auroc");
  for (std::uint64_t seed : {1ULL, 2024ULL}) {
    const fs::path root = tmp.path() / "seed" / std::to_string(seed);
    adbench::write_synthetic_dataset(root, seed);
    auto adapter = adbench::make_dataset_adapter("mvtec_ad");
    for (const auto& info : adbench::synthetic_categories()) {
      double a = gaussian_baseline_auroc(adapter->load(root, info.name), info.width, info.height);
      INFO("seed " << seed << " " << info.name << " AUROC " << a);
      CHECK(a > 0.8);
    }
  }
}

TEST_CASE("synth: options", "[datasets][synth]") {
  TempDir tmp("synth-opt");
  adbench::SynthOptions o;
  o.train_good = 2;
  o.test_good = 1;
  o.per_defect = 1;
  o.image_size = 64;
  o.categories = {"marble", "bracket"};
  auto sum = adbench::write_synthetic_dataset(tmp / "small", 3, o);
  CHECK(sum.categories == std::vector<std::string>{"bracket", "marble"});
  for (const auto& e : fs::recursive_directory_iterator(tmp / "small"))
    if (e.is_regular_file() && e.path().extension() == ".png")
      CHECK(adbench::read_image_size(e.path()) == cv::Size(64, 64));
  CHECK(adbench::make_dataset_adapter("mvtec_ad")->load(tmp / "small", "bracket").has_truth);

  auto err = [&](adbench::SynthOptions bad, const fs::path& out) {
    try {
      adbench::write_synthetic_dataset(out, 1, bad);
    } catch (const adbench::InputError& e) {
      return std::string(e.what());
    }
    return std::string("<no InputError>");
  };
  CHECK(err(o, tmp / "small") == (tmp / "small").string() + ": already exists and is not empty");
  adbench::SynthOptions b;
  b.per_defect = 0;
  CHECK(err(b, tmp / "x") == "synthetic data: per_defect must be >= 1, got 0");
  b = {};
  b.categories = {"tile"};
  CHECK(err(b, tmp / "x") == "unknown synthetic category 'tile' (valid: bracket, cap, marble, weave)");
  CHECK_THROWS_AS(adbench::render_synthetic_sample("weave", 1, "test", "missing", 0), adbench::InputError);
  CHECK_THROWS_AS(adbench::render_synthetic_sample("weave", 1, "train", "hole", 0), adbench::InputError);
  // Tiny images still get a visible defect with a non-empty mask.
  for (const auto& info : adbench::synthetic_categories())
    for (const auto& defect : info.defects)
      for (int i = 0; i < 3; ++i) {
        INFO(info.name << " " << defect << " " << i);
        auto r = adbench::render_synthetic_sample(info.name, 9, "test", defect, i, 32);
        CHECK(r.image.size() == cv::Size(32, 32));
        CHECK(cv::countNonZero(r.mask) > 0);
      }
  fs::create_directories(tmp / "empty");
  CHECK_NOTHROW(adbench::write_synthetic_dataset(tmp / "empty", 1, o));
}
