#pragma once
// Nearest neighbours and greedy k-center coresets over feature rows, shared by the image detectors
// (PatchCore, SPADE, FastRecon) and the point-cloud ones (FPFH PatchCore, Simple3D). Spatial
// neighbourhoods of 3-D points use the k-d tree of lib/pointcloud (knn.hpp) instead.
#include <ATen/ATen.h>

#include <cstdint>
#include <string>
#include <utility>

namespace adbench {

/// Exact brute-force k nearest neighbours of each row of `query` [M,D] among `bank` [N,D] by
/// squared-L2 distance (|b|^2 - 2 q.b + |q|^2, by matrix products), in query and bank blocks so that
/// no temporary exceeds ~block_bytes. k is capped at N. Returns (distances [M,k] float32, not
/// squared, ascending; indices [M,k] int64), on the inputs' device. InternalError on an empty bank.
std::pair<at::Tensor, at::Tensor> knn(const at::Tensor& query, const at::Tensor& bank, std::int64_t k,
                                      std::int64_t block_bytes = std::int64_t{256} << 20);

/// How greedy_coreset draws its random projection and its first centre from `seed` (and rounds its
/// distances). Both are kept because the detectors' results, and the tests pinning them, depend on it.
enum class CoresetSeeding {
  /// PatchCore, FastRecon: one CPU generator seeded with `seed`; projection at::randn / sqrt(dim),
  /// then the first centre at::randint(N) from the same generator.
  Generator,
  /// FPFH PatchCore, Simple3D: projection at::normal(0, 1 / sqrt(dim)) from a CPU generator seeded
  /// with `seed`; the first centre is row seed % N; squared distances evaluated as
  /// (|x|^2 + |c|^2) - 2 x.c and clamped at 0 (the former lib/pointcloud coreset, bit for bit).
  SeedModulo,
};

struct CoresetOptions {
  std::int64_t projection_dim = 0;  ///< random projection to this many dims when D exceeds it (0: none)
  std::uint64_t seed = 0;
  CoresetSeeding seeding = CoresetSeeding::Generator;
  std::string progress_label;  ///< "" : no progress display
};

/// Greedy k-center coreset (Sener & Savarese; PatchCore's sampler): min(n, N) row indices of
/// `features` [N,D] (int64, CPU, selection order), each the row farthest from those chosen before,
/// after an optional seeded Gaussian random projection (Johnson-Lindenstrauss). Memory: the
/// projected features, their squared norms and one min-distance vector (O(N)); distances to each
/// new centre are computed in row chunks, never an N x N matrix. Works on the features' device.
at::Tensor greedy_coreset(const at::Tensor& features, std::int64_t n, const CoresetOptions& options);

}  // namespace adbench
