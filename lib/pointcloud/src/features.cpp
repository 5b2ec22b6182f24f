// FPFH descriptors: the default path (one kNN search at the largest k, SPFH/FPFH histograms by our
// own float32 code) and Open3D's ComputeFPFHFeature as the reference. Open3D headers are included
// here and in cloud_io.cpp only.
#include "adbench/pointcloud/features.hpp"

#include <ATen/Parallel.h>
#include <open3d/geometry/KDTreeFlann.h>
#include <open3d/geometry/KDTreeSearchParam.h>
#include <open3d/geometry/PointCloud.h>
#include <open3d/pipelines/registration/Feature.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>
#include <numbers>
#include <string>

#include "adbench/core/error.hpp"
#include "text_io.hpp"

namespace adbench::pointcloud {

namespace {

constexpr int kBins = 11;         // per angle feature
constexpr int kHist = 3 * kBins;  // one SPFH / FPFH histogram
constexpr double kPi = std::numbers::pi;

/// The cloud in Open3D's (double) form with Open3D's PCA normals from the `normal_k` nearest points:
/// both paths start from these normals.
open3d::geometry::PointCloud with_normals(const at::Tensor& p, int normal_k) {
  quiet_open3d();
  open3d::geometry::PointCloud pc;
  const std::int64_t n = p.size(0);
  pc.points_.resize(static_cast<size_t>(n));
  const float* d = p.data_ptr<float>();
  for (std::int64_t i = 0; i < n; ++i)
    pc.points_[static_cast<size_t>(i)] = Eigen::Vector3d(d[3 * i], d[3 * i + 1], d[3 * i + 2]);
  pc.EstimateNormals(open3d::geometry::KDTreeSearchParamKNN(std::max(3, normal_k)));
  return pc;
}

/// Open3D's histogram bin of a pair feature (ComputeSPFHFeature: 11 equal bins over [-pi, pi] for
/// the angle, [-1, 1] for the two cosines, clamped), written with its operation order.
int angle_bin(double f) {
  return std::clamp(static_cast<int>(std::floor(11 * (f + kPi) / (2.0 * kPi))), 0, 10);
}
int cosine_bin(double f) { return std::clamp(static_cast<int>(std::floor(11 * (f + 1.0) * 0.5)), 0, 10); }

/// Bins of the pair feature (Open3D 0.16.1's ComputePairFeatures) of point 1 with neighbour 2, in
/// double. The feature: with d = p2 - p1, the normal making the smaller angle with the line d is the
/// frame's first axis u (when it is n2, d is reversed and the pair's roles swap); v = d x u / |d x u|,
/// w = u x v; features (atan2(w.n, u.n), v.n, u.d/|d|) with n the other normal. Coincident points,
/// or d parallel to u, give the zero feature (bins 5, 5, 5).
void pair_bins_double(const Eigen::Vector3d& p1, const Eigen::Vector3d& n1, const Eigen::Vector3d& p2,
                      const Eigen::Vector3d& n2, int bins[3]) {
  Eigen::Vector3d d = p2 - p1;
  const double len = d.norm();
  double f[3] = {0.0, 0.0, 0.0};
  if (len != 0.0) {
    const double c1 = n1.dot(d) / len, c2 = n2.dot(d) / len;
    // Open3D compares acos(|c|): a |c| rounded above 1 gives NaN, and then no swap.
    const bool swap = std::acos(std::fabs(c1)) > std::acos(std::fabs(c2));
    const Eigen::Vector3d& u = swap ? n2 : n1;
    const Eigen::Vector3d& other = swap ? n1 : n2;
    if (swap) d *= -1.0;
    Eigen::Vector3d v = d.cross(u);
    const double vn = v.norm();
    if (vn != 0.0) {
      v /= vn;
      const Eigen::Vector3d w = u.cross(v);
      f[0] = std::atan2(w.dot(other), u.dot(other));
      f[1] = v.dot(other);
      f[2] = swap ? -c2 : c1;
    }
  }
  bins[0] = angle_bin(f[0]);
  bins[1] = cosine_bin(f[1]);
  bins[2] = cosine_bin(f[2]);
}

struct V3 {
  float x, y, z;
};
inline V3 load(const float* a) { return {a[0], a[1], a[2]}; }
inline float dot(V3 a, V3 b) { return a.x * b.x + a.y * b.y + a.z * b.z; }
inline V3 cross(V3 a, V3 b) { return {a.y * b.z - a.z * b.y, a.z * b.x - a.x * b.z, a.x * b.y - a.y * b.x}; }

// Margins of the float32 pair features. Every decision the double computation takes (the swap,
// the zero feature, each bin) is taken in float only when the float value is farther than these
// from the decision's threshold; otherwise pair_bins_float declines and the pair is recomputed in
// double. Float errors here are ~1e-6 (unit normals, |c| <= 1 - kCosineEdge keeps |d x u| >= 0.04 |d|,
// x^2 + y^2 >= kAtan2Floor keeps atan2 within ~1e-4 rad), so the margins are >= 10x the error.
constexpr float kSwapTie = 1e-5f;     // | |c1| - |c2| |
constexpr float kCosineEdge = 1e-3f;  // 1 - max(|c1|, |c2|)
constexpr float kAtan2Floor = 1e-3f;  // (w.n)^2 + (u.n)^2
constexpr float kBinEdge = 1e-3f;     // distance of a bin coordinate (0..11) to an integer

inline bool float_bin(float x, int& bin) {
  if (!(std::fabs(x - std::nearbyint(x)) >= kBinEdge)) return false;  // near an edge, or NaN
  bin = std::clamp(static_cast<int>(std::floor(x)), 0, 10);
  return true;
}

/// pair_bins_double's bins in float32, or false where float rounding could change one of them.
inline bool pair_bins_float(V3 p1, V3 n1, V3 p2, V3 n2, int bins[3]) {
  V3 d{p2.x - p1.x, p2.y - p1.y, p2.z - p1.z};
  if (d.x == 0.f && d.y == 0.f && d.z == 0.f) {  // float differences are exact zeros iff equal
    bins[0] = bins[1] = bins[2] = 5;
    return true;
  }
  const float len = std::sqrt(dot(d, d));
  const float c1 = dot(n1, d) / len, c2 = dot(n2, d) / len;
  const float a1 = std::fabs(c1), a2 = std::fabs(c2);
  if (std::fabs(a1 - a2) < kSwapTie || std::max(a1, a2) > 1.f - kCosineEdge) return false;
  const bool swap = a1 < a2;
  const V3 u = swap ? n2 : n1, other = swap ? n1 : n2;
  if (swap) d = {-d.x, -d.y, -d.z};
  V3 v = cross(d, u);
  const float inv = 1.f / std::sqrt(dot(v, v));
  v = {v.x * inv, v.y * inv, v.z * inv};
  const V3 w = cross(u, v);
  const float y = dot(w, other), x = dot(u, other);
  if (x * x + y * y < kAtan2Floor) return false;
  const float f0 = std::atan2(y, x), f1 = dot(v, other), f2 = swap ? -c2 : c1;
  constexpr float to_angle_bin = static_cast<float>(11.0 / (2.0 * kPi));
  return float_bin((f0 + static_cast<float>(kPi)) * to_angle_bin, bins[0]) &&
         float_bin((f1 + 1.f) * 5.5f, bins[1]) && float_bin((f2 + 1.f) * 5.5f, bins[2]);
}

at::Tensor fpfh_open3d(const at::Tensor& p, int normal_k, const std::vector<int>& ks) {
  const std::int64_t n = p.size(0);
  open3d::geometry::PointCloud pc = with_normals(p, normal_k);
  at::Tensor out = at::empty({n, kHist * static_cast<std::int64_t>(ks.size())}, at::kFloat);
  float* o = out.data_ptr<float>();
  const std::int64_t stride = out.size(1);
  for (size_t s = 0; s < ks.size(); ++s) {
    auto f = open3d::pipelines::registration::ComputeFPFHFeature(
        pc, open3d::geometry::KDTreeSearchParamKNN(std::max(2, ks[s])));
    const Eigen::MatrixXd& m = f->data_;  // 33 x N, column-major
    for (std::int64_t i = 0; i < n; ++i) {
      const double* col = m.data() + kHist * i;
      float* row = o + i * stride + kHist * static_cast<std::int64_t>(s);
      for (int b = 0; b < kHist; ++b) row[b] = static_cast<float>(col[b]);
    }
  }
  return out;
}

/// Point indices in Morton (Z-order) order of their positions: consecutive entries are mostly
/// spatial neighbours, so the searches and the neighbours' rows stay in cache.
std::vector<std::int32_t> morton_order(const float* xyz, std::int64_t n) {
  float lo[3], hi[3];
  for (int c = 0; c < 3; ++c) lo[c] = hi[c] = xyz[c];
  for (std::int64_t i = 1; i < n; ++i)
    for (int c = 0; c < 3; ++c)
      lo[c] = std::min(lo[c], xyz[3 * i + c]), hi[c] = std::max(hi[c], xyz[3 * i + c]);
  const float extent = std::max({hi[0] - lo[0], hi[1] - lo[1], hi[2] - lo[2], 1e-30f});
  auto spread = [](std::uint64_t v) {  // 21 bits -> every third of 63
    v &= 0x1fffff;
    v = (v | v << 32) & 0x1f00000000ffffULL;
    v = (v | v << 16) & 0x1f0000ff0000ffULL;
    v = (v | v << 8) & 0x100f00f00f00f00fULL;
    v = (v | v << 4) & 0x10c30c30c30c30c3ULL;
    v = (v | v << 2) & 0x1249249249249249ULL;
    return v;
  };
  std::vector<std::pair<std::uint64_t, std::int32_t>> keyed(static_cast<size_t>(n));
  for (std::int64_t i = 0; i < n; ++i) {
    std::uint64_t code = 0;
    for (int c = 0; c < 3; ++c) {
      const double t = double(xyz[3 * i + c] - lo[c]) / double(extent);
      code |= spread(static_cast<std::uint64_t>(std::clamp(t, 0.0, 1.0) * 2097151.0)) << c;
    }
    keyed[i] = {code, static_cast<std::int32_t>(i)};
  }
  std::sort(keyed.begin(), keyed.end());
  std::vector<std::int32_t> order(static_cast<size_t>(n));
  for (std::int64_t r = 0; r < n; ++r) order[r] = keyed[r].second;
  return order;
}

at::Tensor fpfh_fast(const at::Tensor& p, int normal_k, const std::vector<int>& ks) {
  const std::int64_t n = p.size(0);
  open3d::geometry::PointCloud pc = with_normals(p, normal_k);
  // Scales as Open3D sees them (k >= 2, at most N neighbours including the point), ascending and
  // distinct: scale s uses the first ke[s] entries of the one search at K = ke.back().
  std::vector<int> ke;
  for (int k : ks) ke.push_back(static_cast<int>(std::min<std::int64_t>(std::max(2, k), n)));
  std::sort(ke.begin(), ke.end());
  ke.erase(std::unique(ke.begin(), ke.end()), ke.end());
  const int S = static_cast<int>(ke.size()), K = ke.back();
  const std::int64_t H = std::int64_t{kHist} * S;  // SPFH row: the S scales' histograms

  // Work arrays are indexed by slot: the point's place in Morton order (order[slot] = point,
  // slot_of[point] = slot). The searches themselves run on the points as given (the tree Open3D
  // would build), so the neighbour lists do not depend on this order.
  const std::vector<std::int32_t> order = morton_order(p.data_ptr<float>(), n);
  std::vector<std::int32_t> slot_of(static_cast<size_t>(n));
  for (std::int64_t r = 0; r < n; ++r) slot_of[order[r]] = static_cast<std::int32_t>(r);
  std::vector<float> xyz(static_cast<size_t>(3 * n)), nrm(static_cast<size_t>(3 * n));
  for (std::int64_t r = 0; r < n; ++r)
    for (int c = 0; c < 3; ++c) {
      xyz[3 * r + c] = static_cast<float>(pc.points_[order[r]][c]);
      nrm[3 * r + c] = static_cast<float>(pc.normals_[order[r]][c]);
    }
  // Uninitialised (every entry is written before it is read; zero histograms when K = 1).
  auto nbr =
      std::make_unique_for_overwrite<std::int32_t[]>(static_cast<size_t>(n * K));  // slots of the K nearest
  auto spfh = std::make_unique_for_overwrite<float[]>(static_cast<size_t>(n * H));
  if (K <= 1) std::fill_n(spfh.get(), n * H, 0.f);

  // Pass 1: the kNN search (Open3D's own k-d tree, so the neighbour lists are Open3D's) and SPFH.
  // Open3D skips the first neighbour (the point itself) and adds 100 / (k - 1) in double per pair and
  // feature: a bin hit c times holds value[s][c], that sum rounded to float.
  std::vector<std::vector<float>> value(static_cast<size_t>(S));
  for (int s = 0; s < S; ++s) {
    const double incr = 100.0 / static_cast<double>(ke[s] - 1);
    double sum = 0.0;
    for (int c = 0; c < ke[s]; ++c, sum += incr) value[s].push_back(static_cast<float>(sum));
  }
  const open3d::geometry::KDTreeFlann tree(pc);
  at::parallel_for(0, n, 256, [&](std::int64_t b, std::int64_t e) {
    std::vector<int> idx;
    std::vector<double> dist2;
    for (std::int64_t r = b; r < e; ++r) {
      const std::int64_t i = order[r];
      const int found = tree.SearchKNN(pc.points_[i], K, idx, dist2);
      if (found != K) throw InternalError("fpfh: k-d tree search found too few points");
      std::int32_t* nb = &nbr[r * K];
      for (int j = 0; j < K; ++j) nb[j] = slot_of[idx[j]];
      const V3 pr = load(&xyz[3 * r]), nr = load(&nrm[3 * r]);
      int count[kHist] = {};
      int s = 0;
      while (s < S && ke[s] <= 1) ++s;  // a one-point cloud: no pairs, zero histograms
      for (int j = 1; j < K && s < S; ++j) {
        int bins[3];
        const std::int64_t q = nb[j];
        if (!pair_bins_float(pr, nr, load(&xyz[3 * q]), load(&nrm[3 * q]), bins)) {
          const std::int64_t m = idx[j];
          pair_bins_double(pc.points_[i], pc.normals_[i], pc.points_[m], pc.normals_[m], bins);
        }
        ++count[bins[0]], ++count[kBins + bins[1]], ++count[2 * kBins + bins[2]];
        for (; s < S && ke[s] == j + 1; ++s) {
          float* row = &spfh[r * H + kHist * s];
          for (int h = 0; h < kHist; ++h) row[h] = value[s][count[h]];
        }
      }
    }
  });

  // Pass 2: FPFH = own SPFH + the neighbours' SPFH weighted by 1 / squared distance, each 11-bin part
  // normalised to sum 100 (Open3D's convention; coincident neighbours are skipped). Written straight
  // into the requested scales' columns of the point's output row.
  at::Tensor result = at::empty({n, kHist * static_cast<std::int64_t>(ks.size())}, at::kFloat);
  float* res = result.data_ptr<float>();
  const std::int64_t stride = result.size(1);
  std::vector<std::int64_t> column(ks.size());  // the scale each requested k reads
  for (size_t q = 0; q < ks.size(); ++q) {
    const int k = static_cast<int>(std::min<std::int64_t>(std::max(2, ks[q]), n));
    column[q] = std::lower_bound(ke.begin(), ke.end(), k) - ke.begin();
  }
  at::parallel_for(0, n, 256, [&](std::int64_t b, std::int64_t e) {
    std::vector<float> acc(static_cast<size_t>(H)), out(static_cast<size_t>(H));
    for (std::int64_t r = b; r < e; ++r) {
      std::fill(acc.begin(), acc.end(), 0.f);
      const V3 pr = load(&xyz[3 * r]);
      const std::int32_t* nb = &nbr[r * K];
      int s_lo = 0;  // scales s >= s_lo still include neighbour j (j < ke[s])
      for (int j = 1; j < K; ++j) {
        while (s_lo < S && ke[s_lo] <= j) ++s_lo;
        const std::int64_t m = nb[j];
        const V3 q = load(&xyz[3 * m]);
        const V3 d{q.x - pr.x, q.y - pr.y, q.z - pr.z};
        if (d.x == 0.f && d.y == 0.f && d.z == 0.f) continue;
        const float w = 1.f / dot(d, d);
        const float* src = &spfh[m * H];
        for (std::int64_t h = kHist * s_lo; h < H; ++h) acc[h] += w * src[h];
      }
      const float* own = &spfh[r * H];
      for (int part = 0; part < 3 * S; ++part) {
        const float* a = &acc[kBins * part];
        float sum = 0.f;
        for (int h = 0; h < kBins; ++h) sum += a[h];
        const float scale = sum != 0.f ? 100.f / sum : 0.f;
        for (int h = 0; h < kBins; ++h) out[kBins * part + h] = a[h] * scale + own[kBins * part + h];
      }
      if (K <= 1) std::fill(out.begin(), out.end(), 0.f);  // Open3D: no neighbours, no feature
      float* row = res + order[r] * stride;
      for (size_t q = 0; q < ks.size(); ++q) std::copy_n(&out[kHist * column[q]], kHist, row + kHist * q);
    }
  });
  return result;
}

}  // namespace

at::Tensor fpfh(const at::Tensor& points, int normal_k, const std::vector<int>& ks, FpfhMethod method) {
  at::Tensor p = points.to(at::kFloat).contiguous();
  if (p.dim() != 2 || p.size(1) != 3 || p.size(0) < 1)
    throw InternalError("fpfh: points must be [N,3], N >= 1");
  if (ks.empty()) throw InternalError("fpfh: no neighbour counts");
  if (p.size(0) > std::numeric_limits<std::int32_t>::max())
    throw InputError("point cloud has more than 2^31 points");
  return method == FpfhMethod::Open3D ? fpfh_open3d(p, normal_k, ks) : fpfh_fast(p, normal_k, ks);
}

FpfhMethod fpfh_method_from_name(const std::string& name) {
  if (name == "fast") return FpfhMethod::Fast;
  if (name == "open3d") return FpfhMethod::Open3D;
  throw InternalError("fpfh: unknown method '" + name + "'");
}

}  // namespace adbench::pointcloud
