// The one brute-force kNN and greedy k-center coreset (see nearest.hpp). Moved from
// lib/detectors/src/common/features.cpp unchanged (PatchCore's results depend on the arithmetic);
// the point-cloud detectors' former copies (lib/pointcloud/src/sampling.cpp) now use these.
#include "adbench/core/nearest.hpp"

#include <ATen/CPUGeneratorImpl.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <optional>

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
  for (int64_t q0 = 0; q0 < m; q0 += qb) {
    at::Tensor q = query.narrow(0, q0, std::min(qb, m - q0));
    at::Tensor q_sq = q.pow(2).sum(1, true);  // [qb,1]
    at::Tensor run_d, run_i;
    for (int64_t b0 = 0; b0 < n; b0 += nb) {
      const int64_t len = std::min(nb, n - b0);
      at::Tensor b = bank.narrow(0, b0, len);
      at::Tensor d =
          at::addmm(bank_sq.narrow(0, b0, len).unsqueeze(0), q, b.t(), 1.0, -2.0);  // |b|^2 - 2 q.b
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
    best_d.narrow(0, q0, q.size(0)).copy_(run_d.clamp_min(0).sqrt());
    best_i.narrow(0, q0, q.size(0)).copy_(run_i);
  }
  return {best_d, best_i};
}

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
  at::Tensor sq = x.pow(2).sum(1);  // [N]
  at::Tensor min_d = at::full({total}, std::numeric_limits<float>::infinity(), x.options());
  at::Tensor selected = at::empty({n}, at::kLong);
  auto* sel = selected.data_ptr<int64_t>();
  int64_t current = modulo ? static_cast<int64_t>(options.seed % static_cast<std::uint64_t>(total))
                           : at::randint(total, {1}, gen, at::kLong).item<int64_t>();
  std::optional<Progress> progress;
  if (!options.progress_label.empty()) progress.emplace(options.progress_label, n);
  const int64_t chunk = 1 << 20;  // rows per distance chunk: temporaries stay O(chunk)
  at::Tensor dist_buf = at::empty({std::min(chunk, total)}, x.options());
  for (int64_t s = 0; s < n; ++s) {
    sel[s] = current;
    at::Tensor c = x[current];
    const double c_sq = sq[current].item<double>();
    for (int64_t r = 0; r < total; r += chunk) {
      int64_t len = std::min(chunk, total - r);
      at::Tensor d = dist_buf.narrow(0, 0, len);
      if (modulo) {
        // The point-cloud detectors' arithmetic, kept so that their coresets stay bit for bit the
        // same: (|x|^2 + |c|^2) - 2 x.c, clamped at 0.
        d.copy_((sq.narrow(0, r, len) + sq[current] - 2 * at::mv(x.narrow(0, r, len), c)).clamp_min_(0));
      } else {
        at::mv_out(d, x.narrow(0, r, len), c);               // x.c
        d.mul_(-2.0).add_(sq.narrow(0, r, len)).add_(c_sq);  // |x|^2 - 2 x.c + |c|^2
      }
      at::Tensor m = min_d.narrow(0, r, len);
      at::minimum_out(m, m, d);
    }
    current = min_d.argmax().item<int64_t>();
    if (progress) progress->tick();
  }
  if (progress) progress->done();
  return selected;
}

}  // namespace adbench
