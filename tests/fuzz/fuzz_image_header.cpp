// Image sizes from PNG, JPEG, BMP and TIFF headers (the decompression-bomb check before decoding).
#include "adbench/formats/image_header.hpp"
#include "fuzz_common.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  return fuzz_one(data, size, [](std::string_view b) { adbench::formats::image_header_size(b); });
}
