// NPY header: magic, version, dict literal, shape arithmetic against the (fuzzed) file size.
#include "adbench/formats/npy_format.hpp"
#include "fuzz_common.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  return fuzz_one(data, size,
                  [](std::string_view b) { adbench::formats::parse_npy_header(b, b.size(), "fuzz.npy"); });
}
