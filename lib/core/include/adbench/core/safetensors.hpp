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
  std::map<std::string, at::Tensor> tensors;    ///< CPU tensors (owning copies)
  std::map<std::string, std::string> metadata;  ///< the "__metadata__" object
};

/// Reads a .safetensors file. InputError naming the file (and the tensor or key) for a truncated
/// file, a header over 100 MB, invalid JSON, a negative or non-integer shape entry, overlapping or
/// out-of-range offsets, a byte size that disagrees with the shape, or an unsupported dtype; all
/// checked before allocating (formats::parse_safetensors).
SafeTensors read_safetensors(const std::filesystem::path& path);

/// Writes tensors (moved to CPU, contiguous) and metadata; the header is padded to 8 bytes.
void write_safetensors(const std::filesystem::path& path, const std::map<std::string, at::Tensor>& tensors,
                       const std::map<std::string, std::string>& metadata = {});

}  // namespace adbench
