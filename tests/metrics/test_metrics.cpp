// Metrics module: engines against a plain reference, torch vs radix, conventions, undefined cases,
// errors, streaming, curves.
#include <catch2/catch.hpp>
#include <cmath>

#include "adbench/core/error.hpp"
#include "adbench/metrics/metrics.hpp"
#include "reference.hpp"
#include "test_util.hpp"

using namespace adbench;
using namespace adbench::metrics;
using adbench::test::RefImage;

namespace {

const std::vector<double> kLimits{0.3, 0.05, 0.01, 1.0};

at::Tensor map_tensor(const RefImage& im, at::ScalarType t) {
  return at::tensor(im.map, at::kDouble).reshape({im.h, im.w}).to(t);
}
at::Tensor mask_tensor(const RefImage& im) {
  return at::tensor(std::vector<int64_t>(im.mask.begin(), im.mask.end()), at::kLong)
      .reshape({im.h, im.w})
      .to(at::kBool);
}

/// The images as the engine sees them in dtype t (float32 rounds the values).
std::vector<RefImage> as_dtype(std::vector<RefImage> ims, at::ScalarType t) {
  if (t == at::kFloat)
    for (auto& im : ims)
      for (auto& v : im.map) v = static_cast<double>(static_cast<float>(v));
  return ims;
}

PixelMetrics run(const std::vector<RefImage>& ims, const Options& opt, at::ScalarType t) {
  PixelAccumulator acc(opt);
  for (size_t i = 0; i < ims.size(); ++i) {
    at::Tensor m = map_tensor(ims[i], t), k = mask_tensor(ims[i]);
    acc.add(m, k, "img" + std::to_string(i));
  }
  return acc.compute();
}

void require_close(const std::optional<double>& a, double b, double tol = 1e-9) {
  REQUIRE(a.has_value());
  REQUIRE(std::abs(*a - b) <= tol);
}

void require_same(const PixelMetrics& a, const PixelMetrics& b, double tol = 1e-9) {
  REQUIRE(a.pixels == b.pixels);
  REQUIRE(a.positives == b.positives);
  REQUIRE(a.regions == b.regions);
  REQUIRE(a.auroc.has_value() == b.auroc.has_value());
  if (a.auroc) {
    REQUIRE(*a.auroc == Approx(*b.auroc).margin(tol));
    REQUIRE(*a.ap == Approx(*b.ap).margin(tol));
    REQUIRE(*a.f1_max == Approx(*b.f1_max).margin(tol));
    REQUIRE(*a.f1_threshold == *b.f1_threshold);
  }
  REQUIRE(a.aupro.size() == b.aupro.size());
  for (size_t i = 0; i < a.aupro.size(); ++i) {
    REQUIRE(a.aupro[i].first == b.aupro[i].first);
    REQUIRE(a.aupro[i].second.has_value() == b.aupro[i].second.has_value());
    if (a.aupro[i].second) REQUIRE(*a.aupro[i].second == Approx(*b.aupro[i].second).margin(tol));
  }
}

void require_matches_reference(const PixelMetrics& m, const test::RefResult& ref) {
  require_close(m.auroc, ref.auroc);
  require_close(m.ap, ref.ap);
  require_close(m.f1_max, ref.f1);
  REQUIRE(m.aupro.size() == ref.aupro.size());
  for (size_t i = 0; i < ref.aupro.size(); ++i) require_close(m.aupro[i].second, ref.aupro[i]);
}

}  // namespace

TEST_CASE("radix engine equals the plain reference (ties, negatives, -0.0, float32 and float64)",
          "[metrics]") {
  Options opt;
  opt.aupro_limits = kLimits;
  opt.threads = 2;
  for (int levels : {0, 20, 3}) {
    for (auto t : {at::kFloat, at::kDouble}) {
      // 24 maps of 128x128 = 393,216 pixels: above the threshold where the sort goes parallel.
      auto ims = as_dtype(test::random_images(24, 128, 128, 7u + static_cast<unsigned>(levels), levels), t);
      auto m = run(ims, opt, t);
      auto ref = test::reference_metrics(ims, kLimits);
      INFO("levels " << levels << " dtype " << c10::toString(t));
      REQUIRE(m.regions > 10);
      REQUIRE(*m.auroc > 0.6);
      REQUIRE(*m.auroc < 0.999);
      require_matches_reference(m, ref);
    }
  }
}

TEST_CASE("radix engine: 1, 2, 3 or 8 threads (1 to 4 sorted runs) give the same result", "[metrics]") {
  // 393,216 pixels: above the size where the negatives are sorted as one run per thread (at most 4;
  // 8 threads = 4 runs of 2 threads each).
  for (int levels : {0, 5}) {
    for (auto t : {at::kFloat, at::kDouble}) {
      auto ims = as_dtype(test::random_images(24, 128, 128, 31u + static_cast<unsigned>(levels), levels), t);
      Options opt;
      opt.aupro_limits = kLimits;
      opt.threads = 1;
      const PixelMetrics one = run(ims, opt, t);
      require_matches_reference(one, test::reference_metrics(ims, kLimits));
      for (int threads : {2, 3, 8}) {
        INFO("levels " << levels << " dtype " << c10::toString(t) << " threads " << threads);
        opt.threads = threads;
        require_same(run(ims, opt, t), one, 0.0);
      }
    }
  }
}

TEST_CASE("torch engine equals radix engine on heavy ties, float32 and float64", "[metrics]") {
  for (auto t : {at::kFloat, at::kDouble}) {
    for (auto conv : {ApConvention::Step, ApConvention::Trapezoid}) {
      for (int bins : {0, 37}) {
        auto ims = as_dtype(test::random_images(10, 40, 52, 99u + static_cast<unsigned>(bins), 7), t);
        Options opt;
        opt.aupro_limits = kLimits;
        opt.ap_convention = conv;
        opt.aupro_bins = bins;
        opt.keep_curves = true;
        opt.engine = Engine::Radix;
        auto a = run(ims, opt, t);
        opt.engine = Engine::Torch;
        auto b = run(ims, opt, t);
        INFO("dtype " << c10::toString(t) << " bins " << bins);
        REQUIRE(a.aupro[0].second.has_value());
        require_same(a, b);
        REQUIRE(a.roc.has_value());
        REQUIRE(b.roc.has_value());
        REQUIRE(b.pro->x.back() == 1.0);
        REQUIRE(b.pro->y.back() == 1.0);
      }
    }
  }
  // Also continuous scores, where almost every pixel is its own threshold.
  auto ims = test::random_images(6, 64, 64, 5u, 0);
  Options opt;
  opt.aupro_limits = kLimits;
  opt.engine = Engine::Torch;
  auto b = run(ims, opt, at::kDouble);
  opt.engine = Engine::Radix;
  auto a = run(ims, opt, at::kDouble);
  require_same(a, b);
  require_matches_reference(a, test::reference_metrics(ims, kLimits));
}

TEST_CASE("aupro_bins quantises the PRO curve only", "[metrics]") {
  SECTION("1e6 bins on few distinct values equal the exact computation") {
    auto ims = test::random_images(12, 32, 32, 3u, 5);  // values k/5 in [-0.3, 1.3]: a handful of levels
    Options exact;
    exact.aupro_limits = kLimits;
    Options binned = exact;
    binned.aupro_bins = 1000000;
    auto a = run(ims, exact, at::kDouble), b = run(ims, binned, at::kDouble);
    require_same(a, b, 1e-12);
    binned.engine = Engine::Torch;
    require_same(a, run(ims, binned, at::kDouble), 1e-12);
  }
  SECTION("few bins equal the exact AUPRO of explicitly quantised scores, and differ from exact") {
    auto ims = test::random_images(12, 32, 32, 4u, 0);
    Options opt;
    opt.aupro_limits = kLimits;
    opt.aupro_bins = 6;
    auto m = run(ims, opt, at::kDouble);
    auto ref_q = test::reference_metrics(ims, kLimits, 6);
    auto ref = test::reference_metrics(ims, kLimits);
    require_close(m.auroc, ref.auroc);  // pixel AUROC stays exact
    require_close(m.ap, ref.ap);
    for (size_t i = 0; i < kLimits.size(); ++i) require_close(m.aupro[i].second, ref_q.aupro[i]);
    REQUIRE(std::abs(*m.aupro[0].second - ref.aupro[0]) > 1e-3);
  }
}

TEST_CASE("AUPRO cflow200 convention equals the CFlow-AD / AnomalyCLIP computation", "[metrics]") {
  // The maps of scripts/cflow_pro_reference.py (3 images of 24 x 24, five regions, one of two
  // diagonal pixels); golden values printed by that script (scipy + sklearn).
  std::vector<RefImage> ims(3);
  for (int i = 0; i < 3; ++i) {
    ims[static_cast<size_t>(i)].h = ims[static_cast<size_t>(i)].w = 24;
    ims[static_cast<size_t>(i)].mask.assign(24 * 24, 0);
  }
  const auto box = [&](int i, int y0, int y1, int x0, int x1) {
    for (int y = y0; y < y1; ++y)
      for (int x = x0; x < x1; ++x) ims[static_cast<size_t>(i)].mask[static_cast<size_t>(y * 24 + x)] = 1;
  };
  box(0, 3, 8, 4, 10);
  box(0, 15, 18, 15, 22);
  box(1, 10, 20, 2, 5);
  box(1, 5, 6, 5, 6);
  box(1, 6, 7, 6, 7);
  for (int i = 0; i < 3; ++i)
    for (int y = 0; y < 24; ++y)
      for (int x = 0; x < 24; ++x) {
        const double v = ((7 * i + 13 * y + 29 * x) % 97) / 97.0 +
                         0.25 * ims[static_cast<size_t>(i)].mask[static_cast<size_t>(y * 24 + x)];
        ims[static_cast<size_t>(i)].map.push_back(static_cast<float>(v));
      }
  Options opt;
  opt.aupro_limits = {0.3, 0.05};
  opt.aupro_convention = AuproConvention::Cflow200;
  for (Engine e : {Engine::Radix, Engine::Torch})
    for (auto t : {at::kFloat, at::kDouble}) {
      INFO("engine " << static_cast<int>(e) << " dtype " << t);
      opt.engine = e;
      const PixelMetrics m = run(ims, opt, t);
      REQUIRE(m.regions == 4);
      require_close(m.aupro[0].second, 0.382848190089044, 1e-12);
      require_close(m.aupro[1].second, 0.195502645502646, 1e-12);
    }
  // The exact convention gives other numbers on the same maps.
  opt.aupro_convention = AuproConvention::Exact;
  REQUIRE(std::abs(*run(ims, opt, at::kFloat).aupro[0].second - 0.382848190089044) > 1e-3);
  // Not combined with aupro_bins.
  opt.aupro_convention = AuproConvention::Cflow200;
  opt.aupro_bins = 10;
  REQUIRE_THROWS_WITH(
      PixelAccumulator(opt),
      "metrics options: aupro_bins applies to the exact AUPRO only, not to the cflow200 convention");
}

TEST_CASE("AP trapezoid convention (anomalib AUPR)", "[metrics]") {
  Options trap;
  trap.ap_convention = ApConvention::Trapezoid;
  SECTION("constant score at 5 % prevalence: 0.525 (step AP: 0.05)") {
    std::vector<int64_t> labels(100, 0);
    for (int i = 0; i < 5; ++i) labels[static_cast<size_t>(i * 20)] = 1;
    at::Tensor s = at::full({100}, 0.5, at::kDouble), l = at::tensor(labels);
    REQUIRE(*binary_metrics(s, l, trap).ap == Approx(0.525).margin(1e-12));
    REQUIRE(*binary_metrics(s, l).ap == Approx(0.05).margin(1e-12));
    // the same at pixel level, both engines
    at::Tensor map = at::full({10, 10}, 0.25f), mask = l.reshape({10, 10}).to(at::kBool);
    for (auto e : {Engine::Radix, Engine::Torch}) {
      Options o = trap;
      o.engine = e;
      REQUIRE(*pixel_metrics({map}, {mask}, o).ap == Approx(0.525).margin(1e-12));
    }
  }
  SECTION("hand-computed curves") {
    // points (R, P): (.5, 1) (.5, .5) (1, 2/3) (1, .5) plus (0, 1): stable sort by recall -> 0.75
    at::Tensor s = at::tensor({0.9, 0.8, 0.7, 0.6}), l = at::tensor({1, 0, 1, 0});
    REQUIRE(*binary_metrics(s, l, trap).ap == Approx(0.75).margin(1e-12));
    REQUIRE(*binary_metrics(s, l).ap == Approx(0.5 * 1 + 0.5 * 2.0 / 3).margin(1e-12));
    // a negative on top: (0, 0) sorts before the appended (0, 1): 0.5 * (1 + 0.5) = 0.75
    REQUIRE(*binary_metrics(at::tensor({0.9, 0.8}), at::tensor({0, 1}), trap).ap ==
            Approx(0.75).margin(1e-12));
  }
}

TEST_CASE("undefined metrics are null with a warning", "[metrics]") {
  SECTION("image level, one class") {
    for (int cls : {0, 1}) {
      auto r = binary_metrics(at::tensor({0.1, 0.5, 0.9}), at::full({3}, cls, at::kLong));
      REQUIRE_FALSE(r.auroc);
      REQUIRE_FALSE(r.ap);
      REQUIRE_FALSE(r.f1_max);
      REQUIRE(r.warnings.size() == 1);
      REQUIRE(r.warnings[0].find("only one class") != std::string::npos);
    }
  }
  SECTION("pixel level, no anomalous pixel") {
    Options o;
    o.aupro_limits = {0.3, 0.05};
    auto r = pixel_metrics({at::rand({8, 8})}, {at::zeros({8, 8}, at::kBool)}, o);
    REQUIRE_FALSE(r.auroc);
    REQUIRE_FALSE(r.ap);
    REQUIRE_FALSE(r.f1_max);
    REQUIRE(r.aupro.size() == 2);
    REQUIRE_FALSE(r.aupro[0].second);
    REQUIRE(r.aupro[1].first == 0.05);
    REQUIRE(r.warnings.size() == 2);
    REQUIRE(r.pixels == 64);
  }
  SECTION("pixel level, all anomalous: no negatives, AUPRO null too") {
    auto r = pixel_metrics({at::rand({4, 4})}, {at::ones({4, 4}, at::kBool)});
    REQUIRE_FALSE(r.auroc);
    REQUIRE_FALSE(r.aupro[0].second);
    REQUIRE(r.regions == 1);
  }
  SECTION("nothing added") {
    PixelAccumulator acc;
    auto r = acc.compute();
    REQUIRE_FALSE(r.auroc);
    REQUIRE_FALSE(r.aupro[0].second);
    REQUIRE_FALSE(r.warnings.empty());
  }
  SECTION("points: AUROC defined, AUPRO null") {
    PixelAccumulator acc;
    acc.add_points(at::tensor({0.1, 0.2, 0.3, 0.4}), at::tensor({0, 0, 1, 1}));
    auto r = acc.compute();
    REQUIRE(*r.auroc == 1.0);
    REQUIRE_FALSE(r.aupro[0].second);
    REQUIRE(r.warnings.size() == 1);
  }
}

TEST_CASE("input errors name the map and the problem", "[metrics]") {
  for (auto e : {Engine::Radix, Engine::Torch}) {
    Options o;
    o.engine = e;
    PixelAccumulator acc(o);
    at::Tensor bad = at::rand({4, 5});
    bad[1][2] = std::nan("");
    bad[3][4] = INFINITY;
    REQUIRE_THROWS_AS(acc.add(bad, at::zeros({4, 5}, at::kBool), "a/b.tiff"), InputError);
    REQUIRE_THROWS_WITH(acc.add(bad, at::zeros({4, 5}, at::kBool), "a/b.tiff"),
                        "a/b.tiff: map has 2 non-finite values (NaN or infinite)");
    REQUIRE_THROWS_WITH(acc.add(bad.to(at::kDouble), at::zeros({4, 5}, at::kBool), "d.npy"),
                        "d.npy: map has 2 non-finite values (NaN or infinite)");
    REQUIRE_THROWS_WITH(acc.add(at::rand({4, 5}), at::zeros({4, 4}, at::kBool), "m.png"),
                        "m.png: map is 4x5 but its mask is 4x4");
    REQUIRE_THROWS_AS(acc.add(at::rand({2, 4, 5}), at::zeros({4, 5}, at::kBool), "x"), InputError);
    REQUIRE_THROWS_WITH(acc.add(at::rand({2, 4, 5}), at::zeros({4, 5}, at::kBool), "x"), "x: map is not 2-D");
    REQUIRE_THROWS_WITH(acc.add(at::rand({4, 5}), at::zeros({20}, at::kBool), "y"), "y: mask is not 2-D");
    // the failed adds left nothing behind
    at::Tensor map = at::tensor({0.1, 0.9, 0.2, 0.8, 0.3, 0.7}).reshape({2, 3});
    at::Tensor mask = at::tensor({0, 1, 0, 1, 0, 0}).reshape({2, 3}).to(at::kBool);
    acc.add(map, mask, "ok");
    auto r = acc.compute();
    REQUIRE(r.pixels == 6);
    REQUIRE(*r.auroc == 1.0);
    REQUIRE(r.regions == 1);  // (0,1) and (1,0) touch diagonally
  }
  REQUIRE_THROWS_WITH(binary_metrics(at::tensor({0.1, NAN}), at::tensor({0, 1})),
                      "scores: 1 non-finite values (NaN or infinite)");
  REQUIRE_THROWS_WITH(binary_metrics(at::tensor({0.1, 0.2}), at::tensor({0, 1, 1})),
                      "scores and labels: 2 scores but 3 labels");
  REQUIRE_THROWS_WITH(binary_metrics(at::tensor({0.1, 0.2}), at::tensor({0, 2})),
                      "labels: value 2 at index 1 is not 0 or 1");
  Options bad_limit;
  bad_limit.aupro_limits = {0.0};
  REQUIRE_THROWS_AS(PixelAccumulator(bad_limit), InputError);
}

TEST_CASE("streaming add() equals one-shot and the reference; dtype mixing stays exact", "[metrics]") {
  auto ims = test::random_images(15, 48, 40, 11u, 12);
  Options opt;
  opt.aupro_limits = kLimits;
  std::vector<at::Tensor> maps, masks;
  for (const auto& im : ims) maps.push_back(map_tensor(im, at::kDouble)), masks.push_back(mask_tensor(im));
  auto one_shot = pixel_metrics(maps, masks, opt);
  PixelAccumulator acc(opt);
  for (size_t i = 0; i < ims.size(); ++i) {
    at::Tensor m = map_tensor(ims[i], at::kDouble), k = mask_tensor(ims[i]);
    acc.add(m, k);
    m = at::Tensor();  // the caller drops its map
  }
  auto streamed = acc.compute();
  require_same(streamed, one_shot, 0);
  require_matches_reference(streamed, test::reference_metrics(ims, kLimits));
  require_same(acc.compute(), streamed, 0);  // a second compute() returns the same result
  REQUIRE_THROWS_AS(acc.add(maps[0], masks[0]), InternalError);

  // float32 maps first, then float64 maps: the float32 keys are widened exactly
  auto f = as_dtype(ims, at::kFloat);
  PixelAccumulator mixed(opt);
  for (size_t i = 0; i < f.size(); ++i)
    mixed.add(map_tensor(f[i], i < 7 ? at::kFloat : at::kDouble), mask_tensor(f[i]));
  require_same(mixed.compute(), run(f, opt, at::kDouble), 0);
}

TEST_CASE("-0.0 equals 0.0", "[metrics]") {
  at::Tensor a = at::tensor({0.0, -0.0, 0.5, -0.0, 0.0, 1.0}).reshape({2, 3});
  at::Tensor b = at::tensor({0.0, 0.0, 0.5, 0.0, 0.0, 1.0}).reshape({2, 3});
  at::Tensor mask = at::tensor({1, 0, 0, 0, 1, 1}).reshape({2, 3}).to(at::kBool);
  for (auto t : {at::kFloat, at::kDouble}) {
    for (auto e : {Engine::Radix, Engine::Torch}) {
      Options o;
      o.engine = e;
      auto ra = pixel_metrics({a.to(t)}, {mask}, o), rb = pixel_metrics({b.to(t)}, {mask}, o);
      require_same(ra, rb, 0);
      // scores 1 (P), 0.5 (N), then one tie group at +-0 (2 P, 2 N): twice the area = 0 + 1*(1+1) + 2*(3+1)
      REQUIRE(*ra.auroc == Approx(10.0 / 18.0));
    }
  }
}

TEST_CASE("8-connected labelling", "[metrics]") {
  auto regions = [](std::vector<int> m, int h, int w) {
    at::Tensor mask = at::tensor(std::vector<int64_t>(m.begin(), m.end())).reshape({h, w}).to(at::kBool);
    return pixel_metrics({at::rand({h, w})}, {mask}).regions;
  };
  REQUIRE(regions({1, 0, 0, 0, 1, 0, 0, 0, 1}, 3, 3) == 1);  // diagonal
  REQUIRE(regions({0, 0, 1, 0, 1, 0, 1, 0, 0}, 3, 3) == 1);  // anti-diagonal (NE neighbour)
  REQUIRE(regions({1, 0, 1, 0, 0, 0, 1, 0, 1}, 3, 3) == 4);  // isolated corners
  REQUIRE(regions({1, 0, 1, 1, 0, 1, 1, 1, 1}, 3, 3) == 1);  // U shape: two provisional labels merge
  REQUIRE(regions({1, 0, 0, 1, 0, 0, 1, 1, 0, 0, 1, 1}, 2, 6) == 2);
}

TEST_CASE("curves are down-sampled and span the plot", "[metrics]") {
  auto ims = test::random_images(8, 96, 96, 21u, 0);
  Options opt;
  opt.keep_curves = true;
  auto m = run(ims, opt, at::kFloat);
  for (const Curve* c : {&*m.roc, &*m.pr, &*m.pro}) {
    REQUIRE(c->x.size() == c->y.size());
    REQUIRE(c->x.size() > 100);
    REQUIRE(c->x.size() <= 1002);
    REQUIRE(std::is_sorted(c->x.begin(), c->x.end()));
  }
  REQUIRE(m.roc->x.front() == 0.0);
  REQUIRE(m.roc->y.front() == 0.0);
  REQUIRE(m.roc->x.back() == 1.0);
  REQUIRE(m.roc->y.back() == 1.0);
  REQUIRE(m.pro->x.back() == 1.0);
  REQUIRE(m.pr->x.back() == 1.0);
  auto b = binary_metrics(at::tensor({0.9, 0.8, 0.3, 0.1}), at::tensor({1, 1, 0, 0}), opt);
  REQUIRE(b.roc->x.size() >= 3);
  REQUIRE(*b.f1_max == 1.0);
  REQUIRE(*b.f1_threshold == 0.8);
  REQUIRE(*b.auroc == 1.0);
}
