#pragma once
// Exact k-nearest-neighbour search in 3-D with a nanoflann k-d tree: O(N) memory, O(N log N)
// build, about O(k log N) per query. Queries run in parallel (LibTorch's intra-op threads).
#include <ATen/ATen.h>

#include <cstdint>
#include <memory>

namespace adbench::pointcloud {

class KdTree {
 public:
  /// points: float32 [N,3] (copied once into the tree's own buffer). N >= 1.
  explicit KdTree(const at::Tensor& points);
  ~KdTree();
  KdTree(KdTree&&) noexcept;
  KdTree& operator=(KdTree&&) noexcept;

  std::int64_t size() const;
  /// The k nearest points of each query (float32 [Q,3]), nearest first: indices int64 [Q,k'] and
  /// squared distances float32 [Q,k'], k' = min(k, N). A query that is itself a point of the tree
  /// finds itself first.
  void knn(const at::Tensor& queries, int k, at::Tensor& indices, at::Tensor& sq_dists) const;
  at::Tensor knn_indices(const at::Tensor& queries, int k) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace adbench::pointcloud
