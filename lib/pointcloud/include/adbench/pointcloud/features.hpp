#pragma once
// Hand-crafted local descriptors and the sampling / memory-bank helpers the point-cloud detectors
// share. Nothing here builds an N x N matrix: neighbourhoods come from k-d trees, bank distances are
// computed in chunks, and coresets keep one running distance per candidate.
#include <ATen/ATen.h>

#include <cstdint>
#include <vector>

namespace adbench::pointcloud {

/// FPFH descriptors (Rusu et al. 2009; Open3D's implementation, the one "Back to the Feature" and
/// Simple3D use). Normals are estimated from the `normal_k` nearest points (Open3D's PCA); then, for
/// each k in `ks`, the 33-bin FPFH over the k nearest points. Returns float32 [N, 33 * ks.size()],
/// the scales concatenated in order. Memory: O(N * (33 + k)) per scale.
at::Tensor fpfh(const at::Tensor& points, int normal_k, const std::vector<int>& ks);

/// Farthest-point sampling: m indices (m <= N), starting from point `start`. O(N * m) time, O(N) memory.
at::Tensor farthest_point_sample(const at::Tensor& points, std::int64_t m, std::int64_t start = 0);

// Greedy k-center coresets: adbench::greedy_coreset (adbench/core/nearest.hpp; the point-cloud
// detectors use CoresetSeeding::SeedModulo).

/// For each query row [Q,D], the Euclidean distance to its nearest row of `bank` [M,D] (float32 [Q]);
/// `nearest` (if given) receives its index. Chunked: at most ~`chunk_elems` distances at a time
/// (adbench::knn with k = 1).
at::Tensor nearest_distances(const at::Tensor& queries, const at::Tensor& bank, at::Tensor* nearest = nullptr,
                             std::int64_t chunk_elems = std::int64_t{1} << 24);

/// Scores at `centres` [G,3] spread to `points` [N,3] by inverse-distance weighting of the k nearest
/// centres (PointNet++ feature propagation). float32 [N].
at::Tensor interpolate_from_centres(const at::Tensor& points, const at::Tensor& centres,
                                    const at::Tensor& centre_scores, int k = 3);

/// Mean of the rows of `values` [N,C] over each group of indices [G,K] -> [G,C].
at::Tensor group_mean(const at::Tensor& values, const at::Tensor& groups);

}  // namespace adbench::pointcloud
