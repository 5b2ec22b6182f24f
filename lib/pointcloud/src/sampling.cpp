// Farthest-point sampling, nearest-prototype distances, interpolation. Greedy coresets and the
// brute-force kNN are adbench/core/nearest.hpp's.
#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Parallel.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "adbench/core/error.hpp"
#include "adbench/core/nearest.hpp"
#include "adbench/pointcloud/features.hpp"
#include "adbench/pointcloud/knn.hpp"

namespace adbench::pointcloud {

at::Tensor farthest_point_sample(const at::Tensor& points, std::int64_t m, std::int64_t start) {
  at::Tensor p = points.to(at::kFloat).contiguous();
  const std::int64_t n = p.size(0);
  m = std::min(m, n);
  at::Tensor out = at::empty({m}, at::kLong);
  if (m <= 0) return out;
  std::vector<float> x(static_cast<size_t>(n)), y(x.size()), z(x.size()),
      md(x.size(), std::numeric_limits<float>::max());
  const float* d = p.data_ptr<float>();
  for (std::int64_t i = 0; i < n; ++i) x[i] = d[3 * i], y[i] = d[3 * i + 1], z[i] = d[3 * i + 2];
  std::int64_t* o = out.data_ptr<std::int64_t>();
  std::int64_t cur = std::clamp<std::int64_t>(start, 0, n - 1);
  const int nt = std::max(1, at::get_num_threads());
  const std::int64_t grain = std::max<std::int64_t>(4096, (n + nt - 1) / nt);
  const std::int64_t nchunks = (n + grain - 1) / grain;
  std::vector<float> best_v(static_cast<size_t>(nchunks));
  std::vector<std::int64_t> best_i(static_cast<size_t>(nchunks));
  for (std::int64_t s = 0; s < m; ++s) {
    o[s] = cur;
    const float cx = x[cur], cy = y[cur], cz = z[cur];
    at::parallel_for(0, nchunks, 1, [&](std::int64_t cb, std::int64_t ce) {
      for (std::int64_t c = cb; c < ce; ++c) {
        const std::int64_t b = c * grain, e = std::min(n, b + grain);
        float bv = -1.f;
        std::int64_t bi = b;
        float* mdp = md.data();
        for (std::int64_t i = b; i < e; ++i) {
          const float dx = x[i] - cx, dy = y[i] - cy, dz = z[i] - cz;
          const float dd = dx * dx + dy * dy + dz * dz;
          const float v = dd < mdp[i] ? dd : mdp[i];
          mdp[i] = v;
          if (v > bv) bv = v, bi = i;
        }
        best_v[c] = bv;
        best_i[c] = bi;
      }
    });
    float bv = -1.f;
    for (std::int64_t c = 0; c < nchunks; ++c)
      if (best_v[c] > bv) bv = best_v[c], cur = best_i[c];
  }
  return out;
}

at::Tensor nearest_distances(const at::Tensor& queries, const at::Tensor& bank, at::Tensor* nearest,
                             std::int64_t chunk_elems) {
  if (bank.size(0) == 0) throw InternalError("nearest_distances: empty bank");
  // adbench::knn (core/nearest.hpp), the one brute-force kNN: same |b|^2 - 2 q.b + |q|^2 arithmetic.
  auto [d, i] =
      knn(queries.to(at::kFloat).contiguous(), bank.to(at::kFloat).contiguous(), 1, 4 * chunk_elems);
  if (nearest) *nearest = i.select(1, 0).contiguous();
  return d.select(1, 0).contiguous();
}

at::Tensor interpolate_from_centres(const at::Tensor& points, const at::Tensor& centres,
                                    const at::Tensor& centre_scores, int k) {
  KdTree tree(centres);
  at::Tensor idx, d2;
  tree.knn(points, k, idx, d2);
  at::Tensor w = 1.0 / (d2.sqrt() + 1e-8);
  w = w / w.sum(1, true);
  at::Tensor s =
      centre_scores.to(at::kFloat).contiguous().index_select(0, idx.reshape({-1})).reshape(idx.sizes());
  return (w * s).sum(1).contiguous();
}

at::Tensor group_mean(const at::Tensor& values, const at::Tensor& groups) {
  at::Tensor v = values.to(at::kFloat).contiguous();
  at::Tensor gi = groups.to(at::kLong).contiguous();
  const std::int64_t g = gi.size(0), k = gi.size(1), c = v.size(1);
  at::Tensor out = at::zeros({g, c}, at::kFloat);
  const float* vd = v.data_ptr<float>();
  const std::int64_t* id = gi.data_ptr<std::int64_t>();
  float* od = out.data_ptr<float>();
  at::parallel_for(0, g, 64, [&](std::int64_t b, std::int64_t e) {
    for (std::int64_t i = b; i < e; ++i) {
      float* o = od + i * c;
      for (std::int64_t j = 0; j < k; ++j) {
        const float* r = vd + id[i * k + j] * c;
        for (std::int64_t t = 0; t < c; ++t) o[t] += r[t];
      }
      for (std::int64_t t = 0; t < c; ++t) o[t] /= static_cast<float>(k);
    }
  });
  return out;
}

}  // namespace adbench::pointcloud
