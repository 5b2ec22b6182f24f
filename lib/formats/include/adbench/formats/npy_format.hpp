#pragma once
// NumPy .npy header (format versions 1-3), parsed without regular expressions: a hand-written
// reader of the Python dict literal {'descr': '<f4', 'fortran_order': False, 'shape': (H, W), }.
// Every size is checked against the file's actual size before anything is allocated.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace adbench::formats {

/// Largest header adbench reads, for every format version: NumPy's own default for np.load
/// (max_header_size=10000). A longer header is refused before it is parsed.
inline constexpr std::size_t kNpyMaxHeaderBytes = 10000;

struct NpyHeader {
  std::string descr;                ///< a numeric dtype: |b1, [<>|]i1/u1, [<>]i2..i8, u2..u8, f2..f8
  std::size_t itemsize = 0;         ///< bytes per element
  bool big_endian = false;          ///< '>' and wider than one byte: the reader swaps the bytes
  std::vector<std::int64_t> shape;  ///< every dimension >= 0; () is a scalar
  std::uint64_t data_offset = 0;    ///< where the data starts
  std::uint64_t data_bytes = 0;     ///< numel * itemsize, equal to file_size - data_offset
};

/// Parses the header at the start of `prefix` (the first bytes of a file of `file_size` bytes;
/// the whole file, or at least 10 + kNpyMaxHeaderBytes bytes of it). InputError "<name>: ..." for
/// a bad magic or version, an oversized, truncated or malformed header, a dtype that is not
/// numeric, Fortran order, a negative dimension or one beyond int64, a byte size that overflows,
/// and a data size different from what is left of the file (truncated, or trailing bytes after
/// the data).
NpyHeader parse_npy_header(std::string_view prefix, std::uint64_t file_size, const std::string& name);

/// "(3, 4)" / "(5,)" / "()" as NumPy prints shapes.
std::string npy_shape_string(const std::vector<std::int64_t>& shape);

}  // namespace adbench::formats
