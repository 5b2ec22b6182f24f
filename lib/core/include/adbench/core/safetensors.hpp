#pragma once
// safetensors files, read and written by adbench itself: 8-byte little-endian header length, a
// JSON header {name: {dtype, shape, data_offsets}, "__metadata__": {str: str}}, then raw
// little-endian data. Reading memory-maps the file.
#include <ATen/ATen.h>

#include <filesystem>
#include <map>
#include <string>

namespace adbench {

struct SafeTensors {
  std::map<std::string, at::Tensor> tensors;        ///< CPU tensors (owning copies)
  std::map<std::string, std::string> metadata;      ///< the "__metadata__" object
};

/// Reads a .safetensors file. InputError naming the file for a truncated file, a bad header,
/// overlapping or out-of-range offsets, or an unsupported dtype.
SafeTensors read_safetensors(const std::filesystem::path& path);

/// Writes tensors (moved to CPU, contiguous) and metadata; the header is padded to 8 bytes.
void write_safetensors(const std::filesystem::path& path, const std::map<std::string, at::Tensor>& tensors,
                       const std::map<std::string, std::string>& metadata = {});

}  // namespace adbench
