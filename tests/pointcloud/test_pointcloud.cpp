// lib/pointcloud: readers (PCD ascii / binary / binary_compressed, PLY, text, xyz TIFF) round trips
// and their one-line errors; kNN, FPS, coreset and bank distances against brute force; point-level
// and masked-grid metrics on hand-made data against independent computations.
#include <catch2/catch.hpp>
#include <cmath>
#include <fstream>
#include <opencv2/imgcodecs.hpp>
#include <random>

#include "adbench/core/error.hpp"
#include "adbench/core/nearest.hpp"
#include "adbench/metrics/metrics.hpp"
#include "adbench/pointcloud/cloud.hpp"
#include "adbench/pointcloud/features.hpp"
#include "adbench/pointcloud/knn.hpp"
#include "test_util.hpp"

namespace fs = std::filesystem;
namespace pc = adbench::pointcloud;
using adbench::test::rank_auroc;
using adbench::test::TempDir;

namespace {

at::Tensor random_points(std::int64_t n, std::uint64_t seed) {
  std::mt19937 g(static_cast<unsigned>(seed));
  std::uniform_real_distribution<float> u(-2.f, 3.f);
  at::Tensor t = at::empty({n, 3}, at::kFloat);
  for (std::int64_t i = 0; i < 3 * n; ++i) t.data_ptr<float>()[i] = u(g);
  return t;
}

void write_text(const fs::path& p, const std::string& s) {
  std::ofstream out(p, std::ios::binary);
  out << s;
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const adbench::InputError& e) {
    return e.what();
  }
  return "<no error>";
}

const char* kHeader =
    "# .PCD v0.7\nVERSION 0.7\nFIELDS x y z\nSIZE 4 4 4\nTYPE F F F\nCOUNT 1 1 1\nWIDTH 2\nHEIGHT 1\n"
    "VIEWPOINT 0 0 0 1 0 0 0\nPOINTS 2\nDATA ascii\n";

}  // namespace

TEST_CASE("PCD ascii, binary and binary_compressed and PLY round-trip", "[pointcloud]") {
  TempDir tmp("pcio");
  at::Tensor pts = random_points(1000, 1);
  for (const char* enc : {"ascii", "binary", "binary_compressed"}) {
    INFO(enc);
    auto f = tmp / (std::string(enc) + ".pcd");
    pc::write_pcd(f, pts, enc);
    pc::Cloud c = pc::read_cloud(f);
    REQUIRE(c.points.sizes() == pts.sizes());
    REQUIRE(!c.organised());
    REQUIRE(pc::cloud_point_count(f) == 1000);
    if (std::string(enc) == "ascii")
      REQUIRE(at::allclose(c.points, pts, 1e-6, 1e-6));
    else
      REQUIRE(at::equal(c.points, pts));  // float32 bytes survive exactly
  }
  auto ply = tmp / "c.ply";
  pc::write_ply(ply, pts);
  REQUIRE(at::equal(pc::read_cloud(ply).points, pts));
  REQUIRE(pc::cloud_point_count(ply) == 1000);
}

TEST_CASE("PCD with extra fields, integer coordinates and a hand-written ascii body", "[pointcloud]") {
  TempDir tmp("pcf");
  auto f = tmp / "a.pcd";
  write_text(
      f,
      "# comment\nVERSION 0.7\nFIELDS x y z intensity\nSIZE 4 2 4 4\nTYPE F I F F\nCOUNT 1 1 1 1\nWIDTH 3\n"
      "HEIGHT 1\nVIEWPOINT 0 0 0 1 0 0 0\nPOINTS 3\nDATA ascii\n1.5 2 3.25 9\n-1 -7 0 9\n0.125 100 -2 9\n");
  auto c = pc::read_cloud(f);
  REQUIRE(c.size() == 3);
  REQUIRE(c.points[1][1].item<float>() == -7.f);
  REQUIRE(c.points[2][0].item<float>() == 0.125f);
  REQUIRE(c.points[0][2].item<float>() == 3.25f);
}

TEST_CASE("text clouds and ground truth", "[pointcloud]") {
  TempDir tmp("txt");
  write_text(tmp / "c.txt", "0 0 0\n1 2 3\n\n4 5 6 7\n");
  auto c = pc::read_cloud(tmp / "c.txt");
  REQUIRE(c.size() == 3);
  REQUIRE(c.points[2][2].item<float>() == 6.f);
  write_text(tmp / "gt4.txt", "0 0 0 0\n1 2 3 1\n4 5 6 0.0\n");
  write_text(tmp / "gt1.txt", "0\n1.0\n0\n");
  for (const char* g : {"gt4.txt", "gt1.txt"}) {
    auto l = pc::read_point_labels(tmp / g, 3, tmp / "c.txt");
    REQUIRE(l.sizes() == at::IntArrayRef({3}));
    REQUIRE(l[1].item<int>() == 1);
    REQUIRE(l.sum().item<int>() == 1);
  }
}

TEST_CASE("organised xyz TIFF: channel order and missing points", "[pointcloud]") {
  TempDir tmp("tif");
  cv::Mat m(4, 5, CV_32FC3, cv::Scalar(0, 0, 0));
  // OpenCV's Mat is BGR-first: (z, y, x) in memory, (x, y, z) in the file.
  m.at<cv::Vec3f>(1, 2) = cv::Vec3f(3.f, 2.f, 1.f);
  m.at<cv::Vec3f>(3, 4) = cv::Vec3f(6.f, 5.f, 4.f);
  REQUIRE(cv::imwrite((tmp / "a.tiff").string(), m,
                      {cv::IMWRITE_TIFF_COMPRESSION, 1}));  // uncompressed: exact floats
  auto c = pc::read_cloud(tmp / "a.tiff");
  REQUIRE(c.organised());
  REQUIRE(c.height == 4);
  REQUIRE(c.width == 5);
  REQUIRE(c.size() == 2);
  REQUIRE(c.grid_index[0].item<std::int64_t>() == 1 * 5 + 2);
  REQUIRE(c.grid_index[1].item<std::int64_t>() == 3 * 5 + 4);
  REQUIRE(c.points[0][0].item<float>() == 1.f);
  REQUIRE(c.points[0][2].item<float>() == 3.f);
}

TEST_CASE("bad clouds: one line naming the file", "[pointcloud]") {
  TempDir tmp("bad");
  auto f = tmp / "f8.pcd";
  write_text(f,
             "VERSION 0.7\nFIELDS x y z\nSIZE 8 8 8\nTYPE F F F\nCOUNT 1 1 1\nWIDTH 1\nHEIGHT 1\nPOINTS "
             "1\nDATA ascii\n1 2 3\n");
  REQUIRE(error_of([&] { pc::read_cloud(f); }) ==
          f.string() +
              ": PCD field 'x' has TYPE F SIZE 8 COUNT 1, which cannot be read (x, y and z must be F 4, "
              "I 1/2/4 or U 1/2/4 with COUNT 1)");
  auto noz = tmp / "noz.pcd";
  write_text(noz,
             "VERSION 0.7\nFIELDS x y\nSIZE 4 4\nTYPE F F\nCOUNT 1 1\nWIDTH 1\nHEIGHT 1\nPOINTS 1\nDATA "
             "ascii\n1 2\n");
  REQUIRE(error_of([&] { pc::read_cloud(noz); }) == noz.string() + ": PCD has no field 'z' (FIELDS x y)");
  auto nan = tmp / "nan.pcd";
  write_text(nan, std::string(kHeader) + "1 2 3\nnan 0 0\n");
  REQUIRE(error_of([&] { pc::read_cloud(nan); }) ==
          nan.string() + ": 1 points have NaN or infinite coordinates (first: point 1)");
  auto empty = tmp / "empty.pcd";
  write_text(empty,
             "VERSION 0.7\nFIELDS x y z\nSIZE 4 4 4\nTYPE F F F\nCOUNT 1 1 1\nWIDTH 0\nHEIGHT 1\nPOINTS "
             "0\nDATA ascii\n");
  REQUIRE(error_of([&] { pc::read_cloud(empty); }) == empty.string() + ": empty point cloud (0 points)");
  auto short_bin = tmp / "short.pcd";
  pc::write_pcd(short_bin, random_points(10, 2), "binary");
  fs::resize_file(short_bin, fs::file_size(short_bin) - 12);
  REQUIRE(error_of([&] {
            pc::read_cloud(short_bin);
          }).rfind(short_bin.string() + ": cannot read point cloud (truncated", 0) == 0);
  auto short_ascii = tmp / "short_ascii.pcd";
  write_text(short_ascii, std::string(kHeader) + "1 2 3\n");
  REQUIRE(error_of([&] { pc::read_cloud(short_ascii); }) ==
          short_ascii.string() +
              ": cannot read point cloud (truncated: header says 2 points, the file has 1 rows)");
  write_text(tmp / "gt.txt", "0 0 0 0\n1 1 1 1\n1 1 1 1\n");
  REQUIRE(error_of([&] { pc::read_point_labels(tmp / "gt.txt", 2, tmp / "c.pcd"); }) ==
          (tmp / "gt.txt").string() + ": 3 points but its cloud " + (tmp / "c.pcd").string() + " has 2");
  REQUIRE(error_of([&] { pc::read_cloud(tmp / "x.obj"); }) ==
          (tmp / "x.obj").string() + ": cannot open file");
}

TEST_CASE("kNN, farthest-point sampling, coreset and bank distances against brute force", "[pointcloud]") {
  at::Tensor pts = random_points(3000, 3);
  at::Tensor q = random_points(200, 4);
  pc::KdTree tree(pts);
  at::Tensor idx, d2;
  tree.knn(q, 7, idx, d2);
  at::Tensor bd = at::cdist(q.to(at::kDouble), pts.to(at::kDouble)).pow(2);
  auto [bv, bi] = bd.topk(7, 1, false, true);
  REQUIRE(at::allclose(d2.to(at::kDouble), bv, 1e-4, 1e-5));
  REQUIRE(at::equal(idx, bi));
  // FPS: the first index is the start, all distinct, and each new point is the farthest from those before.
  at::Tensor f = pc::farthest_point_sample(pts, 50, 5);
  REQUIRE(f[0].item<std::int64_t>() == 5);
  REQUIRE(std::get<0>(at::_unique(f)).numel() == 50);
  at::Tensor chosen = pts.index_select(0, f.slice(0, 0, 10));
  at::Tensor mind = at::cdist(pts, chosen).amin(1);
  REQUIRE(mind[f[10].item<std::int64_t>()].item<float>() == Approx(mind.max().item<float>()));
  // Coreset of 64-d features: greedy property, and m = N selects every row once.
  at::Tensor feats = at::randn({400, 64}, at::TensorOptions().dtype(at::kFloat));
  const auto seeding = adbench::CoresetSeeding::SeedModulo;  // the point-cloud detectors'
  at::Tensor cs = adbench::greedy_coreset(feats, 20, {0, 0, seeding, ""});
  at::Tensor md = at::cdist(feats, feats.index_select(0, cs.slice(0, 0, 19))).amin(1);
  REQUIRE(md[cs[19].item<std::int64_t>()].item<float>() == Approx(md.max().item<float>()).epsilon(1e-4));
  const adbench::CoresetOptions all_rows{/*projection_dim=*/0, /*seed=*/1, seeding, ""};
  REQUIRE(std::get<0>(at::_unique(adbench::greedy_coreset(feats, 400, all_rows))).numel() == 400);
  at::Tensor near;
  at::Tensor nd = pc::nearest_distances(feats.slice(0, 0, 50), feats.slice(0, 100, 400), &near, 1000);
  auto [ev, ei] = at::cdist(feats.slice(0, 0, 50), feats.slice(0, 100, 400)).min(1);
  REQUIRE(at::allclose(nd, ev, 1e-3, 1e-4));
  REQUIRE(at::equal(near, ei));
}

TEST_CASE("FPFH: 33 bins per scale, normalised sub-histograms, translation invariant", "[pointcloud]") {
  at::Tensor pts = random_points(800, 5);
  pts.select(1, 2).mul_(0.05);  // a thick sheet
  at::Tensor f = pc::fpfh(pts, 10, {10, 20});
  REQUIRE(f.sizes() == at::IntArrayRef({800, 66}));
  // Each 11-bin sub-histogram: the point's own SPFH part (sums to 100) plus the weighted mean of its
  // neighbours' (sums to 100): 200 (Open3D's normalisation).
  REQUIRE(f.slice(1, 0, 11).sum(1).mean().item<double>() == Approx(200.0).epsilon(1e-3));
  at::Tensor shifted = pts + at::tensor({10.f, -3.f, 2.f});
  // Translation changes only float rounding, which can flip an ambiguous normal's sign at a few points.
  at::Tensor same = (pc::fpfh(shifted, 10, {10, 20}) - f).abs().amax(1).lt(0.5);
  REQUIRE(same.to(at::kFloat).mean().item<double>() >= 0.9);
}

namespace {
/// A wavy surface z = f(x, y) sampled at random (x, y) with a little normal noise: the kind of
/// cloud Simple3D describes.
at::Tensor wavy_surface(std::int64_t n, std::uint64_t seed) {
  std::mt19937 g(static_cast<unsigned>(seed));
  std::uniform_real_distribution<float> u(-1.f, 1.f);
  std::normal_distribution<float> noise(0.f, 0.002f);
  at::Tensor t = at::empty({n, 3}, at::kFloat);
  float* d = t.data_ptr<float>();
  for (std::int64_t i = 0; i < n; ++i) {
    const float x = u(g), y = u(g);
    d[3 * i] = x, d[3 * i + 1] = y;
    d[3 * i + 2] = 0.2f * std::sin(3.f * x) * std::cos(2.f * y) + 0.1f * x * x + noise(g);
  }
  return t;
}
}  // namespace

TEST_CASE("FPFH: the fast path gives Open3D's descriptors (same neighbours and bins)", "[pointcloud]") {
  // Measured max |fast - open3d| on these clouds: 7.6e-6 to 3.1e-5, i.e. 1 to 2 float32 ulps of
  // values up to 200 (relative <= 4e-7). A single pair in another bin, or another neighbour, would
  // move >= 100 / 39 = 2.6 (k <= 40 here) of a histogram between bins.
  const double tol = 2e-4;
  auto max_diff = [](const at::Tensor& a, const at::Tensor& b) { return (a - b).abs().max().item<double>(); };
  // A wavy surface, scales unsorted and repeated (the output keeps their order).
  at::Tensor surf = wavy_surface(3000, 11);
  const std::vector<int> ks = {30, 10, 20, 30};
  at::Tensor fast = pc::fpfh(surf, 10, ks);
  at::Tensor ref = pc::fpfh(surf, 10, ks, pc::FpfhMethod::Open3D);
  REQUIRE(fast.sizes() == at::IntArrayRef({3000, 132}));
  REQUIRE(ref.sizes() == fast.sizes());
  REQUIRE(max_diff(fast, ref) <= tol);
  REQUIRE(at::equal(fast.slice(1, 0, 33), fast.slice(1, 99, 132)));
  // Each 11-bin part sums to 200 (own SPFH 100 + normalised neighbour mean 100).
  REQUIRE((fast.reshape({-1, 11}).sum(1) - 200).abs().max().item<double>() <= 1e-3);
  // Simple3D's use: group means (LFSA) and the distance to a bank of another surface's group means.
  // In exact (double) arithmetic the two paths agree to float rounding (measured: 1.0e-6 relative).
  // The detectors' float32 distance picks neighbours by |b|^2 - 2 q.b + |q|^2 (|q|^2 ~ 1e5, off by
  // ~3.5e-3) and then recomputes the chosen distances from the differences, so it is off the exact
  // one by float rounding only, and fast vs reference stays within 1e-5 relative (the scores Simple3D
  // reports; before the recomputation: 2.7e-3 absolute).
  pc::KdTree tree(surf);
  at::Tensor groups = tree.knn_indices(surf.index_select(0, pc::farthest_point_sample(surf, 64)), 64);
  at::Tensor other = wavy_surface(3000, 12);
  pc::KdTree tree2(other);
  at::Tensor groups2 = tree2.knn_indices(other.index_select(0, pc::farthest_point_sample(other, 64)), 64);
  at::Tensor bank = pc::group_mean(pc::fpfh(other, 10, ks, pc::FpfhMethod::Open3D), groups2).to(at::kDouble);
  at::Tensor gf = pc::group_mean(fast, groups).to(at::kDouble),
             gr = pc::group_mean(ref, groups).to(at::kDouble);
  at::Tensor exact_f = at::cdist(gf, bank).amin(1), exact_r = at::cdist(gr, bank).amin(1);
  REQUIRE(((exact_f - exact_r).abs() / exact_r).max().item<double>() <= 1e-5);
  at::Tensor float_f = pc::nearest_distances(gf.to(at::kFloat), bank.to(at::kFloat)).to(at::kDouble);
  at::Tensor float_r = pc::nearest_distances(gr.to(at::kFloat), bank.to(at::kFloat)).to(at::kDouble);
  REQUIRE(((float_r - exact_r).abs() / exact_r).max().item<double>() <= 1e-6);
  REQUIRE(((float_f - float_r).abs() / float_r).max().item<double>() <= 1e-5);
  // A thick random sheet.
  at::Tensor sheet = random_points(800, 5);
  sheet.select(1, 2).mul_(0.05);
  REQUIRE(max_diff(pc::fpfh(sheet, 10, {10, 20}), pc::fpfh(sheet, 10, {10, 20}, pc::FpfhMethod::Open3D)) <=
          tol);
  // A regular grid with a step of 1/8 (exact in binary, so many squared distances tie exactly and
  // every k here cuts through a ring of tied neighbours, e.g. k = 8: the point, 4 at 1/8 and 3 of the
  // 4 at sqrt(2)/8; the cut must match Open3D's separate searches) with a bump, and some points
  // duplicated (zero distances, skipped neighbours).
  std::vector<float> grid;
  for (int i = 0; i < 30; ++i)
    for (int j = 0; j < 30; ++j) {
      const float x = 0.125f * float(i), y = 0.125f * float(j);
      grid.insert(grid.end(), {x, y, (i - 15) * (i - 15) + (j - 12) * (j - 12) < 20 ? 0.0625f : 0.f});
    }
  for (int r = 0; r < 40; ++r)
    grid.insert(grid.end(), {grid[3 * (7 * r)], grid[3 * (7 * r) + 1], grid[3 * (7 * r) + 2]});
  at::Tensor g =
      at::from_blob(grid.data(), {static_cast<std::int64_t>(grid.size() / 3), 3}, at::kFloat).clone();
  REQUIRE(max_diff(pc::fpfh(g, 8, {8, 16, 40}), pc::fpfh(g, 8, {8, 16, 40}, pc::FpfhMethod::Open3D)) <= tol);
  // A cubic lattice, same step: tied rings in 3-D, where the PCA normals (and so the pair features)
  // differ between tied neighbours, so a different cut would change the descriptors.
  std::vector<float> cube;
  for (int i = 0; i < 8; ++i)
    for (int j = 0; j < 8; ++j)
      for (int l = 0; l < 8; ++l)
        cube.insert(cube.end(), {0.125f * float(i), 0.125f * float(j), 0.125f * float(l)});
  at::Tensor c = at::from_blob(cube.data(), {512, 3}, at::kFloat).clone();
  REQUIRE(max_diff(pc::fpfh(c, 10, {8, 16, 40}), pc::fpfh(c, 10, {8, 16, 40}, pc::FpfhMethod::Open3D)) <=
          tol);
  // Clouds smaller than k (k counts as N), and k < 2 (counts as 2).
  at::Tensor few = random_points(5, 3);
  REQUIRE(max_diff(pc::fpfh(few, 3, {1, 4, 9}), pc::fpfh(few, 3, {1, 4, 9}, pc::FpfhMethod::Open3D)) <= tol);
  REQUIRE(pc::fpfh(random_points(1, 3), 3, {10}).abs().max().item<double>() == 0.0);
  REQUIRE(pc::fpfh_method_from_name("open3d") == pc::FpfhMethod::Open3D);
  REQUIRE(pc::fpfh_method_from_name("fast") == pc::FpfhMethod::Fast);
}

TEST_CASE("point metrics on a hand-made cloud equal independent computations", "[pointcloud][metrics]") {
  // 10 points, 3 anomalous. Scores with one tie across classes.
  std::vector<double> s = {0.1, 0.4, 0.35, 0.8, 0.2, 0.7, 0.4, 0.05, 0.9, 0.3};
  std::vector<int> y = {0, 0, 0, 1, 0, 1, 1, 0, 0, 0};
  adbench::metrics::PixelAccumulator acc({}, at::kCPU);
  acc.add_points(at::tensor(s, at::kDouble).slice(0, 0, 6),
                 at::tensor(std::vector<int>(y.begin(), y.begin() + 6)), "a");
  acc.add_points(at::tensor(s, at::kDouble).slice(0, 6, 10),
                 at::tensor(std::vector<int>(y.begin() + 6, y.end())), "b");
  auto m = acc.compute();
  REQUIRE(m.pixels == 10);
  REQUIRE(m.positives == 3);
  REQUIRE(*m.auroc == Approx(rank_auroc(s, y)).epsilon(1e-12));
  // By hand: sorted descending 0.9(0) 0.8(1) 0.7(1) 0.4(0,1 tie) 0.35(0) ...
  // Thresholds: P/R at 0.9: 0/0; 0.8: 1/2, 1/3; 0.7: 2/3, 2/3; 0.4: 3/5, 3/3.
  // AP = sum (R_n - R_{n-1}) P_n = 1/3*1/2 + 1/3*2/3 + 1/3*3/5.
  REQUIRE(*m.ap == Approx(1.0 / 6 + 2.0 / 9 + 1.0 / 5).epsilon(1e-12));
  // F1 at 0.4: 2*0.6*1/(1.6) = 0.75; at 0.7: 2/3. Max 0.75.
  REQUIRE(*m.f1_max == Approx(0.75).epsilon(1e-12));
  REQUIRE(m.aupro.front().second == std::nullopt);
}

TEST_CASE("masked grid metrics leave out missing points", "[pointcloud][metrics]") {
  // 4x4 grid; the right column is missing data with extreme scores that must not count.
  at::Tensor map = at::tensor({0.1f, 0.2f, 0.3f, 9.f, 0.2f, 0.8f, 0.7f, 9.f, 0.1f, 0.9f, 0.2f, -9.f, 0.0f,
                               0.1f, 0.3f, -9.f})
                       .reshape({4, 4});
  at::Tensor mask = at::zeros({4, 4}, at::kBool);
  mask[1][1] = true, mask[1][2] = true, mask[2][1] = true, mask[0][3] = true;  // (0,3) is missing
  at::Tensor valid = at::ones({4, 4}, at::kBool);
  valid.select(1, 3).fill_(false);
  adbench::metrics::Options opt;
  opt.aupro_limits = {0.3, 1.0};
  adbench::metrics::PixelAccumulator acc(opt, at::kCPU);
  acc.add(map, mask, valid, "grid");
  auto m = acc.compute();
  REQUIRE(m.pixels == 12);
  REQUIRE(m.positives == 3);
  REQUIRE(m.regions == 1);
  std::vector<double> s;
  std::vector<int> y;
  for (int r = 0; r < 4; ++r)
    for (int c = 0; c < 3; ++c) s.push_back(map[r][c].item<float>()), y.push_back(mask[r][c].item<bool>());
  REQUIRE(*m.auroc == Approx(rank_auroc(s, y)).epsilon(1e-12));
  REQUIRE(*m.auroc == Approx(1.0));
  // One region scored above every normal point: PRO = 1 from FPR 0, so AUPRO = 1 at both limits.
  REQUIRE(*m.aupro[0].second == Approx(1.0));
  REQUIRE(*m.aupro[1].second == Approx(1.0));
}
