#pragma once
// MATLAB v5 .mat files (what MATLAB's save -v6/-v7, Octave and scipy.io.savemat write), read from
// bytes in memory without MATLAB: the 128-byte header (either byte order), data elements in the
// long and the small format, miCOMPRESSED variables (zlib). Arrays of every numeric class, logical,
// char and cell arrays are read; structs, objects, sparse and function handles are recognised and
// skipped (their class is reported). v7.3 files are HDF5 and are refused as such. Every size is
// checked against the bytes present before anything is allocated.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace adbench::formats {

/// Largest decompressed size of one miCOMPRESSED variable (a zlib bomb is refused, not inflated).
inline constexpr std::uint64_t kMatMaxDecompressedBytes = std::uint64_t(1) << 30;
/// Deepest nesting of cell arrays read.
inline constexpr int kMatMaxDepth = 32;

struct MatArray {
  enum class Kind {
    Numeric,      ///< double, single, int8 ... uint64
    Logical,      ///< logical (stored as uint8 with the logical flag)
    Char,         ///< char: values are the code units
    Cell,         ///< cell array: `cells`
    Unsupported,  ///< struct, object, sparse, function handle, opaque: skipped, class_name says which
  };
  Kind kind = Kind::Numeric;
  std::string class_name;          ///< "double", "uint8", "logical", "char", "cell", "struct", ...
  std::vector<std::int64_t> dims;  ///< at least 2, each >= 0
  bool complex = false;            ///< the imaginary part is read and dropped
  std::vector<double> values;      ///< Numeric, Logical, Char: real part, column-major
  std::vector<MatArray> cells;     ///< Cell: column-major
  std::int64_t numel() const;      ///< product of dims (0 if any is 0; saturates at INT64_MAX)
};

struct MatVariable {
  std::string name;
  MatArray array;
};

/// Parses a whole v5 .mat file: its top-level variables in file order. InputError "<name>: ..." for
///  - a v7.3 file: "MATLAB v7.3 .mat file (HDF5), which adbench does not read (save it with -v7)";
///  - anything else without the v5 header: "not a MATLAB v5 .mat file (<why>)";
///  - bad data: "bad MATLAB v5 data (<what> at byte <offset>)" (offsets inside a compressed variable
///    are counted in its decompressed bytes and say so), a corrupt zlib stream, a variable that
///    decompresses to more than kMatMaxDecompressedBytes, cells nested deeper than kMatMaxDepth.
std::vector<MatVariable> parse_mat(std::string_view bytes, const std::string& name);

/// "1x3 double", "2x2 cell", "1x1 struct": how MATLAB's whos describes an array.
std::string mat_describe(const MatArray& array);

/// The label vectors a variable holds, one per video: a cell array gives one vector per cell
/// (column-major order), each cell a numeric or logical vector (1xN, Nx1 or empty); a numeric or
/// logical matrix gives one vector per row (what scipy.io.savemat writes for equal-length lists).
/// InputError "<name>: '<var>' is a 1x1 struct, expected a cell array of label vectors or a matrix
/// with one row per video", "<name>: <var>{3} is a 2x2 double, expected a vector", complex values.
std::vector<std::vector<double>> mat_label_vectors(const MatArray& array, const std::string& name,
                                                   const std::string& var);

}  // namespace adbench::formats
