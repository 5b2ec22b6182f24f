#pragma once
// PCD (Point Cloud Library) files: the header and all three body encodings (ascii, binary,
// binary_compressed with LZF), read by adbench itself from bytes in memory. Every header field is
// checked; sizes are checked against the file before anything is allocated; ascii rows must parse
// completely. Only x, y and z are kept (as float32).
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace adbench::formats {

struct PcdHeader {
  std::vector<std::string> fields;
  std::vector<int> sizes, counts;
  std::vector<char> types;  ///< 'F', 'I' or 'U'
  std::int64_t width = -1, height = 1, points = -1;
  std::string data;                  ///< ascii, binary or binary_compressed
  std::size_t body_offset = 0;       ///< first byte after the DATA line
  int x = -1, y = -1, z = -1;        ///< field index of each axis
  std::int64_t point_bytes() const;  ///< bytes per point in a binary body
  std::int64_t elements() const;     ///< values per point in an ascii row
};

/// Largest number of header lines before DATA (a real header has about ten).
inline constexpr int kPcdMaxHeaderLines = 1000;

/// Parses the header at the start of `bytes`. InputError "<name>: ..." for: no DATA line, an
/// unknown or repeated keyword, a value that is not a whole integer, FIELDS/SIZE/TYPE/COUNT of
/// different lengths, a SIZE that is not 1, 2, 4 or 8, a TYPE that is not F, I or U (F with
/// SIZE 4 or 8), a COUNT < 1, WIDTH/HEIGHT/POINTS < 0 or disagreeing, a VIEWPOINT that is not
/// 7 numbers, a missing or unreadable x, y or z field, an unknown DATA encoding.
PcdHeader parse_pcd_header(std::string_view bytes, const std::string& name);

/// Parses a whole PCD file: header and body. Returns x y z of every point, float32, row-major
/// [points x 3]. InputError "<name>: ..." for a truncated body, trailing rows, an ascii row whose
/// value count or any value is wrong ("line L: ..."), a corrupt LZF stream or sizes that disagree.
std::vector<float> parse_pcd(std::string_view bytes, const std::string& name, PcdHeader* header = nullptr);

/// LZF decompression (the PCD binary_compressed codec) into exactly `out_size` bytes. Returns
/// false for a corrupt stream (a back reference before the start, a run past either end, or an
/// output of another size).
bool lzf_decompress(std::string_view in, std::string& out, std::size_t out_size);

}  // namespace adbench::formats
