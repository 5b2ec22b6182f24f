#pragma once
// Reading point clouds and per-point ground truth. Every reader returns float32 coordinates and
// rejects what it cannot read with one line naming the file (InputError "<file>: <problem>").
//
// Formats (by extension, any case):
//   .pcd         ascii, binary, binary_compressed (Open3D's reader; the header is checked first)
//   .ply         ascii and binary (Open3D's reader)
//   .txt, .xyz   whitespace-separated rows "x y z [more columns]" (MiniShift)
//   .tif, .tiff  MVTec 3D-AD organised xyz: float32 3-channel H x W; points equal to (0,0,0) are
//                missing data and are left out (grid_index says where each kept point sits)
#include <ATen/ATen.h>

#include <cstdint>
#include <filesystem>
#include <string>

namespace adbench::pointcloud {

struct Cloud {
  at::Tensor points;                   ///< float32 [N,3], CPU, contiguous; N >= 1, all finite
  std::int64_t height = 0, width = 0;  ///< organised grid size (xyz TIFF); 0 for unorganised clouds
  at::Tensor grid_index;  ///< int64 [N]: row-major position of each point in the grid (organised only)
  bool organised() const { return height > 0; }
  std::int64_t size() const { return points.size(0); }
};

/// Reads a cloud. InputErrors (exact text after "<file>: "):
///  - "cannot open file" / "unsupported point-cloud format '.ext' (expected .pcd, .ply, .txt, .xyz, .tiff)"
///  - PCD: "PCD field 'x' has TYPE F SIZE 8 COUNT 1, which cannot be read (x, y and z must be F 4,
///    I 1/2/4 or U 1/2/4 with COUNT 1)", "PCD has no field 'z' (FIELDS x y)", "PCD header has no DATA line",
///    "PCD DATA 'lzf' is not ascii, binary or binary_compressed"
///  - "empty point cloud (0 points)"
///  - "K points have NaN or infinite coordinates (first: point I)"
///  - "cannot read point cloud (truncated or corrupt)"
Cloud read_cloud(const std::filesystem::path& file);

/// Number of points a cloud file holds (the PCD/PLY header, the rows of a text file, H*W of an xyz
/// TIFF) without decoding its coordinates where the format allows.
std::int64_t cloud_point_count(const std::filesystem::path& file);

/// Per-point ground truth of an unorganised cloud with `expected` points. Text, one row per point:
/// "x y z label" (Real3D-AD, Anomaly-ShapeNet) or "label" (MiniShift); label > 0.5 is anomalous.
/// Returns uint8 [N] of 0/1. InputErrors: "<gt>: N points but its cloud <cloud> has M",
/// "<gt>: line L: expected 'x y z label' or 'label'", "<gt>: line L: 'v' is not a number".
at::Tensor read_point_labels(const std::filesystem::path& gt, std::int64_t expected,
                             const std::filesystem::path& cloud);

/// Writes an unorganised cloud as PCD (fields x y z, float32) in "ascii", "binary" or
/// "binary_compressed" (tests and tools; the synthetic-data generator has its own writer).
void write_pcd(const std::filesystem::path& file, const at::Tensor& points, const std::string& encoding);

/// Writes a cloud as binary little-endian PLY (x y z float32).
void write_ply(const std::filesystem::path& file, const at::Tensor& points);

}  // namespace adbench::pointcloud
