#pragma once
// safetensors header: 8-byte little-endian length, then a JSON object {name: {dtype, shape,
// data_offsets}, "__metadata__": {str: str}}. Parsed and validated from bytes in memory: sizes
// are checked with overflow-safe arithmetic against the file before any tensor is allocated.
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace adbench::formats {

/// Largest header adbench reads: the safetensors library's own cap (100 MB).
inline constexpr std::uint64_t kSafetensorsMaxHeaderBytes = 100'000'000;

struct SafetensorsEntry {
  std::string name;
  std::string dtype;  ///< F32 F64 F16 BF16 I64 I32 I16 I8 U8 BOOL
  std::size_t itemsize = 0;
  std::vector<std::int64_t> shape;   ///< every dimension >= 0
  std::uint64_t begin = 0, end = 0;  ///< byte range inside the data section; end - begin = numel * itemsize
};

struct SafetensorsHeader {
  std::vector<SafetensorsEntry> tensors;  ///< in the header's (sorted) key order
  std::map<std::string, std::string> metadata;
  std::uint64_t data_offset = 0;  ///< 8 + header length
};

/// Parses `file` (the whole file's bytes). InputError "<name>: ..." naming the tensor or key for
/// a file shorter than 8 bytes, a header longer than the cap or the file, invalid JSON, a
/// non-object entry, an unknown dtype, a shape that is not a list of integers >= 0, offsets that
/// are not two integers inside the data or overlap another tensor's, a byte size that disagrees
/// with the shape, and metadata values that are not strings.
SafetensorsHeader parse_safetensors(std::string_view file, const std::string& name);

/// Size in bytes of one element of a safetensors dtype, 0 when unknown.
std::size_t safetensors_itemsize(std::string_view dtype);

}  // namespace adbench::formats
