// The shared helpers of lib/core: batching, path queries, the synthetic-data RNG, kNN and greedy
// coresets (nearest.hpp), InternalError's throw location.
#include <array>
#include <catch2/catch.hpp>
#include <cstdlib>
#include <fstream>
#include <vector>

#include "adbench/core/batching.hpp"
#include "adbench/core/error.hpp"
#include "adbench/core/nearest.hpp"
#include "adbench/core/path_util.hpp"
#include "adbench/core/rng.hpp"
#include "adbench/core/stage_times.hpp"
#include "test_util.hpp"

namespace fs = std::filesystem;
using adbench::test::TempDir;

TEST_CASE("batch_ranges and for_each_batch cover the items in order", "[core][batching]") {
  auto r = adbench::batch_ranges(10, 4);
  REQUIRE(r.size() == 3);
  CHECK((r[0].begin == 0 && r[0].end == 4));
  CHECK((r[1].begin == 4 && r[1].end == 8));
  CHECK((r[2].begin == 8 && r[2].end == 10));
  CHECK(r[2].size() == 2);
  CHECK(adbench::batch_ranges(0, 4).empty());
  CHECK(adbench::batch_ranges(3, 0).size() == 3);  // < 1 counts as 1
  CHECK(adbench::batch_ranges(3, -5).size() == 3);
  CHECK(adbench::batch_ranges(3, 100).size() == 1);

  const std::vector<int> v{1, 2, 3, 4, 5, 6, 7};
  std::vector<int> sums, sizes;
  adbench::for_each_batch(v, 3, [&](std::span<const int> b) {
    int s = 0;
    for (int x : b) s += x;
    sums.push_back(s);
    sizes.push_back(static_cast<int>(b.size()));
  });
  CHECK(sums == std::vector<int>{6, 15, 7});
  CHECK(sizes == std::vector<int>{3, 3, 1});
  // A mutable range gives mutable spans, views of the items themselves (no copies).
  std::array<int, 5> a{0, 0, 0, 0, 0};
  int batch = 0;
  adbench::for_each_batch(a, 2, [&](std::span<int> b) {
    ++batch;
    for (int& x : b) x = batch;
  });
  CHECK(a == std::array<int, 5>{1, 1, 2, 2, 3});
  int calls = 0;
  adbench::for_each_batch(std::vector<int>{}, 4, [&](std::span<int>) { ++calls; });
  CHECK(calls == 0);
}

TEST_CASE("lower, is_dir and is_file", "[core][paths]") {
  CHECK(adbench::lower("MiXeD.PNG") == "mixed.png");
  CHECK(adbench::lower("") == "");
  CHECK(adbench::lower("\xC3\x89t\xC3\xA9 ABC") == "\xC3\x89t\xC3\xA9 abc");  // ASCII only, bytes kept
  TempDir tmp("paths");
  const fs::path file = tmp / "f.txt";
  std::ofstream(file) << "x";
  CHECK(adbench::is_dir(tmp.path()));
  CHECK(!adbench::is_file(tmp.path()));
  CHECK(adbench::is_file(file));
  CHECK(!adbench::is_dir(file));
  CHECK(!adbench::is_file(tmp / "missing"));
  CHECK(!adbench::is_dir(tmp / "missing"));
  // A file used as a folder (ENOTDIR) is neither, without throwing.
  CHECK(!adbench::is_file(file / "x"));
  CHECK(!adbench::is_dir(file / "x"));
  static_assert(noexcept(adbench::is_dir(fs::path()))&& noexcept(adbench::is_file(fs::path())));
}

TEST_CASE("Rng: the pinned xoshiro256** / splitmix64 stream of the synthetic data", "[core][rng]") {
  // Reference values from an independent implementation (Python) of the same algorithms.
  std::uint64_t state = 0;
  CHECK(adbench::splitmix64(state) == 0xe220a8397b1dcdafULL);
  CHECK(adbench::fnv1a("a") == 0xaf63dc4c8601ec8cULL);
  CHECK(adbench::fnv1a("") == 0xcbf29ce484222325ULL);
  adbench::Rng r(42);
  CHECK(r.next() == 0x15780b2e0c2ec716ULL);
  CHECK(r.next() == 0x6104d9866d113a7eULL);
  CHECK(r.next() == 0xae17533239e499a1ULL);
  adbench::Rng u(7);
  CHECK(u.uniform() == 0.7005764821796896);
  CHECK(u.uniform() == 0.2787512294737843);
  adbench::Rng n(123);
  CHECK(n.normal() == -0.4144957522872483);
  adbench::Rng a(5), b(5);
  for (int i = 0; i < 100; ++i) {
    const int k = a.integer(-3, 3);
    CHECK((k >= -3 && k <= 3));
    const double x = a.uniform(2.0, 4.0);
    CHECK((x >= 2.0 && x < 4.0));
    b.next(), b.next();
  }
  CHECK(a.next() == b.next());  // integer and uniform each consume one draw
}

TEST_CASE("InternalError records where it was thrown", "[core][errors]") {
  const int line = __LINE__ + 2;
  try {
    throw adbench::InternalError("broken invariant");
  } catch (const adbench::InternalError& e) {
    CHECK(std::string(e.what()) == "broken invariant");
    CHECK(e.where().line() == static_cast<std::uint_least32_t>(line));
    // Relative to the source tree: main prints "internal error at tests/core/test_helpers.cpp:N: ...".
    CHECK(e.location() == "tests/core/test_helpers.cpp:" + std::to_string(line));
  }
  // Still an adbench::Error and a std::runtime_error, not an InputError.
  CHECK_THROWS_AS(throw adbench::InternalError("x"), adbench::Error);
}

TEST_CASE("knn: blocked matmul search equals brute force", "[core][nearest]") {
  at::manual_seed(1);
  at::Tensor bank = at::randn({1000, 16}), query = at::randn({37, 16});
  auto [d, i] = adbench::knn(query, bank, 3, /*block_bytes=*/4096);  // forces many blocks
  at::Tensor full = at::cdist(query, bank);
  auto [rd, ri] = full.topk(3, 1, false, true);
  REQUIRE(at::equal(i, ri));
  REQUIRE(at::allclose(d, rd, 1e-4, 1e-4));
}

TEST_CASE("greedy_coreset: farthest-point order without an N x N matrix", "[core][nearest]") {
  at::manual_seed(2);
  at::Tensor x = at::randn({300, 8});
  // PatchCore's and FastRecon's seeding (the Generator default).
  const adbench::CoresetOptions opt{/*projection_dim=*/0, /*seed=*/5, adbench::CoresetSeeding::Generator,
                                    "test"};
  at::Tensor sel = adbench::greedy_coreset(x, 20, opt);
  REQUIRE(sel.size(0) == 20);
  // Reference: the same first centre, then repeatedly the point farthest from the chosen set.
  at::Tensor dist = at::cdist(x, x);
  std::vector<int64_t> ref{sel[0].item<int64_t>()};
  at::Tensor mind = dist[ref[0]].clone();
  for (int s = 1; s < 20; ++s) {
    int64_t next = mind.argmax().item<int64_t>();
    ref.push_back(next);
    mind = at::minimum(mind, dist[next]);
  }
  for (int s = 0; s < 20; ++s) REQUIRE(sel[s].item<int64_t>() == ref[static_cast<size_t>(s)]);
  // Same seed, same coreset; with the projection the indices stay distinct.
  REQUIRE(at::equal(sel, adbench::greedy_coreset(x, 20, opt)));
  at::Tensor proj = adbench::greedy_coreset(x, 50, {4, 5, adbench::CoresetSeeding::Generator, "test"});
  REQUIRE(std::get<0>(at::_unique(proj)).size(0) == 50);
}

// The fast method (nearest-centre groups, triangle-inequality and PCA-bound skips) against the
// plain loop: the same rows in the same order, on data made to stress it: clustered, duplicated
// rows (exact zero distances), an integer lattice (exact ties, broken by the lowest row), odd
// dimensions, a projection, n = 1, n >= N, identical rows, underflow and overflow.
TEST_CASE("greedy_coreset: fast selects exactly what the plain loop selects", "[core][nearest]") {
  using adbench::CoresetMethod;
  auto both = [](const at::Tensor& x, int64_t n, int64_t proj, std::uint64_t seed,
                 adbench::CoresetSeeding seeding = adbench::CoresetSeeding::Generator) {
    at::Tensor plain = adbench::greedy_coreset(x, n, {proj, seed, seeding, "", CoresetMethod::Plain});
    // Every fast variant: the PCA-bound scan (forced by 0) with its AVX2 first stage (where the CPU
    // has AVX2) and with the portable one, and the triangle groups (forced by 2).
    for (const char* variant : {"0", "0-no-avx2", "2"}) {
      const std::string v = variant;
      ::setenv("ADBENCH_CORESET_PCA_TOP", v.substr(0, 1).c_str(), 1);
      if (v.find("no-avx2") != std::string::npos) ::setenv("ADBENCH_CORESET_NO_AVX2", "1", 1);
      at::Tensor fast = adbench::greedy_coreset(x, n, {proj, seed, seeding, "", CoresetMethod::Fast});
      ::unsetenv("ADBENCH_CORESET_PCA_TOP");
      ::unsetenv("ADBENCH_CORESET_NO_AVX2");
      INFO("rows " << x.size(0) << " dims " << x.size(1) << " n " << n << " seed " << seed << " variant "
                   << variant);
      REQUIRE(fast.size(0) == std::min(n, x.size(0)));
      REQUIRE(at::equal(fast, plain));
    }
    return plain;
  };
  at::manual_seed(11);
  // Gaussian mixture, 2,000 x 24: 89 plain steps, then 1,111 fast ones.
  at::Tensor centres = at::randn({25, 24}) * 3;
  at::Tensor mix = centres.index_select(0, at::randint(25, {2000}, at::kLong)) + 0.3 * at::randn({2000, 24});
  for (std::uint64_t seed : {0u, 1u, 7u}) both(mix, 1200, 0, seed);
  both(mix, 700, 8, 3);                                       // projected to 8 dims
  both(mix, 400, 0, 2, adbench::CoresetSeeding::SeedModulo);  // the point-cloud seeding
  // Duplicates: every row four times. The first 600 picks are distinct rows; after them every
  // min-distance is 0 and the lowest row wins each tie.
  at::Tensor dup = at::randn({600, 5}).repeat({4, 1});
  at::Tensor all = both(dup, 2400, 0, 4);
  CHECK(std::get<0>(at::_unique(at::remainder(all.narrow(0, 0, 600), 600))).numel() == 600);
  CHECK(all[600].item<int64_t>() == 0);
  // A 3-d integer lattice, 17 x 17 x 17: many equal distances.
  at::Tensor g = at::arange(17, at::kFloat);
  auto mesh = at::meshgrid({g, g, g}, "ij");
  at::Tensor lattice = at::stack({mesh[0].flatten(), mesh[1].flatten(), mesh[2].flatten()}, 1).contiguous();
  both(lattice, 1500, 0, 5);
  both(lattice, 4913, 0, 6);  // every row
  // Odd dimensions (tails of the 16-lane sum), tiny inputs, n = 1 and n > N.
  both(at::randn({3001, 133}), 400, 0, 8);
  both(at::randn({1, 4}), 3, 0, 9);
  both(mix, 1, 0, 10);
  both(mix.narrow(0, 0, 37), 100, 0, 12);
  // The accelerated traversal (groups of rows by nearest centre, triangle-inequality skips) on
  // more shapes: several seeds and sizes of a low-intrinsic-dimension mixture (the benchmark's
  // generator, scaled down), 128 dims, a bank where most rows are one identical row, a bank of
  // nothing but identical rows, and magnitudes whose squares underflow or overflow.
  for (std::uint64_t seed : {21u, 22u, 23u, 24u}) {
    const int64_t rows = 1500 + 700 * static_cast<int64_t>(seed - 21), dims = seed % 2 ? 32 : 128;
    const int64_t comps = rows / 100;
    at::Tensor cen = at::randn({comps, dims}) * 4, basis = at::randn({comps, 8, dims}) * 0.5;
    at::Tensor which = at::randint(comps, {rows}, at::kLong);
    at::Tensor low = cen.index_select(0, which) +
                     at::bmm(at::randn({rows, 1, 8}), basis.index_select(0, which)).squeeze(1) +
                     0.1 * at::randn({rows, dims});
    both(low, rows / 10, 0, seed);
    both(low, rows / 2, 0, seed + 100);
  }
  at::Tensor same = at::randn({1, 16}).repeat({3000, 1});
  same.narrow(0, 0, 300).copy_(at::randn({300, 16}));
  same = same.index_select(0, at::randperm(3000, at::kLong)).contiguous();
  both(same, 400, 0, 31);   // past the 301 distinct rows: every min-distance 0, lowest rows first
  both(same, 3000, 0, 32);  // every row
  both(at::randn({1, 7}).repeat({500, 1}), 20, 0, 33);
  both(at::randn({800, 20}) * 1e-21f, 300, 0, 34);            // squared differences underflow
  both(at::randn({800, 20}) * 2e18f, 300, 0, 35);             // squared distances overflow to infinity
  at::Tensor rounded = at::round(at::randn({2500, 12}) * 2);  // few distinct values: many ties
  both(rounded, 1200, 0, 36);
  // Plain keeps the greedy property with its own distances: each new row is the farthest (by
  // coreset_sqdist) from those chosen before, ties to the lowest row.
  at::Tensor sel = both(mix, 300, 0, 13);
  std::vector<float> md(2000, std::numeric_limits<float>::infinity());
  const float* xs = mix.contiguous().data_ptr<float>();
  for (int64_t s = 0; s + 1 < 300; ++s) {
    const float* c = xs + sel[s].item<int64_t>() * 24;
    int64_t arg = 0;
    for (int64_t i = 0; i < 2000; ++i) {
      md[i] = std::min(md[i], adbench::coreset_sqdist(xs + i * 24, c, 24));
      if (md[i] > md[arg]) arg = i;
    }
    REQUIRE(sel[s + 1].item<int64_t>() == arg);
  }
  // NaN features are refused.
  at::Tensor bad = mix.clone();
  bad[5][3] = std::numeric_limits<float>::quiet_NaN();
  REQUIRE_THROWS_WITH(adbench::greedy_coreset(bad, 10, {}),
                      "coreset: the features hold NaN or infinite values");
}

TEST_CASE("greedy_coreset: the point-cloud seeding starts at seed % N", "[core][nearest]") {
  at::manual_seed(3);
  at::Tensor x = at::randn({50, 6});
  const adbench::CoresetOptions opt{0, 123, adbench::CoresetSeeding::SeedModulo, ""};
  at::Tensor sel = adbench::greedy_coreset(x, 5, opt);
  REQUIRE(sel.size(0) == 5);
  CHECK(sel[0].item<int64_t>() == 123 % 50);
  CHECK(at::equal(sel, adbench::greedy_coreset(x, 5, opt)));
  CHECK(adbench::greedy_coreset(x, 80, opt).size(0) == 50);  // capped at N
  CHECK(adbench::greedy_coreset(x, 0, opt).size(0) == 0);
  // m = N: every row exactly once, the greedy order from row 123 % 50.
  at::Tensor all = adbench::greedy_coreset(x, 50, opt);
  CHECK(std::get<0>(at::_unique(all)).numel() == 50);
  CHECK(at::equal(all.narrow(0, 0, 5), sel));
  // k = 1 against the bank itself: every row is its own nearest neighbour, at distance ~0 (the
  // |b|^2 - 2 q.b + |q|^2 form leaves float rounding: about sqrt(1e-6)).
  auto [d, i] = adbench::knn(x, x, 1);
  CHECK(at::equal(i.squeeze(1), at::arange(50, at::kLong)));
  CHECK(d.max().item<float>() < 1e-2f);
  CHECK_THROWS_AS(adbench::knn(x, x.narrow(0, 0, 0), 1), adbench::InternalError);
}

TEST_CASE("stage_times: wall seconds per stage, in first-use order", "[core]") {
  adbench::stage_times::reset();
  adbench::stage_times::add("decode", 0.25);
  adbench::stage_times::add("knn", 1.5);
  adbench::stage_times::add("decode", 0.5);
  { adbench::ScopedStage s("write"); }
  const auto snap = adbench::stage_times::snapshot();
  REQUIRE(snap.size() == 3);
  CHECK(snap[0] == std::pair<std::string, double>("decode", 0.75));
  CHECK(snap[1] == std::pair<std::string, double>("knn", 1.5));
  CHECK(snap[2].first == "write");
  CHECK(snap[2].second >= 0.0);
  CHECK(snap[2].second < 1.0);
  CHECK(adbench::stage_times::summary().rfind("decode 0.75 s, knn 1.50 s, write 0.", 0) == 0);
  adbench::stage_times::reset();
  CHECK(adbench::stage_times::snapshot().empty());
  CHECK(adbench::stage_times::summary().empty());
}
