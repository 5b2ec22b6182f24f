// safetensors header validation: JSON parsed by nlohmann (iteratively, no recursion), every
// field checked by type, every size checked with overflow-safe arithmetic before allocation.
#include "adbench/formats/safetensors_format.hpp"

#include <algorithm>
#include <cstring>

#include "adbench/core/error.hpp"
#include "adbench/formats/json_fields.hpp"

namespace adbench::formats {

namespace {

struct DtypeSize {
  const char* name;
  std::size_t size;
};
constexpr DtypeSize kDtypes[] = {{"F32", 4}, {"F64", 8}, {"F16", 2}, {"BF16", 2}, {"I64", 8},
                                 {"I32", 4}, {"I16", 2}, {"I8", 1},  {"U8", 1},   {"BOOL", 1}};

[[noreturn]] void fail(const std::string& name, const std::string& problem) {
  throw InputError(name + ": " + problem);
}

/// An unsigned JSON integer (a float such as 3.0, a negative number or anything else: nullopt).
bool as_uint(const nlohmann::json& j, std::uint64_t& out) {
  if (j.is_number_unsigned()) {
    out = j.get<std::uint64_t>();
    return true;
  }
  if (j.is_number_integer() && j.get<std::int64_t>() >= 0) {
    out = static_cast<std::uint64_t>(j.get<std::int64_t>());
    return true;
  }
  return false;
}

}  // namespace

std::size_t safetensors_itemsize(std::string_view dtype) {
  for (const auto& d : kDtypes)
    if (dtype == d.name) return d.size;
  return 0;
}

SafetensorsHeader parse_safetensors(std::string_view file, const std::string& name) {
  if (file.size() < 8) fail(name, "not a safetensors file (shorter than 8 bytes)");
  std::uint64_t header_len = 0;
  for (int i = 0; i < 8; ++i)
    header_len |= static_cast<std::uint64_t>(static_cast<unsigned char>(file[i])) << (8 * i);
  if (header_len > kSafetensorsMaxHeaderBytes)
    fail(name, "safetensors header of " + std::to_string(header_len) + " bytes, more than the " +
                   std::to_string(kSafetensorsMaxHeaderBytes) + " adbench (and safetensors) reads");
  if (header_len > file.size() - 8) fail(name, "not a safetensors file (header length past the end)");
  const nlohmann::json header = parse_json(file.substr(8, header_len), name);
  if (!header.is_object()) fail(name, "safetensors header is " + json_kind(header) + ", expected an object");

  SafetensorsHeader out;
  out.data_offset = 8 + header_len;
  const std::uint64_t data_size = file.size() - out.data_offset;
  for (const auto& [key, entry] : header.items()) {
    const std::string what = "tensor '" + excerpt(key) + "'";
    if (key == "__metadata__") {
      if (!entry.is_object())
        fail(name, "'__metadata__' is " + json_kind(entry) + ", expected an object of strings");
      for (const auto& [k, v] : entry.items()) {
        if (!v.is_string())
          fail(name, "'__metadata__' key '" + excerpt(k) + "': expected a string, got " + json_kind(v));
        out.metadata[k] = v.get<std::string>();
      }
      continue;
    }
    if (!entry.is_object()) fail(name, what + " is " + json_kind(entry) + ", expected an object");
    SafetensorsEntry e;
    e.name = key;
    e.dtype = json_require<std::string>(entry, "dtype", name + ": " + what);
    e.itemsize = safetensors_itemsize(e.dtype);
    if (e.itemsize == 0) fail(name, what + " has unsupported dtype '" + excerpt(e.dtype, 20) + "'");
    const auto shape_it = entry.find("shape");
    if (shape_it == entry.end()) fail(name, what + ": key 'shape' is missing");
    const nlohmann::json& shape = *shape_it;
    if (!shape.is_array())
      fail(name, what + ": 'shape' is " + json_kind(shape) + ", expected a list of integers >= 0");
    std::uint64_t nbytes = e.itemsize;
    bool overflow = false, zero = false;
    for (const auto& d : shape) {
      std::uint64_t v = 0;
      if (!as_uint(d, v) || v > static_cast<std::uint64_t>(INT64_MAX))
        fail(name, what + " has shape entry " + (d.is_number() ? excerpt(d.dump(), 30) : json_kind(d)) +
                       " (expected integers >= 0)");
      if (e.shape.size() >= 64) fail(name, what + " has more than 64 dimensions");
      e.shape.push_back(static_cast<std::int64_t>(v));
      zero = zero || v == 0;
      overflow = overflow || __builtin_mul_overflow(nbytes, v, &nbytes);
    }
    if (zero) nbytes = 0, overflow = false;
    const auto offsets_it = entry.find("data_offsets");
    if (offsets_it == entry.end()) fail(name, what + ": key 'data_offsets' is missing");
    const nlohmann::json& offsets = *offsets_it;
    if (!offsets.is_array() || offsets.size() != 2 || !as_uint(offsets[0], e.begin) ||
        !as_uint(offsets[1], e.end))
      fail(name, what + ": 'data_offsets' must be two integers [begin, end]");
    if (e.begin > e.end || e.end > data_size)
      fail(name, what + " has data offsets [" + std::to_string(e.begin) + ", " + std::to_string(e.end) +
                     "] outside the file's " + std::to_string(data_size) + " data bytes");
    if (overflow || nbytes != e.end - e.begin)
      fail(name, what + " has " + std::to_string(e.end - e.begin) + " bytes of data, its shape needs " +
                     (overflow ? std::string("more than 2^64") : std::to_string(nbytes)));
    out.tensors.push_back(std::move(e));
  }
  // No two tensors may share bytes.
  std::vector<const SafetensorsEntry*> by_offset;
  for (const auto& e : out.tensors)
    if (e.end > e.begin) by_offset.push_back(&e);
  std::sort(by_offset.begin(), by_offset.end(), [](auto* a, auto* b) { return a->begin < b->begin; });
  for (std::size_t i = 1; i < by_offset.size(); ++i)
    if (by_offset[i]->begin < by_offset[i - 1]->end)
      fail(name, "tensor '" + excerpt(by_offset[i]->name) + "' overlaps tensor '" +
                     excerpt(by_offset[i - 1]->name) + "' in the data section");
  return out;
}

}  // namespace adbench::formats
