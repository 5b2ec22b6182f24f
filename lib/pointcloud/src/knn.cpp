#include "adbench/pointcloud/knn.hpp"

#include <ATen/Parallel.h>

#include <nanoflann.hpp>
#include <vector>

#include "adbench/core/error.hpp"

namespace adbench::pointcloud {

namespace {
struct Points {
  std::vector<float> xyz;
  size_t kdtree_get_point_count() const { return xyz.size() / 3; }
  float kdtree_get_pt(size_t i, size_t d) const { return xyz[3 * i + d]; }
  template <class B>
  bool kdtree_get_bbox(B&) const {
    return false;
  }
};
using Tree = nanoflann::KDTreeSingleIndexAdaptor<nanoflann::L2_Simple_Adaptor<float, Points>, Points, 3,
                                                 std::uint32_t>;
}  // namespace

struct KdTree::Impl {
  Points pts;
  std::unique_ptr<Tree> tree;
};

KdTree::KdTree(const at::Tensor& points) : impl_(std::make_unique<Impl>()) {
  at::Tensor p = points.to(at::kFloat).contiguous();
  if (p.dim() != 2 || p.size(1) != 3 || p.size(0) < 1)
    throw InternalError("KdTree: points must be [N,3], N >= 1");
  if (p.size(0) >= (std::int64_t{1} << 32)) throw InputError("point cloud has more than 2^32 points");
  impl_->pts.xyz.assign(p.data_ptr<float>(), p.data_ptr<float>() + p.numel());
  impl_->tree = std::make_unique<Tree>(3, impl_->pts, nanoflann::KDTreeSingleIndexAdaptorParams(16));
  impl_->tree->buildIndex();
}
KdTree::~KdTree() = default;
KdTree::KdTree(KdTree&&) noexcept = default;
KdTree& KdTree::operator=(KdTree&&) noexcept = default;

std::int64_t KdTree::size() const { return static_cast<std::int64_t>(impl_->pts.kdtree_get_point_count()); }

void KdTree::knn(const at::Tensor& queries, int k, at::Tensor& indices, at::Tensor& sq_dists) const {
  at::Tensor q = queries.to(at::kFloat).contiguous();
  if (q.dim() != 2 || q.size(1) != 3) throw InternalError("KdTree::knn: queries must be [Q,3]");
  const std::int64_t nq = q.size(0);
  const int kk = static_cast<int>(std::min<std::int64_t>(k, size()));
  indices = at::empty({nq, kk}, at::kLong);
  sq_dists = at::empty({nq, kk}, at::kFloat);
  const float* qd = q.data_ptr<float>();
  std::int64_t* id = indices.data_ptr<std::int64_t>();
  float* dd = sq_dists.data_ptr<float>();
  const Tree& tree = *impl_->tree;
  at::parallel_for(0, nq, 256, [&](std::int64_t b, std::int64_t e) {
    std::vector<std::uint32_t> idx(static_cast<size_t>(kk));
    std::vector<float> dist(static_cast<size_t>(kk));
    for (std::int64_t i = b; i < e; ++i) {
      nanoflann::KNNResultSet<float, std::uint32_t> rs(static_cast<size_t>(kk));
      rs.init(idx.data(), dist.data());
      tree.findNeighbors(rs, qd + 3 * i, nanoflann::SearchParams());
      for (int j = 0; j < kk; ++j) {
        id[i * kk + j] = idx[static_cast<size_t>(j)];
        dd[i * kk + j] = dist[static_cast<size_t>(j)];
      }
    }
  });
}

at::Tensor KdTree::knn_indices(const at::Tensor& queries, int k) const {
  at::Tensor i, d;
  knn(queries, k, i, d);
  return i;
}

}  // namespace adbench::pointcloud
