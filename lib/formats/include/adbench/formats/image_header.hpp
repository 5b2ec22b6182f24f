#pragma once
// Image sizes read from the file header, without decoding pixels: PNG, JPEG, BMP and TIFF. Used
// to refuse decompression bombs (a small file that decodes to gigabytes) before OpenCV decodes.
#include <cstdint>
#include <string_view>

namespace adbench::formats {

struct ImageHeaderSize {
  std::int64_t width = 0, height = 0;
  bool known() const { return width > 0 && height > 0; }
};

/// Width and height from the first bytes of an image file (for JPEG, up to the first SOF marker;
/// for TIFF, the first IFD). Returns an unknown size (0 x 0) when the header is not understood.
ImageHeaderSize image_header_size(std::string_view bytes);

}  // namespace adbench::formats
