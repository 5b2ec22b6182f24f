// PCD: header and the ascii, binary and binary_compressed (LZF) bodies.
#include "adbench/formats/pcd_format.hpp"
#include "fuzz_common.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  return fuzz_one(data, size, [](std::string_view b) {
    adbench::formats::PcdHeader h;
    auto xyz = adbench::formats::parse_pcd(b, "fuzz.pcd", &h);
    if (xyz.size() != static_cast<std::size_t>(h.points) * 3) __builtin_trap();  // every point read, no more
  });
}
