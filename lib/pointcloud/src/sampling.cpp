// Farthest-point sampling, greedy coresets, chunked nearest-prototype distances, interpolation.
#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Parallel.h>

#include <algorithm>
#include <cmath>

#include <limits>
#include <vector>

#include "adbench/core/error.hpp"
#include "adbench/pointcloud/features.hpp"
#include "adbench/pointcloud/knn.hpp"

namespace adbench::pointcloud {

at::Tensor farthest_point_sample(const at::Tensor& points, std::int64_t m, std::int64_t start) {
  at::Tensor p = points.to(at::kFloat).contiguous();
  const std::int64_t n = p.size(0);
  m = std::min(m, n);
  at::Tensor out = at::empty({m}, at::kLong);
  if (m <= 0) return out;
  std::vector<float> x(static_cast<size_t>(n)), y(x.size()), z(x.size()), md(x.size(), std::numeric_limits<float>::max());
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

at::Tensor greedy_coreset(const at::Tensor& features, std::int64_t m, std::uint64_t seed, std::int64_t projection_dim) {
  at::Tensor f = features.to(at::kFloat).contiguous();
  const std::int64_t n = f.size(0);
  m = std::min(m, n);
  if (m <= 0) return at::empty({0}, at::kLong);
  if (projection_dim > 0 && f.size(1) > projection_dim) {
    auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
    at::Tensor proj = at::normal(0.0, 1.0 / std::sqrt(double(projection_dim)), {f.size(1), projection_dim}, gen);
    f = at::matmul(f, proj).contiguous();
  }
  at::Tensor out = at::empty({m}, at::kLong);
  std::int64_t* o = out.data_ptr<std::int64_t>();
  std::int64_t cur = static_cast<std::int64_t>(seed % static_cast<std::uint64_t>(n));
  at::Tensor sq = f.pow(2).sum(1);  // |f|^2
  at::Tensor mind = at::full({n}, std::numeric_limits<float>::infinity(), at::kFloat);
  for (std::int64_t s = 0; s < m; ++s) {
    o[s] = cur;
    at::Tensor c = f[cur];
    // |f - c|^2 = |f|^2 + |c|^2 - 2 f.c
    at::Tensor d = (sq + sq[cur] - 2 * at::mv(f, c)).clamp_min_(0);
    at::minimum_out(mind, mind, d);
    cur = mind.argmax().item<std::int64_t>();
  }
  return out;
}

at::Tensor nearest_distances(const at::Tensor& queries, const at::Tensor& bank, at::Tensor* nearest,
                             std::int64_t chunk_elems) {
  at::Tensor q = queries.to(at::kFloat).contiguous();
  at::Tensor b = bank.to(at::kFloat).contiguous();
  if (b.size(0) == 0) throw InternalError("nearest_distances: empty bank");
  const std::int64_t nq = q.size(0), nb = b.size(0);
  at::Tensor out = at::empty({nq}, at::kFloat);
  at::Tensor idx = at::empty({nq}, at::kLong);
  at::Tensor bsq = b.pow(2).sum(1);
  const std::int64_t qchunk = std::max<std::int64_t>(1, chunk_elems / std::max<std::int64_t>(1, nb));
  for (std::int64_t s = 0; s < nq; s += qchunk) {
    const std::int64_t e = std::min(nq, s + qchunk);
    at::Tensor qc = q.slice(0, s, e);
    at::Tensor d = at::addmm(bsq.unsqueeze(0), qc, b.t(), 1, -2);  // |b|^2 - 2 q.b
    d.add_(qc.pow(2).sum(1, true));
    auto [mv, mi] = d.min(1);
    out.slice(0, s, e).copy_(mv.clamp_min(0).sqrt());
    idx.slice(0, s, e).copy_(mi);
  }
  if (nearest) *nearest = idx;
  return out;
}

at::Tensor interpolate_from_centres(const at::Tensor& points, const at::Tensor& centres, const at::Tensor& centre_scores,
                                    int k) {
  KdTree tree(centres);
  at::Tensor idx, d2;
  tree.knn(points, k, idx, d2);
  at::Tensor w = 1.0 / (d2.sqrt() + 1e-8);
  w = w / w.sum(1, true);
  at::Tensor s = centre_scores.to(at::kFloat).contiguous().index_select(0, idx.reshape({-1})).reshape(idx.sizes());
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
