// The one brute-force kNN and greedy k-center coreset (see nearest.hpp), shared by the image
// and point-cloud detectors.
#include "adbench/core/nearest.hpp"

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Parallel.h>

#include <algorithm>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif
#include <cmath>
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

/// The farthest row so far: the largest min-distance, ties to the lowest row index.
struct Farthest {
  float d = -1.0f;
  int64_t row = std::numeric_limits<int64_t>::max();
  void offer(float v, int64_t i) {
    if (v > d || (v == d && i < row)) d = v, row = i;
  }
  void offer(const Farthest& o) { offer(o.d, o.row); }
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
  // Covariance in row chunks (double accumulation), then the top-k eigenvectors.
  const int64_t chunk = 65536;
  at::Tensor mean = x.mean(0, /*keepdim=*/true);
  at::Tensor cov = at::zeros({dim, dim}, at::kDouble);
  double max_norm = 0;
  for (int64_t r = 0; r < total; r += chunk) {
    at::Tensor c = x.narrow(0, r, std::min(chunk, total - r)) - mean;
    cov += at::mm(c.t(), c).to(at::kDouble);
    max_norm = std::max(max_norm, c.pow(2).sum(1).max().sqrt().item<double>());
  }
  at::Tensor evec = std::get<1>(at::linalg_eigh(cov));  // ascending eigenvalues
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

/// Greedy steps on the CPU (see greedy_coreset). `x` is contiguous float [N,D].
void steps_cpu(const at::Tensor& x, int64_t n, int64_t first, CoresetMethod method, int64_t* sel,
               Progress* progress) {
  const int64_t total = x.size(0), dim = x.size(1);
  const float* rows = x.data_ptr<float>();
  std::vector<float> min_d(static_cast<size_t>(total), std::numeric_limits<float>::infinity());
  const bool fast = method == CoresetMethod::Fast && n > 1;
  PcaBound bound;
  std::vector<float> thr;
  std::vector<std::int32_t> ithr;
  if (fast) {
    bound = pca_bound(x);
    thr.assign(static_cast<size_t>(total), std::numeric_limits<float>::infinity());
    ithr.assign(static_cast<size_t>(total), std::numeric_limits<std::int32_t>::max());
  }
  const float* ys = fast ? bound.y.data_ptr<float>() : nullptr;
  const std::int16_t* qs = fast ? bound.qy.data() : nullptr;
  const int64_t k = bound.k, k1 = bound.k1;
  const double sqrt_k1 = std::sqrt(static_cast<double>(k1));
  // Rows in blocks with their farthest row cached: a block none of whose rows changed keeps it.
  const int64_t block = 2048, blocks = (total + block - 1) / block;
  std::vector<Farthest> block_best(static_cast<size_t>(blocks));
  int64_t current = first;
  for (int64_t s = 0; s < n; ++s) {
    sel[s] = current;
    const float* c = rows + current * dim;
    const float* yc = fast ? ys + current * k : nullptr;
    const std::int16_t* qc = fast ? qs + current * 16 : nullptr;
    at::parallel_for(0, blocks, 1, [&](int64_t b0, int64_t b1) {
      for (int64_t bi = b0; bi < b1; ++bi) {
        const int64_t end = std::min(total, (bi + 1) * block);
        bool changed = false;
        for (int64_t i = bi * block; i < end; ++i) {
          // Skip the row when a bound already says the new centre cannot be nearer: first the
          // exact integer sum over the first k1 coordinates, then that sum's lower bound plus the
          // float sum over the other k - k1 (the same kernel as the exact distance).
          if (fast) {
            const std::int32_t si = int_sqdist16(qs + i * 16, qc);
            if (si >= ithr[i]) continue;
            if (k > k1) {
              const float head =
                  static_cast<float>(std::max(0.0, bound.q * (std::sqrt(static_cast<double>(si)) - sqrt_k1)));
              if (head * head * (1 - 1e-6f) + coreset_sqdist(ys + i * k + k1, yc + k1, k - k1) >= thr[i])
                continue;
            }
          }
          const float d = coreset_sqdist(rows + i * dim, c, dim);
          if (d < min_d[i]) {
            min_d[i] = d;
            changed = true;
            if (fast) {
              thr[i] = bound.threshold(d);
              ithr[i] = bound.int_threshold(thr[i]);
            }
          }
        }
        if (changed || s == 0) {
          Farthest local;
          for (int64_t i = bi * block; i < end; ++i) local.offer(min_d[i], i);
          block_best[bi] = local;
        }
      }
    });
    Farthest best;
    for (const auto& bb : block_best) best.offer(bb);
    current = best.row;
    if (progress) progress->tick();
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
    steps_cpu(x, n, first, options.method, selected.data_ptr<int64_t>(), progress ? &*progress : nullptr);
  } else {
    plain_steps_torch(x, n, first, selected.data_ptr<int64_t>(), progress ? &*progress : nullptr);
  }
  if (progress) progress->done();
  return selected;
}

}  // namespace adbench
