#pragma once
// Internal to adbench_pointcloud: text clouds, and Open3D's logging kept off stdout and stderr.
#include <ATen/ATen.h>

#include <filesystem>

namespace adbench::pointcloud {
/// Routes Open3D's log messages to adbench (kept for the next error line, never printed: they
/// carry ANSI colour codes). Idempotent; call before any Open3D function.
void quiet_open3d();
}  // namespace adbench::pointcloud

namespace adbench::pointcloud::detail {
/// Rows of whitespace-separated numbers, at least 3 per row: float32 [N,3] from the first three.
at::Tensor read_xyz_text(const std::filesystem::path& file);
}  // namespace adbench::pointcloud::detail
