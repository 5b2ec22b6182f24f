// safetensors: header length, JSON header, dtypes, shapes, offsets, metadata.
#include "adbench/formats/safetensors_format.hpp"
#include "fuzz_common.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  return fuzz_one(data, size,
                  [](std::string_view b) { adbench::formats::parse_safetensors(b, "fuzz.safetensors"); });
}
