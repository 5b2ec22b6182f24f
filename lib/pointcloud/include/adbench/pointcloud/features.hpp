#pragma once
// Hand-crafted local descriptors and the sampling / memory-bank helpers the point-cloud detectors
// share. Nothing here builds an N x N matrix: neighbourhoods come from k-d trees, bank distances are
// computed in chunks, and coresets keep one running distance per candidate.
#include <ATen/ATen.h>

#include <cstdint>
#include <string>
#include <vector>

namespace adbench::pointcloud {

/// How fpfh() computes the histograms; both give Open3D 0.16's FPFH (see fpfh()).
enum class FpfhMethod {
  /// One kNN search at the largest k (Open3D's k-d tree) whose distance-ordered prefixes serve every
  /// scale, and SPFH/FPFH by adbench's own float32 code, parallel over points.
  Fast,
  /// Open3D's ComputeFPFHFeature once per scale (a kNN search per pass and scale, double precision):
  /// the reference the fast path is tested against.
  Open3D,
};

/// FPFH descriptors (Rusu et al. 2009, with Open3D's conventions: the implementation "Back to the
/// Feature" and Simple3D use). Normals are estimated from the `normal_k` nearest points (Open3D's
/// PCA, both methods); then, for each k in `ks` (k < 2 counts as 2, k > N as N), the 33-bin FPFH over
/// the k nearest points (the point itself first): three 11-bin histograms of the pair angles, the
/// point's own SPFH (each histogram summing to 100) plus the 1/squared-distance weighted mean of its
/// neighbours' SPFH (normalised to 100). Returns float32 [N, 33 * ks.size()], the scales
/// concatenated in the order given.
///
/// FpfhMethod::Fast reproduces Open3D's neighbour lists exactly (the same tree and search; a k-list is
/// the k-prefix of the largest-k list, since the search keeps ties in the order it meets them) and
/// its histogram bins exactly (a pair whose float32 angles lie within 1e-3 of a bin edge, or of one
/// of the feature's other decisions, is recomputed in double with Open3D's arithmetic); what differs
/// is float32 rounding of the weighted sums, ~1e-6 relative. Memory: O(N * (k_max + 33 * scales)).
at::Tensor fpfh(const at::Tensor& points, int normal_k, const std::vector<int>& ks,
                FpfhMethod method = FpfhMethod::Fast);
/// "fast" or "open3d" (the detectors' `fpfh_impl` setting); InternalError otherwise.
FpfhMethod fpfh_method_from_name(const std::string& name);

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
