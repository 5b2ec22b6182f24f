#pragma once
// NumPy .npy files (format versions 1-3, C order). Read: every numeric dtype in either byte order
// (bool, int8..int64, uint8..uint64, float16..float64); uint16 and uint32 widen to int32 and int64,
// uint64 reads as int64 (a value above 2^63 - 1 is an error). Written: float32, float64, uint8,
// bool, int32, int64.
#include <ATen/ATen.h>

#include <filesystem>

namespace adbench {

/// Reads a .npy file into a CPU tensor. InputError naming the file for a bad or oversized header,
/// Fortran order, a dtype that is not numeric, a negative dimension, a size that disagrees
/// with the file (truncated, or trailing bytes) — checked before allocating (formats::parse_npy_header).
/// Zero-size arrays such as (0, 224) are valid .npy files and are returned empty; the score-map
/// readers refuse them.
at::Tensor read_npy(const std::filesystem::path& path);

/// Writes a CPU tensor as .npy (version 1.0).
void write_npy(const std::filesystem::path& path, const at::Tensor& tensor);

}  // namespace adbench
