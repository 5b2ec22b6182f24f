#pragma once
#include <ATen/ATen.h>

#include <filesystem>

namespace adbench::pointcloud::detail {
/// Rows of whitespace-separated numbers, at least 3 per row: float32 [N,3] from the first three.
at::Tensor read_xyz_text(const std::filesystem::path& file);
}  // namespace adbench::pointcloud::detail
