// Image dimensions from PNG, JPEG, BMP and TIFF headers.
#include "adbench/formats/image_header.hpp"

#include <cstring>

namespace adbench::formats {

namespace {
std::uint32_t be32(const unsigned char* p) {
  return (std::uint32_t(p[0]) << 24) | (std::uint32_t(p[1]) << 16) | (std::uint32_t(p[2]) << 8) | p[3];
}
std::uint32_t le32(const unsigned char* p) {
  return p[0] | (std::uint32_t(p[1]) << 8) | (std::uint32_t(p[2]) << 16) | (std::uint32_t(p[3]) << 24);
}
std::uint16_t be16(const unsigned char* p) { return static_cast<std::uint16_t>((p[0] << 8) | p[1]); }
std::uint16_t le16(const unsigned char* p) { return static_cast<std::uint16_t>(p[0] | (p[1] << 8)); }

ImageHeaderSize tiff_size(const unsigned char* d, std::size_t n) {
  const bool le = d[0] == 'I';
  auto u16 = [&](std::size_t o) { return le ? le16(d + o) : be16(d + o); };
  auto u32 = [&](std::size_t o) { return le ? le32(d + o) : be32(d + o); };
  const std::size_t ifd = u32(4);
  if (ifd > n || n - ifd < 2) return {};
  const std::size_t entries = u16(ifd);
  ImageHeaderSize s;
  for (std::size_t i = 0; i < entries; ++i) {
    const std::size_t e = ifd + 2 + 12 * i;
    if (e > n || n - e < 12) return {};
    const unsigned tag = u16(e), type = u16(e + 2);
    if (tag != 256 && tag != 257) continue;
    std::int64_t v = 0;
    if (type == 3)
      v = u16(e + 8);  // SHORT
    else if (type == 4)
      v = u32(e + 8);  // LONG
    else
      return {};
    (tag == 256 ? s.width : s.height) = v;
  }
  return s;
}

ImageHeaderSize jpeg_size(const unsigned char* d, std::size_t n) {
  std::size_t i = 2;
  for (;;) {
    if (i >= n || d[i] != 0xFF) return {};
    while (i < n && d[i] == 0xFF) ++i;  // fill bytes
    if (i >= n) return {};
    const unsigned marker = d[i++];
    if (marker == 0xD8 || (marker >= 0xD0 && marker <= 0xD7) || marker == 0x01) continue;  // no length
    if (n - i < 2) return {};
    const std::size_t seg = be16(d + i);
    const bool sof = marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC;
    if (sof) {
      if (n - i < 7) return {};
      return {be16(d + i + 5), be16(d + i + 3)};  // precision, height, width
    }
    if (seg < 2) return {};
    i += seg;
  }
}
}  // namespace

ImageHeaderSize image_header_size(std::string_view bytes) {
  const auto* d = reinterpret_cast<const unsigned char*>(bytes.data());
  const std::size_t n = bytes.size();
  if (n >= 24 && std::memcmp(d, "\x89PNG\r\n\x1a\n", 8) == 0 && std::memcmp(d + 12, "IHDR", 4) == 0)
    return {be32(d + 16), be32(d + 20)};
  if (n >= 26 && d[0] == 'B' && d[1] == 'M') {
    const std::uint32_t dib = le32(d + 14);
    if (dib == 12) return {le16(d + 18), le16(d + 20)};
    if (dib >= 40) {
      const auto w = static_cast<std::int32_t>(le32(d + 18)), h = static_cast<std::int32_t>(le32(d + 22));
      return {w, h < 0 ? -static_cast<std::int64_t>(h) : h};
    }
    return {};
  }
  if (n >= 4 && d[0] == 0xFF && d[1] == 0xD8) return jpeg_size(d, n);
  if (n >= 8 && ((d[0] == 'I' && d[1] == 'I' && d[2] == 42 && d[3] == 0) ||
                 (d[0] == 'M' && d[1] == 'M' && d[2] == 0 && d[3] == 42)))
    return tiff_size(d, n);
  return {};
}

}  // namespace adbench::formats
