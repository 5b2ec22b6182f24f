// The one brute-force kNN and greedy k-center coreset (see nearest.hpp), shared by the image
// and point-cloud detectors.
#include "adbench/core/nearest.hpp"

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Parallel.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif
#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#endif
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <optional>
#include <vector>

#include "adbench/core/error.hpp"
#include "adbench/core/progress.hpp"

namespace adbench {

using std::int64_t;

std::pair<at::Tensor, at::Tensor> knn(const at::Tensor& query, const at::Tensor& bank, int64_t k,
                                      int64_t block_bytes) {
  const int64_t m = query.size(0), n = bank.size(0);
  if (n == 0) throw InternalError("knn: empty bank");
  k = std::min(k, n);
  auto opts = query.options();
  at::Tensor best_d = at::empty({m, k}, opts.dtype(at::kFloat));
  at::Tensor best_i = at::empty({m, k}, opts.dtype(at::kLong));
  at::Tensor bank_sq = bank.pow(2).sum(1);  // [N]
  // Block sizes: a query block of qb rows against a bank block of nb rows needs qb*nb floats.
  const int64_t cells = std::max<int64_t>(block_bytes / 4, 1 << 16);
  const int64_t nb =
      std::min<int64_t>(n, std::max<int64_t>(cells / std::max<int64_t>(std::min<int64_t>(m, 1024), 1), 1024));
  const int64_t qb = std::max<int64_t>(1, std::min<int64_t>(m, cells / nb));
  // One distance buffer for every block (a fresh allocation per block would be page-faulted in
  // again each time: tensors above glibc's mmap threshold go back to the kernel when freed).
  at::Tensor buf = at::empty({qb * nb}, opts.dtype(at::kFloat));
  for (int64_t q0 = 0; q0 < m; q0 += qb) {
    at::Tensor q = query.narrow(0, q0, std::min(qb, m - q0));
    const int64_t rows = q.size(0);
    at::Tensor q_sq = q.pow(2).sum(1, true);  // [qb,1]
    at::Tensor run_d, run_i;
    for (int64_t b0 = 0; b0 < n; b0 += nb) {
      const int64_t len = std::min(nb, n - b0);
      at::Tensor b = bank.narrow(0, b0, len);
      at::Tensor d = buf.narrow(0, 0, rows * len).view({rows, len});
      at::addmm_out(d, bank_sq.narrow(0, b0, len).unsqueeze(0), q, b.t(), 1.0, -2.0);  // |b|^2 - 2 q.b
      d.add_(q_sq);
      at::Tensor v, i;
      if (k == 1)
        std::tie(v, i) = d.min(1, /*keepdim=*/true);
      else
        std::tie(v, i) = d.topk(std::min(k, len), 1, /*largest=*/false, /*sorted=*/true);
      i.add_(b0);
      if (!run_d.defined()) {
        run_d = v, run_i = i;
      } else {
        at::Tensor cd = at::cat({run_d, v}, 1), ci = at::cat({run_i, i}, 1);
        at::Tensor v2, j;
        if (k == 1)
          std::tie(v2, j) = cd.min(1, true);
        else
          std::tie(v2, j) = cd.topk(k, 1, false, true);
        run_d = v2, run_i = ci.gather(1, j);
      }
    }
    // The expansion above loses digits when |q|^2 is large next to the distance (float32 epsilon
    // times |q|^2: 4.7e-3 in Simple3D's scores, where |q|^2 ~ 1e5): it only chooses the neighbours.
    // Their distances are computed again from the differences, in sub-blocks of ~cells floats.
    const int64_t dim = query.size(1);
    const int64_t sub = std::max<int64_t>(1, cells / std::max<int64_t>(1, k * dim));
    for (int64_t r0 = 0; r0 < rows; r0 += sub) {
      const int64_t r = std::min(sub, rows - r0);
      at::Tensor idx = run_i.narrow(0, r0, r);
      at::Tensor diff = bank.index_select(0, idx.reshape({-1})).view({r, idx.size(1), dim}) -
                        q.narrow(0, r0, r).unsqueeze(1);
      at::Tensor exact = diff.pow(2).sum(2).sqrt();
      if (idx.size(1) > 1) {
        at::Tensor order;
        std::tie(exact, order) = exact.sort(1, /*descending=*/false);
        idx = idx.gather(1, order);
      }
      best_d.narrow(0, q0 + r0, r).copy_(exact);
      best_i.narrow(0, q0 + r0, r).copy_(idx);
    }
  }
  return {best_d, best_i};
}

CoresetMethod coreset_method_from(const std::string& name, const std::string& what) {
  if (name == "fast") return CoresetMethod::Fast;
  if (name == "plain") return CoresetMethod::Plain;
  throw InputError(what + ": coreset_method must be fast or plain, got '" + name + "'");
}

// One definition of the squared distance for both methods: 16 running sums (the compiler turns
// them into vector lanes without reordering anything), then a fixed pairwise tree. Not inlined, so
// that every caller runs the very same instructions.
[[gnu::noinline]] float coreset_sqdist(const float* a, const float* b, int64_t d) {
  float acc[16] = {};
  int64_t j = 0;
  for (; j + 16 <= d; j += 16)
    for (int l = 0; l < 16; ++l) {
      const float t = a[j + l] - b[j + l];
      acc[l] += t * t;
    }
  for (int l = 0; j < d; ++j, ++l) {
    const float t = a[j] - b[j];
    acc[l] += t * t;
  }
  for (int w = 8; w >= 1; w /= 2)
    for (int l = 0; l < w; ++l) acc[l] += acc[l + w];
  return acc[0];
}

namespace {

/// The fast method scans every row's PCA bound when the top principal directions hold at least
/// this fraction of the variance, and uses the triangle-inequality groups otherwise.
/// ADBENCH_CORESET_PCA_TOP overrides it (for tests and measurements: 0 forces the PCA scan, 2 the
/// triangle groups where the bank has at most 128 dims).
double pca_top_fraction() {
  const char* v = std::getenv("ADBENCH_CORESET_PCA_TOP");
  return v ? std::atof(v) : 0.6;
}

/// The farthest row so far: the largest min-distance, ties to the lowest row index.
struct Farthest {
  float d = -1.0f;
  int64_t row = std::numeric_limits<int64_t>::max();
  void offer(float v, int64_t i) {
    if (v > d || (v == d && i < row)) d = v, row = i;
  }
  void offer(const Farthest& o) { offer(o.d, o.row); }
  /// The farthest of min_d[b, e).
  static Farthest of_rows(const float* min_d, int64_t b, int64_t e) {
    Farthest f;
    for (int64_t i = b; i < e; ++i) f.offer(min_d[i], i);
    return f;
  }
  /// The farthest of the blocks' farthest rows.
  static Farthest of_blocks(const std::vector<Farthest>& blocks) {
    Farthest f;
    for (const auto& b : blocks) f.offer(b);
    return f;
  }
};

/// The plain loop on a CUDA device: torch arithmetic (|x|^2 - 2 x.c + |c|^2), chunked.
void plain_steps_torch(const at::Tensor& x, int64_t n, int64_t first, int64_t* sel, Progress* progress) {
  const int64_t total = x.size(0);
  at::Tensor sq = x.pow(2).sum(1);
  at::Tensor min_d = at::full({total}, std::numeric_limits<float>::infinity(), x.options());
  const int64_t chunk = 1 << 20;
  at::Tensor dist_buf = at::empty({std::min(chunk, total)}, x.options());
  int64_t current = first;
  for (int64_t s = 0; s < n; ++s) {
    sel[s] = current;
    at::Tensor c = x[current];
    const double c_sq = sq[current].item<double>();
    for (int64_t r = 0; r < total; r += chunk) {
      const int64_t len = std::min(chunk, total - r);
      at::Tensor d = dist_buf.narrow(0, 0, len);
      at::mv_out(d, x.narrow(0, r, len), c);
      d.mul_(-2.0).add_(sq.narrow(0, r, len)).add_(c_sq);
      at::Tensor m = min_d.narrow(0, r, len);
      at::minimum_out(m, m, d);
    }
    current = min_d.argmax().item<int64_t>();
    if (progress) progress->tick();
  }
}

/// The fast method's lower bound: the rows' coordinates in the top `k` principal directions of the
/// bank (Y = (X - mean) V, V orthonormal), where ||y_i - y_c|| <= ||x_i - c||. Rows are compared
/// against `thr[i]`, a threshold on ||y_i - y_c||^2 above which the row's computed distance cannot
/// be below its min-distance (rounding of Y, of V's orthonormality and of both sums included).
struct PcaBound {
  at::Tensor y;      ///< [N, k] float, row-major
  int64_t k = 0;     ///< dims of y (min(32, D))
  int64_t k1 = 0;    ///< dims checked first (min(16, k): one cache line)
  double m_abs = 0;  ///< absolute error bound of a computed ||y_i - y_c||
  double rel = 0;    ///< relative error bound of a computed squared distance (coreset_sqdist)
  double ortho = 0;  ///< ||V^T z|| <= (1 + ortho) ||z||
  double top = 0;    ///< the fraction of the variance in the top k directions

  /// First stage: the first k1 coordinates as integers q * Q (|Q| <= 2047, one scale q for all),
  /// so that a squared difference sum S is exact in int32. ||y_i - y_c|| over those coordinates
  /// is at least q (sqrt(S) - sqrt(k1)) (each rounding moves a coordinate by at most q / 2).
  std::vector<std::int16_t> qy;  ///< [N, 16] (zero-padded beyond k1)
  double q = 1;

  /// The integer threshold on S that implies ||y_i - y_c||^2 >= thr.
  std::int32_t int_threshold(float thr) const {
    const double t = std::sqrt(static_cast<double>(thr)) / q + std::sqrt(static_cast<double>(k1));
    const double t2 = std::ceil(t * t * (1 + 1e-12));
    return t2 >= 2147483647.0 ? std::numeric_limits<std::int32_t>::max() : static_cast<std::int32_t>(t2);
  }

  /// thr for a row whose min-distance is `min_d` (float, rounded up).
  float threshold(float min_d) const {
    const double r =
        (1 + 1e-5) * (m_abs + (1 + ortho) * std::sqrt(static_cast<double>(min_d) * (1 + 2 * rel)));
    return std::nextafter(static_cast<float>(r * r), std::numeric_limits<float>::infinity());
  }
};

PcaBound pca_bound(const at::Tensor& x) {
  const int64_t total = x.size(0), dim = x.size(1);
  PcaBound b;
  b.k = std::min<int64_t>(32, dim);
  b.k1 = std::min<int64_t>(16, b.k);
  b.rel = (static_cast<double>(dim) / 16.0 + 8.0) * std::ldexp(1.0, -23);
  // Covariance in row chunks (double accumulation), then the top-k eigenvectors. Chunks of 4 MiB:
  // glibc serves them from the heap after the first one, where 32 MiB chunks were mapped and
  // page-faulted anew each time.
  const int64_t chunk = std::max<int64_t>(1, (int64_t{1} << 20) / std::max<int64_t>(dim, 1));
  at::Tensor mean = x.mean(0, /*keepdim=*/true);
  at::Tensor cov = at::zeros({dim, dim}, at::kDouble);
  double max_norm = 0;
  // Very large or very small magnitudes are scaled for the covariance (whose float products would
  // overflow or underflow); its eigenvectors do not change.
  double amax = 0;
  for (int64_t r = 0; r < total; r += chunk)
    amax = std::max(amax, (x.narrow(0, r, std::min(chunk, total - r)) - mean).abs().max().item<double>());
  const double sc = amax > 0 && (amax > 1e12 || amax < 1e-12) ? amax : 1.0;
  for (int64_t r = 0; r < total; r += chunk) {
    at::Tensor c = x.narrow(0, r, std::min(chunk, total - r)) - mean;
    if (sc != 1.0) c.div_(sc);
    cov += at::mm(c.t(), c).to(at::kDouble);
    max_norm = std::max(max_norm, c.pow(2).sum(1).max().sqrt().item<double>() * sc);
  }
  auto [eval, evec] = at::linalg_eigh(cov);  // ascending eigenvalues
  const double trace = eval.clamp_min(0).sum().item<double>();
  b.top = trace > 0 ? eval.narrow(0, dim - b.k, b.k).clamp_min(0).sum().item<double>() / trace : 1.0;
  at::Tensor v = evec.narrow(1, dim - b.k, b.k).flip({1}).to(at::kFloat).contiguous();  // [D, k]
  at::Tensor e = at::mm(v.to(at::kDouble).t(), v.to(at::kDouble)) - at::eye(b.k, at::kDouble);
  b.ortho = std::sqrt(1.0 + e.norm().item<double>()) - 1.0 + 1e-7;
  // A computed coordinate of a row is off by at most ~D u |x - mean| (|v| = 1); a difference of two
  // rows by twice that, in each of k coordinates; 2x for safety, 1.01 for the norm's own rounding.
  b.m_abs = 4.0 * std::sqrt(static_cast<double>(b.k)) * static_cast<double>(dim) * std::ldexp(1.0, -24) *
            max_norm * 1.01;
  b.y = at::empty({total, b.k}, at::kFloat);
  for (int64_t r = 0; r < total; r += chunk) {
    const int64_t len = std::min(chunk, total - r);
    at::Tensor dst = b.y.narrow(0, r, len);
    at::mm_out(dst, x.narrow(0, r, len) - mean, v);
  }
  const double ymax = b.y.narrow(1, 0, b.k1).abs().max().item<double>();
  b.q = ymax > 0 ? ymax / 2047.0 : 1.0;
  b.qy.assign(static_cast<size_t>(total) * 16, 0);
  const float* yp = b.y.data_ptr<float>();
  for (int64_t i = 0; i < total; ++i)
    for (int64_t l = 0; l < b.k1; ++l)
      b.qy[static_cast<size_t>(i * 16 + l)] = static_cast<std::int16_t>(std::lround(yp[i * b.k + l] / b.q));
  return b;
}

/// Sum of squared differences of two rows of 16 int16 (|values| <= 2047: exact in int32).
inline std::int32_t int_sqdist16(const std::int16_t* a, const std::int16_t* b) {
#if defined(__SSE2__)
  // SSE2 (every x86-64): 16-bit differences, pmaddwd squares and adds pairs into 32 bits.
  const __m128i d0 = _mm_sub_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(a)),
                                   _mm_loadu_si128(reinterpret_cast<const __m128i*>(b)));
  const __m128i d1 = _mm_sub_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(a + 8)),
                                   _mm_loadu_si128(reinterpret_cast<const __m128i*>(b + 8)));
  __m128i acc = _mm_add_epi32(_mm_madd_epi16(d0, d0), _mm_madd_epi16(d1, d1));
  acc = _mm_add_epi32(acc, _mm_shuffle_epi32(acc, _MM_SHUFFLE(1, 0, 3, 2)));
  acc = _mm_add_epi32(acc, _mm_shuffle_epi32(acc, _MM_SHUFFLE(2, 3, 0, 1)));
  return _mm_cvtsi128_si32(acc);
#else
  std::int32_t acc = 0;
  for (int l = 0; l < 16; ++l) {
    const std::int32_t t = static_cast<std::int32_t>(a[l]) - b[l];
    acc += t * t;
  }
  return acc;
#endif
}

/// A second lower bound, over every dimension: each row quantised to int8 with one scale q,
/// Q_i = round((x_i - m) / q) (m the mean, in double), and e_i >= ||x_i - m - q Q_i|| (rounded
/// up). Then ||x_i - x_j|| >= q sqrt(S) - e_i - e_j, S = sum (Q_i - Q_j)^2 (an exact int32 sum).
/// A quarter of the float row's bytes, no projection error, and tight where the PCA bound is
/// not (isotropic data).
struct Int8Bound {
  int64_t dp = 0;  ///< dims padded to a multiple of 16 (zeros)
  double q = 1;
  std::vector<std::int8_t> qx;  ///< [N, dp]
  std::vector<float> err;       ///< [N]
};

Int8Bound int8_bound(const at::Tensor& x) {
  const int64_t total = x.size(0), dim = x.size(1);
  const float* xp = x.data_ptr<float>();
  Int8Bound b;
  b.dp = (dim + 15) / 16 * 16;
  std::vector<double> mean(static_cast<size_t>(dim), 0.0);
  for (int64_t i = 0; i < total; ++i)
    for (int64_t j = 0; j < dim; ++j) mean[static_cast<size_t>(j)] += xp[i * dim + j];
  for (double& m : mean) m /= static_cast<double>(total);
  double amax = 0;
  for (int64_t i = 0; i < total; ++i)
    for (int64_t j = 0; j < dim; ++j)
      amax = std::max(amax, std::abs(xp[i * dim + j] - mean[static_cast<size_t>(j)]));
  b.q = amax > 0 ? amax / 127.0 : 1.0;
  b.qx.assign(static_cast<size_t>(total * b.dp), 0);
  b.err.resize(static_cast<size_t>(total));
  // Slack for the double arithmetic of the errors (relative 1e-6, absolute 1e-12 amax sqrt(D)).
  const double abs_slack = 1e-12 * amax * std::sqrt(static_cast<double>(dim)) + 1e-300;
  at::parallel_for(0, total, 4096, [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i) {
      double e2 = 0;
      for (int64_t j = 0; j < dim; ++j) {
        const double c = xp[i * dim + j] - mean[static_cast<size_t>(j)];
        const double qi = std::clamp(std::nearbyint(c / b.q), -127.0, 127.0);
        b.qx[static_cast<size_t>(i * b.dp + j)] = static_cast<std::int8_t>(qi);
        e2 += (c - qi * b.q) * (c - qi * b.q);
      }
      b.err[static_cast<size_t>(i)] = std::nextafter(
          static_cast<float>(std::sqrt(e2) * (1 + 1e-6) + abs_slack), std::numeric_limits<float>::infinity());
    }
  });
  return b;
}

/// Sum of squared differences of two int8 rows of n (a multiple of 16) values (exact in int32).
inline std::int32_t int8_sqdist(const std::int8_t* a, const std::int8_t* b, int64_t n) {
  std::int32_t acc = 0;
  for (int64_t i = 0; i < n; ++i) {
    const std::int32_t t = static_cast<std::int32_t>(a[i]) - b[i];
    acc += t * t;
  }
  return acc;
}

/// The plain loop on the CPU: every step computes the distance of every row to the new centre.
/// `x` is contiguous float [N,D].
void plain_steps_cpu(const at::Tensor& x, int64_t n, int64_t first, int64_t* sel, Progress* progress) {
  const int64_t total = x.size(0), dim = x.size(1);
  const float* rows = x.data_ptr<float>();
  std::vector<float> min_d(static_cast<size_t>(total), std::numeric_limits<float>::infinity());
  // Rows in blocks with their farthest row cached: a block none of whose rows changed keeps it.
  const int64_t block = 2048, blocks = (total + block - 1) / block;
  std::vector<Farthest> block_best(static_cast<size_t>(blocks));
  int64_t current = first;
  for (int64_t s = 0; s < n; ++s) {
    sel[s] = current;
    const float* c = rows + current * dim;
    at::parallel_for(0, blocks, 1, [&](int64_t b0, int64_t b1) {
      for (int64_t bi = b0; bi < b1; ++bi) {
        const int64_t end = std::min(total, (bi + 1) * block);
        bool changed = false;
        for (int64_t i = bi * block; i < end; ++i) {
          const float d = coreset_sqdist(rows + i * dim, c, dim);
          if (d < min_d[i]) min_d[i] = d, changed = true;
        }
        if (changed || s == 0) block_best[bi] = Farthest::of_rows(min_d.data(), bi * block, end);
      }
    });
    current = Farthest::of_blocks(block_best).row;
    if (progress) progress->tick();
  }
}

/// The triangle-inequality test of the fast method, with every rounding of coreset_sqdist
/// included. coreset_sqdist over `dim` floats returns (1 + e) t + a for a true squared distance t,
/// |e| <= rel (the rounding of the differences, squares and sums) and |a| <= tiny (underflow).
/// For a row x whose min-distance d = coreset_sqdist(x, a) was computed against its own centre a,
/// and a new centre c at computed squared distance cc from a: when d <= skip_bound(cc), the
/// computed coreset_sqdist(x, c) is >= d (||x - c|| >= ||a - c|| - ||x - a|| and the bounds
/// above), so the row keeps its min-distance and need not be computed.
struct TriangleBound {
  double rel = 0, tiny = 0;
  double s = 0;  ///< sqrt((1 + rel) / (1 - rel))
  double t = 0;  ///< sqrt(2 tiny / (1 - rel))

  explicit TriangleBound(int64_t dim) {
    rel = (static_cast<double>(dim) / 16.0 + 9.0) * std::ldexp(1.0, -23);
    tiny = static_cast<double>(dim + 16) * std::ldexp(1.0, -140);
    s = std::sqrt((1 + rel) / (1 - rel));
    t = std::sqrt(2 * tiny / (1 - rel));
  }

  /// The largest min-distance (float, rounded down) that the test proves safe; -1 when none is.
  /// Derivation: with A = sqrt((d + tiny) / (1 - rel)) >= ||x - a|| and B = sqrt((cc - tiny) /
  /// (1 + rel)) <= ||a - c||, B >= A (1 + s) + t gives ||x - c|| >= A s + t, hence
  /// computed(x, c) >= (1 - rel)(A s + t)^2 - tiny >= (1 + rel) A^2 + tiny >= d.
  float skip_bound(float cc) const {
    if (!(cc < std::numeric_limits<float>::max())) return -1.0f;  // overflow: no proof
    const double b2 = (static_cast<double>(cc) - tiny) / (1 + rel);
    if (b2 <= 0) return -1.0f;
    const double num = std::sqrt(b2) * (1 - 1e-12) - t;
    if (num <= 0) return -1.0f;
    const double a = num / (1 + s);
    const double m = ((1 - rel) * a * a - tiny) * (1 - 1e-9);
    if (m < 0) return -1.0f;
    float f = static_cast<float>(m);
    if (static_cast<double>(f) > m) f = std::nextafter(f, -std::numeric_limits<float>::infinity());
    return f;
  }

  /// The same from a lower bound `b` of the true distance ||a - c|| (instead of a computed cc).
  float skip_bound_from_distance(double b) const {
    const double num = b * (1 - 1e-12) - t;
    if (!(num > 0)) return -1.0f;
    const double a = num / (1 + s);
    const double m = ((1 - rel) * a * a - tiny) * (1 - 1e-9);
    if (!(m >= 0)) return -1.0f;
    if (m >= std::numeric_limits<float>::max()) return std::numeric_limits<float>::max();
    float f = static_cast<float>(m);
    if (static_cast<double>(f) > m) f = std::nextafter(f, -std::numeric_limits<float>::infinity());
    return f;
  }

  /// The true distance ||x - c|| at and above which the computed coreset_sqdist(x, c) is >= d.
  double safe_distance(float d) const {
    return std::sqrt((static_cast<double>(d) + tiny) / ((1 - rel) * (1 - 1e-9)));
  }

  /// The true centre-to-centre distance that proves every row of a group whose largest
  /// min-distance is `maxd` safe (the inverse of skip_bound, 1e-6 above it).
  double needed_distance(float maxd) const {
    const double a = std::sqrt((static_cast<double>(maxd) + tiny) / (1 - rel));
    return (a * (1 + s) + t) * (1 + 1e-6);
  }
};

/// The PCA scan's first stage: every row's k PCA coordinates as integers Q = round(y / q), |Q| <= 2047
/// (one scale q for all), so that S = sum (Q_i - Q_c)^2 is exact in int32 (k <= 32) and
/// ||y_i - y_c|| >= q (sqrt(S) - sqrt(k)) (each rounding moves a coordinate by at most q / 2). The
/// rows are regrouped so that one 32-byte load holds one coordinate pair of 8 rows,
/// [row][pair] -> [row / 8][pair][row % 8][2]: pmaddwd then leaves each row's partial sum in its own
/// 32-bit lane, with no horizontal sums. Rows past N are zeros; their threshold is 0, so they never pass.
struct Stage1Rows {
  std::vector<std::int16_t> q;  ///< [groups, pairs, 8 rows, 2]
  int64_t groups = 0, pairs = 0, k = 0;
  double scale = 1;  ///< q
  double sqrt_k = 0;

  /// The integer threshold on S that implies ||y_i - y_c||^2 >= thr.
  std::int32_t threshold(float thr) const {
    const double t = std::sqrt(static_cast<double>(thr)) / scale + sqrt_k;
    const double t2 = std::ceil(t * t * (1 + 1e-12));
    return t2 >= 2147483647.0 ? std::numeric_limits<std::int32_t>::max() : static_cast<std::int32_t>(t2);
  }
};

Stage1Rows stage1_rows(const PcaBound& bound, int64_t total) {
  Stage1Rows r;
  r.k = bound.k;
  r.sqrt_k = std::sqrt(static_cast<double>(r.k));
  r.pairs = (r.k + 1) / 2;
  r.groups = (total + 7) / 8;
  const double ymax = bound.y.abs().max().item<double>();
  r.scale = ymax > 0 ? ymax / 2047.0 : 1.0;
  r.q.assign(static_cast<size_t>(r.groups * r.pairs * 16), 0);
  const float* y = bound.y.data_ptr<float>();
  for (int64_t i = 0; i < total; ++i)
    for (int64_t l = 0; l < r.k; ++l)
      r.q[static_cast<size_t>((i / 8) * r.pairs * 16 + (l / 2) * 16 + (i % 8) * 2 + l % 2)] =
          static_cast<std::int16_t>(std::lround(y[i * r.k + l] / r.scale));
  return r;
}

/// The centre's coordinates as Stage1Rows stores a row's: 2 * pairs values.
std::vector<std::int16_t> stage1_centre(const Stage1Rows& r, int64_t row) {
  std::vector<std::int16_t> c(static_cast<size_t>(r.pairs * 2), 0);
  const std::int16_t* g = r.q.data() + (row / 8) * r.pairs * 16 + (row % 8) * 2;
  for (int64_t p = 0; p < r.pairs; ++p)
    c[static_cast<size_t>(2 * p)] = g[p * 16], c[static_cast<size_t>(2 * p + 1)] = g[p * 16 + 1];
  return c;
}

/// Stage 1 over the row groups [g0, g1): the rows i whose integer sum S is below ithr[i], in
/// ascending order, to rows_out (room for 8 (g1 - g0)). Returns their count. `qc`: stage1_centre.
int64_t stage1_scalar(const Stage1Rows& r, const std::int32_t* ithr, const std::int16_t* qc, int64_t g0,
                      int64_t g1, std::int32_t* rows_out) {
  int64_t n = 0;
  for (int64_t g = g0; g < g1; ++g) {
    const std::int16_t* q = r.q.data() + g * r.pairs * 16;
    for (int64_t j = 0; j < 8; ++j) {
      std::int32_t acc = 0;
      for (int64_t p = 0; p < r.pairs; ++p)
        for (int64_t h = 0; h < 2; ++h) {
          const std::int32_t t = static_cast<std::int32_t>(q[p * 16 + j * 2 + h]) - qc[p * 2 + h];
          acc += t * t;
        }
      const int64_t i = g * 8 + j;
      if (acc < ithr[i]) rows_out[n++] = static_cast<std::int32_t>(i);
    }
  }
  return n;
}

#if defined(__x86_64__) && defined(__GNUC__)
#define ADBENCH_STAGE1_AVX2 1
/// stage1_scalar with AVX2 (chosen at run time where the CPU has it): the same sums, exactly.
[[gnu::target("avx2")]] int64_t stage1_avx2(const Stage1Rows& r, const std::int32_t* ithr,
                                            const std::int16_t* qc, int64_t g0, int64_t g1,
                                            std::int32_t* rows_out) {
  __m256i cp[16];
  const int64_t pairs = r.pairs;
  for (int64_t p = 0; p < pairs; ++p) {
    std::int32_t pair;
    std::memcpy(&pair, qc + 2 * p, 4);
    cp[p] = _mm256_set1_epi32(pair);
  }
  int64_t n = 0;
  for (int64_t g = g0; g < g1; ++g) {
    const __m256i* q = reinterpret_cast<const __m256i*>(r.q.data() + g * pairs * 16);
    __m256i acc = _mm256_setzero_si256();
    for (int64_t p = 0; p < pairs; ++p) {
      const __m256i d = _mm256_sub_epi16(_mm256_loadu_si256(q + p), cp[p]);
      acc = _mm256_add_epi32(acc, _mm256_madd_epi16(d, d));
    }
    const __m256i t = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(ithr + g * 8));
    unsigned mask =
        static_cast<unsigned>(_mm256_movemask_ps(_mm256_castsi256_ps(_mm256_cmpgt_epi32(t, acc))));
    while (mask) {
      rows_out[n++] = static_cast<std::int32_t>(g * 8 + __builtin_ctz(mask));
      mask &= mask - 1;
    }
  }
  return n;
}
#endif

/// The fast method where the bank's variance is concentrated in its top principal directions
/// (see greedy_coreset): every step scans every row's PCA bound in memory order, 8 rows at a time
/// (stage 1: the 16 integer coordinates); the few rows it cannot rule out go through the float
/// bound over all k coordinates, the int8 bound over every dimension, then the exact distance.
void pca_steps_cpu(const at::Tensor& x, int64_t n, int64_t first, const PcaBound& bound, int64_t* sel,
                   Progress* progress) {
  const int64_t total = x.size(0), dim = x.size(1);
  const float* rows = x.data_ptr<float>();
  std::vector<float> min_d(static_cast<size_t>(total), std::numeric_limits<float>::infinity());
  const Int8Bound q8 = int8_bound(x);
  const TriangleBound tri(dim);  // coreset_sqdist's rounding, for the int8 stage
  const bool stats = std::getenv("ADBENCH_CORESET_STATS") != nullptr;
  std::atomic<int64_t> st1{0}, st2{0};
  const Stage1Rows s1 = stage1_rows(bound, total);
  // Per row: stage 1's integer threshold (padded to whole groups of 8 with 0, which no row passes),
  // and the int8 bound's distance that proves the row safe plus its quantisation error ("base", as
  // in the triangle method's entries). Rows at an infinite min-distance (before the first step)
  // pass every bound.
  std::vector<std::int32_t> ithr(static_cast<size_t>(s1.groups * 8), 0);
  std::fill(ithr.begin(), ithr.begin() + total, std::numeric_limits<std::int32_t>::max());
  std::vector<double> base8(static_cast<size_t>(total), std::numeric_limits<double>::infinity());
  auto stage1 = stage1_scalar;
#ifdef ADBENCH_STAGE1_AVX2
  if (__builtin_cpu_supports("avx2") && std::getenv("ADBENCH_CORESET_NO_AVX2") == nullptr)
    stage1 = stage1_avx2;
#endif
  // Rows in blocks with their farthest row cached: a block none of whose rows changed keeps it.
  const int64_t block = 2048, blocks = (total + block - 1) / block;
  std::vector<Farthest> block_best(static_cast<size_t>(blocks));
  int64_t current = first;
  for (int64_t s = 0; s < n; ++s) {
    sel[s] = current;
    const float* c = rows + current * dim;
    const std::vector<std::int16_t> qc = stage1_centre(s1, current);
    const std::int8_t* q8c = q8.qx.data() + current * q8.dp;
    const double ec = q8.err[static_cast<size_t>(current)];
    at::parallel_for(0, blocks, 1, [&](int64_t b0, int64_t b1) {
      std::vector<std::int32_t> cand(static_cast<size_t>(block));
      for (int64_t bi = b0; bi < b1; ++bi) {
        const int64_t end = std::min(total, (bi + 1) * block);
        bool changed = false;
        // Stage 1 rules out most rows from a sequential scan of their integer PCA coordinates.
        const int64_t nc = stage1(s1, ithr.data(), qc.data(), bi * block / 8, (end + 7) / 8, cand.data());
        // The candidates' rows lie anywhere in memory: each later stage first prefetches what it
        // reads for every row still in the running (the misses then overlap instead of queueing),
        // then tests, keeping the survivors at the front of `cand`.
        for (int64_t ci = 0; ci < nc; ++ci) {
          const std::int8_t* p8 = q8.qx.data() + cand[static_cast<size_t>(ci)] * q8.dp;
          for (int64_t o = 0; o < q8.dp; o += 64) __builtin_prefetch(p8 + o);
        }
        int64_t c2 = 0;
        for (int64_t ci = 0; ci < nc; ++ci) {
          const int64_t i = cand[static_cast<size_t>(ci)];
          // Stage 2: the int8 bound over every dimension (see Int8Bound; the same inequality as
          // the triangle method's rows): ||x_i - c|| >= TriangleBound::safe_distance(d)
          // implies a computed distance >= d.
          const double r8 = (base8[static_cast<size_t>(i)] + ec) / q8.q;
          if (static_cast<double>(int8_sqdist(q8.qx.data() + i * q8.dp, q8c, q8.dp)) >= r8 * r8 * (1 + 1e-12))
            continue;
          cand[static_cast<size_t>(c2++)] = static_cast<std::int32_t>(i);
        }
        for (int64_t ci = 0; ci < c2; ++ci) {
          const float* pr = rows + cand[static_cast<size_t>(ci)] * dim;
          for (int64_t o = 0; o < dim; o += 16) __builtin_prefetch(pr + o);
        }
        for (int64_t ci = 0; ci < c2; ++ci) {
          const int64_t i = cand[static_cast<size_t>(ci)];
          const float d = coreset_sqdist(rows + i * dim, c, dim);
          if (d < min_d[i]) {
            min_d[i] = d;
            changed = true;
            ithr[static_cast<size_t>(i)] = s1.threshold(bound.threshold(d));
            base8[static_cast<size_t>(i)] =
                tri.safe_distance(d) * (1 + 1e-9) + q8.err[static_cast<size_t>(i)];
          }
        }
        if (stats) st1 += nc, st2 += c2;
        if (changed || s == 0) block_best[bi] = Farthest::of_rows(min_d.data(), bi * block, end);
      }
    });
    current = Farthest::of_blocks(block_best).row;
    if (progress) progress->tick();
    if (stats && (s + 1 == n || (s + 1) % 2000 == 0)) {
      const double per = static_cast<double>(s + 1) * static_cast<double>(total);
      std::fprintf(stderr, "coreset pca: step %lld: per step %.4f / %.4f of the rows past stage 1 / 2\n",
                   static_cast<long long>(s + 1), static_cast<double>(st1) / per,
                   static_cast<double>(st2) / per);
    }
  }
}

/// The triangle method keeps each row's int8 coordinates in its group entry (read sequentially),
/// so it runs on banks of at most this many dims (PatchCore projects to 128).
constexpr int64_t kMaxTriangleDims = 128;

/// One row of a group: its min-distance (computed against the group's centre), its index, its
/// int8-bound and PCA-bound thresholds and its 16 integer PCA coordinates (see PcaBound), so that a group's
/// prefix is read sequentially (48 bytes a row).
struct Entry {
  float d;
  std::int32_t row;
  float base;  ///< the true distance to the centre that proves the row safe, plus e_i (Int8Bound)
  std::int32_t ithr;
  std::int16_t q[16];
  std::int8_t q8[kMaxTriangleDims];  ///< the row's Int8Bound coordinates (the first dp used)
};

/// (d descending, row ascending): a group's first live entry is its farthest row, ties to the
/// lowest index, as in the plain loop's argmax.
inline bool entry_before(const Entry& a, const Entry& b) {
  return a.d > b.d || (a.d == b.d && a.row < b.row);
}

/// The fast method (see greedy_coreset): accelerated farthest-point traversal. Every row belongs
/// to the group of the centre its min-distance was computed against (the Voronoi cells of the
/// chosen centres, which shrink as centres are added); a group's entries are kept sorted by
/// min-distance, descending. When centre c is added, group g is skipped whole when its farthest
/// row passes the triangle test against the distance between g's centre and c (first bounded
/// below from the 16 integer PCA coordinates of both centres, then computed); otherwise only the
/// prefix of its entries whose min-distance exceeds the test's bound is looked at, each row first
/// through the per-row PCA bound, then by the exact coreset_sqdist. Rows that get closer to c move
/// to c's new group. The argmax is over the groups' first entries.
void triangle_steps_cpu(const at::Tensor& x, int64_t n, int64_t first, const PcaBound& bound, int64_t* sel,
                        Progress* progress) {
  const int64_t total = x.size(0), dim = x.size(1);
  const float* rows = x.data_ptr<float>();
  const auto t_start = std::chrono::steady_clock::now();
  const Int8Bound q8 = int8_bound(x);
  const auto t_int8 = std::chrono::steady_clock::now();
  const TriangleBound tri(dim);
  const int64_t dp = q8.dp;
  const std::int16_t* qs = bound.qy.data();
  const double sqrt_k1 = std::sqrt(static_cast<double>(bound.k1));
  const int threads = std::max(1, at::get_num_threads());

  auto make_entry = [&](float d, int64_t row) {
    Entry en;
    en.d = d, en.row = static_cast<std::int32_t>(row);
    en.ithr = bound.int_threshold(bound.threshold(d));
    // ||x - c|| >= sqrt((d + tiny) / ((1 - rel)(1 - 1e-9))) implies a computed distance >= d.
    const double need = tri.safe_distance(d);
    en.base = std::nextafter(static_cast<float>(need * (1 + 1e-9)) + q8.err[static_cast<size_t>(row)],
                             std::numeric_limits<float>::infinity());
    std::copy(qs + row * 16, qs + row * 16 + 16, en.q);
    std::copy(q8.qx.data() + row * dp, q8.qx.data() + (row + 1) * dp, en.q8);
    return en;
  };
  // The integer threshold on the centres' int_sqdist16 above which a group whose farthest row is
  // at `maxd` is skipped: the integer distance bounds the computed projected distance from below
  // (q (sqrt(S) - sqrt(k1))), which is at most (1 + ortho) ||a - c|| + m_abs.
  auto group_ithr = [&](float maxd) -> std::int32_t {
    if (!(maxd < std::numeric_limits<float>::max())) return std::numeric_limits<std::int32_t>::max();
    const double need = tri.needed_distance(maxd);
    const double r = (1 + 1e-5) * (bound.m_abs + (1 + bound.ortho) * need);
    const double u = r / bound.q + sqrt_k1;
    const double u2 = std::ceil(u * u * (1 + 1e-12));
    return u2 >= 2147483647.0 ? std::numeric_limits<std::int32_t>::max() : static_cast<std::int32_t>(u2);
  };

  struct Group {
    std::vector<Entry> e;  ///< live entries: [start, size), sorted by entry_before
    size_t start = 0;
  };
  std::vector<Group> groups;
  groups.reserve(static_cast<size_t>(n));
  // Per group, for the scans: its farthest row (d = -1: empty), integer skip threshold, centre.
  std::vector<float> gmax_d;
  std::vector<std::int32_t> gmax_row, g_ithr;
  std::vector<std::int16_t> qcen;
  std::vector<std::int8_t> q8cen;
  std::vector<float> g_err;
  gmax_d.reserve(static_cast<size_t>(n)), gmax_row.reserve(static_cast<size_t>(n));
  g_ithr.reserve(static_cast<size_t>(n));
  qcen.reserve(static_cast<size_t>(n * 16)), q8cen.reserve(static_cast<size_t>(n * dp));
  g_err.reserve(static_cast<size_t>(n));
  auto refresh = [&](size_t g) {
    const Group& gr = groups[g];
    if (gr.start < gr.e.size()) {
      gmax_d[g] = gr.e[gr.start].d, gmax_row[g] = gr.e[gr.start].row;
      g_ithr[g] = group_ithr(gmax_d[g]);
    } else {
      gmax_d[g] = -1.0f, gmax_row[g] = -1, g_ithr[g] = 0;
    }
  };

  // Work of one step: prefixes [b, e) of groups' entries, split into chunks.
  struct Item {
    size_t g, b, e;
  };
  std::vector<Item> items;
  std::vector<std::pair<size_t, size_t>> visited;  // (group, prefix end)
  std::vector<std::vector<Entry>> moved(static_cast<size_t>(threads));
  std::vector<Entry> fresh;
  // Counters for ADBENCH_CORESET_STATS=1 (stderr): rows looked at, rows computed exactly, centre
  // distances computed, groups visited, over all steps after the first.
  const bool stats = std::getenv("ADBENCH_CORESET_STATS") != nullptr;
  std::atomic<int64_t> n_looked{0}, n_exact{0};
  int64_t n_cc = 0, n_visits = 0;

  int64_t current = first;
  for (int64_t s = 0; s < n; ++s) {
    sel[s] = current;
    const float* c = rows + current * dim;
    const std::int16_t* qc = qs + current * 16;
    groups.emplace_back();
    gmax_d.push_back(-1.0f), gmax_row.push_back(-1), g_ithr.push_back(0);
    qcen.insert(qcen.end(), qc, qc + 16);
    const std::int8_t* q8c = q8.qx.data() + current * dp;
    const float ec = q8.err[static_cast<size_t>(current)];
    q8cen.insert(q8cen.end(), q8c, q8c + dp);
    g_err.push_back(ec);
    if (s == 0) {
      // Every row against the first centre.
      fresh.resize(static_cast<size_t>(total));
      at::parallel_for(0, total, 4096, [&](int64_t i0, int64_t i1) {
        for (int64_t i = i0; i < i1; ++i)
          fresh[static_cast<size_t>(i)] = make_entry(coreset_sqdist(rows + i * dim, c, dim), i);
      });
    } else {
      // Which groups, and which prefix of each, can hold rows nearer to c.
      items.clear(), visited.clear();
      size_t work = 0;
      for (size_t g = 0; g < static_cast<size_t>(s); ++g) {
        if (gmax_d[g] <= 0.0f) continue;  // empty, or every row at distance 0 already
        const std::int32_t si = int_sqdist16(qcen.data() + g * 16, qc);
        if (si >= g_ithr[g]) continue;
        ++n_cc;
        const std::int32_t s8 = int8_sqdist(q8cen.data() + static_cast<int64_t>(g) * dp, q8c, dp);
        const double lb = q8.q * std::sqrt(static_cast<double>(s8)) * (1 - 1e-12) -
                          static_cast<double>(g_err[g]) - static_cast<double>(ec);
        const float m = tri.skip_bound_from_distance(lb);
        if (gmax_d[g] <= m) continue;
        Group& gr = groups[g];
        const auto end = std::partition_point(gr.e.begin() + static_cast<std::ptrdiff_t>(gr.start),
                                              gr.e.end(), [m](const Entry& en) { return en.d > m; });
        const size_t p = static_cast<size_t>(end - gr.e.begin());
        visited.emplace_back(g, p);
        work += p - gr.start;
        ++n_visits;
        for (size_t b = gr.start; b < p; b += 4096) items.push_back({g, b, std::min(p, b + 4096)});
      }
      // Each looked-at row: the PCA bound, then the exact distance; a row that gets nearer to c
      // moves to c's group (its entry's row set to -1 here, removed below).
      auto process = [&](const Item& it, std::vector<Entry>& out) {
        Entry* es = groups[it.g].e.data();
        int64_t exact = 0;
        for (size_t j = it.b; j < it.e; ++j) {
          Entry& en = es[j];
          const int64_t i = en.row;
          const std::int32_t si = int_sqdist16(en.q, qc);
          if (si >= en.ithr) continue;
          const double r8 = (static_cast<double>(en.base) + ec) / q8.q;
          if (static_cast<double>(int8_sqdist(en.q8, q8c, dp)) >= r8 * r8 * (1 + 1e-12)) continue;
          const float d = coreset_sqdist(rows + i * dim, c, dim);
          ++exact;
          if (d < en.d) {
            out.push_back(make_entry(d, i));
            en.row = -1;
          }
        }
        n_exact += exact;
      };
      n_looked += static_cast<int64_t>(work);
      for (auto& m : moved) m.clear();
      if (threads > 1 && work >= 8192) {
        std::atomic<size_t> next{0};
        at::parallel_for(0, threads, 1, [&](int64_t t0, int64_t t1) {
          for (int64_t t = t0; t < t1; ++t)
            for (size_t it = next++; it < items.size(); it = next++)
              process(items[it], moved[static_cast<size_t>(t)]);
        });
      } else {
        for (const Item& it : items) process(it, moved[0]);
      }
      // Remove the moved entries from their groups (order kept), refresh the groups' maxima.
      for (const auto& [g, p] : visited) {
        Group& gr = groups[g];
        size_t w = p;
        for (size_t j = p; j-- > gr.start;)
          if (gr.e[j].row >= 0) gr.e[--w] = gr.e[j];
        gr.start = w;
        if (gr.start == gr.e.size()) {
          std::vector<Entry>().swap(gr.e), gr.start = 0;
        } else if (gr.start > 1024 && gr.start * 2 > gr.e.size()) {
          gr.e.erase(gr.e.begin(), gr.e.begin() + static_cast<std::ptrdiff_t>(gr.start)), gr.start = 0;
          gr.e.shrink_to_fit();
        }
        refresh(g);
      }
      fresh.clear();
      for (auto& m : moved) fresh.insert(fresh.end(), m.begin(), m.end());
    }
    std::sort(fresh.begin(), fresh.end(), entry_before);
    groups.back().e = std::move(fresh);
    fresh = {};
    refresh(static_cast<size_t>(s));
    // The farthest row: the largest group maximum, ties to the lowest row.
    Farthest best;
    for (size_t g = 0; g <= static_cast<size_t>(s); ++g)
      if (gmax_d[g] >= 0.0f) best.offer(gmax_d[g], gmax_row[g]);
    current = best.row;
    if (progress) progress->tick();
    if (stats && (s + 1 == n || (s + 1) % 500 == 0)) {
      const double steps = static_cast<double>(std::max<int64_t>(s, 1)), rows_d = static_cast<double>(total);
      std::fprintf(stderr,
                   "coreset fast: step %lld: per step so far %.4f of the rows looked at, %.4f computed, "
                   "%.1f groups visited, %.1f centre distances; int8 copy %.2f s, steps %.2f s\n",
                   static_cast<long long>(s + 1), static_cast<double>(n_looked) / steps / rows_d,
                   static_cast<double>(n_exact) / steps / rows_d, static_cast<double>(n_visits) / steps,
                   static_cast<double>(n_cc) / steps, std::chrono::duration<double>(t_int8 - t_start).count(),
                   std::chrono::duration<double>(std::chrono::steady_clock::now() - t_int8).count());
    }
  }
}

}  // namespace

at::Tensor greedy_coreset(const at::Tensor& features, int64_t n, const CoresetOptions& options) {
  const int64_t total = features.size(0);
  n = std::min(n, total);
  if (n <= 0) return at::empty({0}, at::kLong);
  const int64_t proj_dim = options.projection_dim;
  const bool modulo = options.seeding == CoresetSeeding::SeedModulo;
  at::Generator gen = at::detail::createCPUGenerator(options.seed);
  at::Tensor x = features;
  if (proj_dim > 0 && proj_dim < features.size(1)) {
    // Johnson-Lindenstrauss projection (PatchCore: a random linear map to 128 dims), in row
    // chunks so that only the projected copy is allocated.
    at::Tensor proj =
        modulo ? at::normal(0.0, 1.0 / std::sqrt(static_cast<double>(proj_dim)), {features.size(1), proj_dim},
                            gen)
               : at::randn({features.size(1), proj_dim}, gen, at::TensorOptions().dtype(at::kFloat)) /
                     std::sqrt(static_cast<double>(proj_dim));
    proj = proj.to(features.device());
    x = at::empty({total, proj_dim}, features.options().dtype(at::kFloat));
    const int64_t chunk = 65536;
    for (int64_t r = 0; r < total; r += chunk) {
      int64_t len = std::min(chunk, total - r);
      at::Tensor dst = x.narrow(0, r, len);
      at::mm_out(dst, features.narrow(0, r, len).to(at::kFloat), proj);
    }
  } else {
    x = features.to(at::kFloat).contiguous();
  }
  const int64_t first = modulo ? static_cast<int64_t>(options.seed % static_cast<std::uint64_t>(total))
                               : at::randint(total, {1}, gen, at::kLong).item<int64_t>();
  at::Tensor selected = at::empty({n}, at::kLong);
  std::optional<Progress> progress;
  if (!options.progress_label.empty()) progress.emplace(options.progress_label, n);
  if (x.is_cpu()) {
    if (!at::isfinite(x).all().item<bool>())
      throw InputError("coreset: the features hold NaN or infinite values");
    int64_t* sel = selected.data_ptr<int64_t>();
    Progress* prog = progress ? &*progress : nullptr;
    if (options.method == CoresetMethod::Fast && n > 1) {
      PcaBound bound = pca_bound(x);
      if (bound.top < pca_top_fraction() && x.size(1) <= kMaxTriangleDims &&
          total < std::numeric_limits<std::int32_t>::max())
        triangle_steps_cpu(x, n, first, bound, sel, prog);
      else
        pca_steps_cpu(x, n, first, bound, sel, prog);
    } else {
      plain_steps_cpu(x, n, first, sel, prog);
    }
  } else {
    plain_steps_torch(x, n, first, selected.data_ptr<int64_t>(), progress ? &*progress : nullptr);
  }
  if (progress) progress->done();
  return selected;
}

}  // namespace adbench
