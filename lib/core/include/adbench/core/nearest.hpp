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
/// no temporary exceeds ~block_bytes (default 16 MiB: one reused buffer that stays in the heap and
/// near the cache; 256 MiB blocks were re-faulted from the kernel on every call). The products choose
/// the neighbours; their distances are then computed again from the differences (|q - b|), so they
/// carry float32 rounding of the distance, not of |q|^2. k is capped at N. Returns
/// (distances [M,k] float32, not squared, ascending; indices [M,k] int64), on the inputs' device.
/// InternalError on an empty bank.
std::pair<at::Tensor, at::Tensor> knn(const at::Tensor& query, const at::Tensor& bank, std::int64_t k,
                                      std::int64_t block_bytes = std::int64_t{16} << 20);

/// How greedy_coreset draws its random projection and its first centre from `seed`. Both are kept
/// because the detectors' results, and the tests pinning them, depend on it.
enum class CoresetSeeding {
  /// PatchCore, FastRecon: one CPU generator seeded with `seed`; projection at::randn / sqrt(dim),
  /// then the first centre at::randint(N) from the same generator.
  Generator,
  /// FPFH PatchCore, Simple3D: projection at::normal(0, 1 / sqrt(dim)) from a CPU generator seeded
  /// with `seed`; the first centre is row seed % N.
  SeedModulo,
};

/// How the greedy steps find the farthest row. Both select the same rows in the same order.
enum class CoresetMethod {
  /// Each step computes only the rows that a lower bound cannot rule out (see greedy_coreset).
  Fast,
  /// The reference: each step computes the distance of every row to the new centre.
  Plain,
};

struct CoresetOptions {
  std::int64_t projection_dim = 0;  ///< random projection to this many dims when D exceeds it (0: none)
  std::uint64_t seed = 0;
  CoresetSeeding seeding = CoresetSeeding::Generator;
  std::string progress_label;  ///< "" : no progress display
  CoresetMethod method = CoresetMethod::Fast;
};

/// "fast" | "plain" -> CoresetMethod; InputError naming `what` otherwise.
CoresetMethod coreset_method_from(const std::string& name, const std::string& what);

/// Greedy k-center coreset (Sener & Savarese; PatchCore's sampler): min(n, N) row indices of
/// `features` [N,D] (int64, CPU, selection order), each the row farthest from those chosen before
/// (ties: the lowest row index), after an optional seeded Gaussian random projection
/// (Johnson-Lindenstrauss). On the CPU every squared distance is one fixed-order float sum
/// (coreset_sqdist: 16 running sums of squared differences, then a fixed pairwise tree), so the
/// selection does not depend on the BLAS, the thread count or the method:
///  - Plain: every step computes the distance of every row to the new centre.
///  - Fast: skips every row whose distance to the new centre provably cannot be below its
///    current min-distance, and computes the very same fixed-order distance as Plain for the
///    others, so the min-distance vector, and therefore every argmax, equals Plain's bit for bit.
///    Two proofs, chosen by the bank (both exact; the choice only changes the speed):
///    (a) where the top k = min(32, D) principal directions hold >= 60 % of the variance (real
///    backbone features): a lower bound from them, with V those eigenvectors and y = (x - mean) V,
///    ||y_i - y_c|| <= ||x_i - c||, checked on all k coordinates quantised to 12-bit integers (an
///    exact integer sum; 8 rows per AVX2 instruction where the CPU has AVX2, laid out so that each
///    load holds one coordinate pair of 8 rows), then by the int8 bound of (b) (the survivors' rows
///    prefetched first); every row, every step, in memory order, with blocks whose farthest row is
///    cached until one of their rows changes. ADBENCH_CORESET_NO_AVX2=1 uses the portable first stage. (b)
///    otherwise (D <= 128): accelerated farthest-point traversal. Rows are grouped by the centre their
///    min-distance was computed against (the Voronoi cells of the chosen centres), sorted by min-distance; a
///    group is skipped whole, or only the prefix of its rows with min-distance above a bound is looked at, by
///    the triangle inequality ||x - c|| >=
///    ||a - c|| - ||x - a|| (a: the row's centre), with ||a - c|| bounded below from both centres'
///    int8 coordinates; each looked-at row is then checked against the same int8 bound over all
///    dimensions (x quantised to int8 with one scale, each row's quantisation error kept) before
///    the exact distance. Both proofs include every rounding of coreset_sqdist (relative
///    (D/16 + 9) 2^-23, underflow) and of the bounds themselves.
///    ADBENCH_CORESET_STATS=1 prints (b)'s per-step fractions of rows looked at and computed.
/// Memory: the projected features, one min-distance per row, and for Fast k floats, 16 int16 and
/// D int8 per row, for (a) also k int16 and two thresholds per row, for (b) a 176-byte group entry
/// per row (O(N)); never an N x N matrix. On CUDA both methods run the plain loop with torch
/// arithmetic (|x|^2 - 2 x.c + |c|^2), whose rounding differs from the CPU kernel.
/// The CPU loops run on at::get_num_threads() threads (at::parallel_for; adbench is built with
/// OpenMP for that).
at::Tensor greedy_coreset(const at::Tensor& features, std::int64_t n, const CoresetOptions& options);

/// The CPU coreset's squared distance between two rows of `d` floats (see greedy_coreset).
float coreset_sqdist(const float* a, const float* b, std::int64_t d);

}  // namespace adbench
