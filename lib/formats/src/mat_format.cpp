// MATLAB v5 .mat reader: a bounds-checked walk over data elements (tag = type + byte count, data
// padded to 8 bytes; or the small format, type and count in one 4-byte word and up to 4 data bytes).
#include "adbench/formats/mat_format.hpp"

#include <zlib.h>

#include <cstdint>
#include <cstring>

#include "adbench/core/error.hpp"

namespace adbench::formats {

namespace {

// Data element types (mi*) and array classes (mx*) of the MAT-file format.
enum : std::uint32_t {
  miINT8 = 1,
  miUINT8 = 2,
  miINT16 = 3,
  miUINT16 = 4,
  miINT32 = 5,
  miUINT32 = 6,
  miSINGLE = 7,
  miDOUBLE = 9,
  miINT64 = 12,
  miUINT64 = 13,
  miMATRIX = 14,
  miCOMPRESSED = 15,
  miUTF8 = 16,
  miUTF16 = 17,
  miUTF32 = 18,
};

enum : unsigned {
  mxCELL = 1,
  mxSTRUCT = 2,
  mxOBJECT = 3,
  mxCHAR = 4,
  mxSPARSE = 5,
  mxDOUBLE = 6,
  mxSINGLE = 7,
  mxINT8 = 8,
  mxUINT8 = 9,
  mxINT16 = 10,
  mxUINT16 = 11,
  mxINT32 = 12,
  mxUINT32 = 13,
  mxINT64 = 14,
  mxUINT64 = 15,
  mxFUNCTION = 16,
  mxOPAQUE = 17,
};

const char* class_name_of(unsigned cls) {
  static const char* kNames[] = {
      "",      "cell",  "struct", "object", "char",   "sparse", "double", "single",          "int8",
      "uint8", "int16", "uint16", "int32",  "uint32", "int64",  "uint64", "function_handle", "opaque"};
  return cls < sizeof kNames / sizeof kNames[0] ? kNames[cls] : "";
}

/// Bytes per value of a numeric data element type; 0 for the others.
std::size_t value_size(std::uint32_t type) {
  switch (type) {
    case miINT8:
    case miUINT8:
    case miUTF8:
      return 1;
    case miINT16:
    case miUINT16:
    case miUTF16:
      return 2;
    case miINT32:
    case miUINT32:
    case miSINGLE:
    case miUTF32:
      return 4;
    case miDOUBLE:
    case miINT64:
    case miUINT64:
      return 8;
    default:
      return 0;
  }
}

[[noreturn]] void fail(const std::string& name, const std::string& problem) {
  throw InputError(name + ": " + problem);
}

struct Element {
  std::uint32_t type = 0;
  std::string_view data;
  std::size_t offset = 0;  ///< of the tag, in the buffer being read
};

/// Reads data elements from one buffer: the file after its header, a decompressed variable, or the
/// contents of an miMATRIX element.
class Reader {
 public:
  Reader(std::string_view buf, std::size_t base, bool swap, const std::string& name, std::string where)
      : buf_(buf), base_(base), swap_(swap), name_(name), where_(std::move(where)) {}

  bool at_end() const { return pos_ >= buf_.size(); }

  std::uint32_t u32(std::size_t at) const {
    std::uint32_t v;
    std::memcpy(&v, buf_.data() + at, 4);
    return swap_ ? __builtin_bswap32(v) : v;
  }

  /// The next element. `pad`: whether data is padded to 8 bytes (every element but miCOMPRESSED).
  Element next(const char* what) {
    if (buf_.size() - pos_ < 8) bad(std::string("truncated tag of ") + what, pos_);
    Element e;
    e.offset = pos_;
    const std::uint32_t w = u32(pos_);
    if ((w >> 16) != 0) {  // small data element: count in the upper, type in the lower 16 bits
      const std::uint32_t n = w >> 16;
      e.type = w & 0xffff;
      if (n > 4) bad("small data element of " + std::to_string(n) + " bytes (at most 4)", pos_);
      e.data = buf_.substr(pos_ + 4, n);
      pos_ += 8;
      return e;
    }
    e.type = w;
    const std::uint64_t n = u32(pos_ + 4);
    if (n > buf_.size() - pos_ - 8)
      bad(std::string("truncated ") + what + ": " + std::to_string(n) + " bytes announced, " +
              std::to_string(buf_.size() - pos_ - 8) + " present",
          pos_);
    e.data = buf_.substr(pos_ + 8, static_cast<std::size_t>(n));
    std::uint64_t end = pos_ + 8 + n;
    if (e.type != miCOMPRESSED) end = (end + 7) / 8 * 8;  // padding; a last element may lack it
    pos_ = static_cast<std::size_t>(std::min<std::uint64_t>(end, buf_.size()));
    return e;
  }

  [[noreturn]] void bad(const std::string& what, std::size_t at) const {
    fail(name_, "bad MATLAB v5 data (" + what + " at byte " + std::to_string(base_ + at) + where_ + ")");
  }

  std::size_t base() const { return base_; }
  bool swap() const { return swap_; }
  const std::string& name() const { return name_; }
  const std::string& where() const { return where_; }

 private:
  std::string_view buf_;
  std::size_t base_;  ///< offset of buf_ in what error messages count
  bool swap_;
  const std::string& name_;
  std::string where_;  ///< " of the compressed variable at byte N" or ""
  std::size_t pos_ = 0;
};

/// The values of a numeric data element (any mi type), converted to double.
std::vector<double> read_values(const Element& e, bool swap, const Reader& r, std::int64_t expected,
                                const char* what) {
  const std::size_t vs = value_size(e.type);
  if (vs == 0) r.bad(std::string(what) + " of data type " + std::to_string(e.type), e.offset);
  if (e.data.size() % vs != 0 ||
      static_cast<std::uint64_t>(e.data.size() / vs) != static_cast<std::uint64_t>(expected))
    r.bad(std::string(what) + " holds " + std::to_string(e.data.size()) + " bytes, " +
              std::to_string(expected) + " values of " + std::to_string(vs) + " bytes expected",
          e.offset);
  std::vector<double> out(static_cast<std::size_t>(expected));
  const char* p = e.data.data();
  for (std::size_t i = 0; i < out.size(); ++i, p += vs) {
    unsigned char b[8];
    std::memcpy(b, p, vs);
    if (swap)
      for (std::size_t k = 0; k < vs / 2; ++k) std::swap(b[k], b[vs - 1 - k]);
    double v = 0;
    switch (e.type) {
      case miINT8:
        v = static_cast<std::int8_t>(b[0]);
        break;
      case miUINT8:
      case miUTF8:
        v = b[0];
        break;
      case miINT16: {
        std::int16_t x;
        std::memcpy(&x, b, 2);
        v = x;
        break;
      }
      case miUINT16:
      case miUTF16: {
        std::uint16_t x;
        std::memcpy(&x, b, 2);
        v = x;
        break;
      }
      case miINT32: {
        std::int32_t x;
        std::memcpy(&x, b, 4);
        v = x;
        break;
      }
      case miUINT32:
      case miUTF32: {
        std::uint32_t x;
        std::memcpy(&x, b, 4);
        v = x;
        break;
      }
      case miSINGLE: {
        float x;
        std::memcpy(&x, b, 4);
        v = x;
        break;
      }
      case miDOUBLE: {
        std::memcpy(&v, b, 8);
        break;
      }
      case miINT64: {
        std::int64_t x;
        std::memcpy(&x, b, 8);
        v = static_cast<double>(x);
        break;
      }
      case miUINT64: {
        std::uint64_t x;
        std::memcpy(&x, b, 8);
        v = static_cast<double>(x);
        break;
      }
    }
    out[i] = v;
  }
  return out;
}

/// Parses the contents of an miMATRIX element. `name_out`: its array name.
MatArray parse_matrix(const Element& m, const Reader& parent, int depth, std::string* name_out) {
  if (depth > kMatMaxDepth)
    parent.bad("cell arrays nested more than " + std::to_string(kMatMaxDepth) + " deep", m.offset);
  MatArray a;
  // An empty miMATRIX is an empty 0x0 double (writers use it for empty cells).
  if (m.data.empty()) {
    a.class_name = "double";
    a.dims = {0, 0};
    return a;
  }
  Reader r(m.data, parent.base() + m.offset + 8, parent.swap(), parent.name(), parent.where());

  const Element flags = r.next("array flags");
  if (flags.type != miUINT32 || flags.data.size() != 8)
    r.bad("array flags are not 2 uint32 values", flags.offset);
  std::uint32_t f;
  std::memcpy(&f, flags.data.data(), 4);
  if (parent.swap()) f = __builtin_bswap32(f);
  const unsigned cls = f & 0xff;
  const bool is_complex = (f & 0x800) != 0, is_logical = (f & 0x200) != 0;
  a.class_name = class_name_of(cls);
  if (a.class_name.empty()) r.bad("unknown array class " + std::to_string(cls), flags.offset);
  a.complex = is_complex;

  // Function handles and opaque objects have no dimensions element: skip them here.
  if (cls == mxFUNCTION || cls == mxOPAQUE) {
    a.kind = MatArray::Kind::Unsupported;
    return a;
  }
  const Element dims = r.next("dimensions");
  if (dims.type != miINT32 || dims.data.size() % 4 != 0 || dims.data.size() < 8)
    r.bad("dimensions are not 2 or more int32 values", dims.offset);
  std::uint64_t numel = 1;
  bool overflow = false;
  for (std::size_t i = 0; i < dims.data.size(); i += 4) {
    std::int32_t d;
    std::memcpy(&d, dims.data.data() + i, 4);
    if (parent.swap()) d = static_cast<std::int32_t>(__builtin_bswap32(static_cast<std::uint32_t>(d)));
    if (d < 0) r.bad("negative dimension " + std::to_string(d), dims.offset);
    a.dims.push_back(d);
    overflow = overflow || __builtin_mul_overflow(numel, static_cast<std::uint64_t>(d), &numel);
  }
  for (auto d : a.dims)
    if (d == 0) overflow = false, numel = 0;
  if (overflow || numel > m.data.size() * 8)
    r.bad("dimensions of " + mat_describe(a) + " larger than the data", dims.offset);

  const Element aname = r.next("array name");
  if (aname.type != miINT8 && aname.type != miUINT8 && aname.type != miUTF8)
    r.bad("array name of data type " + std::to_string(aname.type), aname.offset);
  if (name_out) *name_out = std::string(aname.data);

  if (cls == mxCELL) {
    a.kind = MatArray::Kind::Cell;
    // Every cell is an element of at least 8 bytes: checked before reserving.
    if (numel > m.data.size() / 8)
      r.bad(mat_describe(a) + " has more cells than the data holds", dims.offset);
    a.cells.reserve(static_cast<std::size_t>(numel));
    for (std::uint64_t i = 0; i < numel; ++i) {
      const Element c = r.next("cell");
      if (c.type != miMATRIX)
        r.bad("cell of data type " + std::to_string(c.type) + " (expected miMATRIX)", c.offset);
      a.cells.push_back(parse_matrix(c, r, depth + 1, nullptr));
    }
    return a;
  }
  if (cls == mxSTRUCT || cls == mxOBJECT || cls == mxSPARSE) {
    a.kind = MatArray::Kind::Unsupported;
    return a;
  }
  a.kind = cls == mxCHAR ? MatArray::Kind::Char
           : is_logical  ? MatArray::Kind::Logical
                         : MatArray::Kind::Numeric;
  if (a.kind == MatArray::Kind::Logical) a.class_name = "logical";
  if (numel == 0 && r.at_end()) return a;  // some writers omit the data of empty arrays
  const Element re = r.next("real part");
  a.values = read_values(re, parent.swap(), r, static_cast<std::int64_t>(numel), "real part");
  if (is_complex)
    read_values(r.next("imaginary part"), parent.swap(), r, static_cast<std::int64_t>(numel),
                "imaginary part");
  return a;
}

/// Inflates one miCOMPRESSED element (a zlib stream) completely.
std::string inflate_element(const Element& e, const Reader& r) {
  std::string out;
  z_stream z{};
  if (inflateInit(&z) != Z_OK) throw InputError(r.name() + ": cannot start zlib");
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(e.data.data()));
  z.avail_in = static_cast<uInt>(e.data.size());
  int rc = Z_OK;
  char chunk[65536];
  while (rc != Z_STREAM_END) {
    z.next_out = reinterpret_cast<Bytef*>(chunk);
    z.avail_out = sizeof chunk;
    rc = inflate(&z, Z_NO_FLUSH);
    if (rc != Z_OK && rc != Z_STREAM_END) {
      const std::string msg = z.msg ? z.msg : "truncated stream";
      inflateEnd(&z);
      r.bad("corrupt compressed variable (zlib: " + msg + ")", e.offset);
    }
    out.append(chunk, sizeof chunk - z.avail_out);
    if (out.size() > kMatMaxDecompressedBytes) {
      inflateEnd(&z);
      r.bad("compressed variable that inflates to more than " + std::to_string(kMatMaxDecompressedBytes) +
                " bytes",
            e.offset);
    }
    if (rc == Z_OK && z.avail_in == 0 && z.avail_out != 0) {
      inflateEnd(&z);
      r.bad("corrupt compressed variable (zlib: truncated stream)", e.offset);
    }
  }
  inflateEnd(&z);
  return out;
}

}  // namespace

std::int64_t MatArray::numel() const {
  // 0 when any dimension is 0, even after huge ones (2147483647x2147483647x2147483647x0 is a valid
  // empty array); a product past int64 saturates instead of overflowing.
  for (auto d : dims)
    if (d == 0) return 0;
  std::int64_t n = 1;
  for (auto d : dims)
    if (__builtin_mul_overflow(n, static_cast<std::int64_t>(d), &n)) return INT64_MAX;
  return n;
}

std::string mat_describe(const MatArray& a) {
  std::string s;
  for (std::size_t i = 0; i < a.dims.size(); ++i) {
    if (i) s += 'x';
    s += std::to_string(a.dims[i]);
  }
  if (a.complex) s += " complex";
  return s + " " + a.class_name;
}

std::vector<MatVariable> parse_mat(std::string_view bytes, const std::string& name) {
  static const char kHdf5[] = "\x89HDF\r\n\x1a\n";
  if ((bytes.size() >= 520 && bytes.compare(512, 8, std::string_view(kHdf5, 8)) == 0) ||
      bytes.substr(0, 10) == "MATLAB 7.3")
    fail(name, "MATLAB v7.3 .mat file (HDF5), which adbench does not read (save it with -v7)");
  if (bytes.size() < 128) fail(name, "not a MATLAB v5 .mat file (shorter than its 128-byte header)");
  const std::string_view endian = bytes.substr(126, 2);
  bool swap = false;
  if (endian == "IM")
    swap = false;
  else if (endian == "MI")
    swap = true;
  else
    fail(name, "not a MATLAB v5 .mat file (no 'IM' or 'MI' byte-order mark at byte 126)");
  std::uint16_t version;
  std::memcpy(&version, bytes.data() + 124, 2);
  if (swap) version = __builtin_bswap16(version);
  if (version != 0x0100)
    fail(name,
         "not a MATLAB v5 .mat file (version " + std::to_string(version) + " at byte 124, expected 256)");

  std::vector<MatVariable> vars;
  Reader top(bytes.substr(128), 128, swap, name, "");
  while (!top.at_end()) {
    const Element e = top.next("variable");
    MatVariable v;
    if (e.type == miMATRIX) {
      v.array = parse_matrix(e, top, 0, &v.name);
    } else if (e.type == miCOMPRESSED) {
      const std::string raw = inflate_element(e, top);
      Reader inner(raw, 0, swap, name,
                   " of the compressed variable at byte " + std::to_string(top.base() + e.offset));
      const Element m = inner.next("variable");
      if (m.type != miMATRIX)
        inner.bad("variable of data type " + std::to_string(m.type) + " (expected miMATRIX)", m.offset);
      v.array = parse_matrix(m, inner, 0, &v.name);
    } else {
      top.bad("variable of data type " + std::to_string(e.type) + " (expected miMATRIX or miCOMPRESSED)",
              e.offset);
    }
    vars.push_back(std::move(v));
  }
  return vars;
}

std::vector<std::vector<double>> mat_label_vectors(const MatArray& a, const std::string& name,
                                                   const std::string& var) {
  auto numeric = [](const MatArray& x) {
    return x.kind == MatArray::Kind::Numeric || x.kind == MatArray::Kind::Logical;
  };
  auto is_vector = [](const MatArray& x) {
    int non_unit = 0;
    for (auto d : x.dims) non_unit += d != 1;
    return non_unit <= 1 || x.numel() == 0;
  };
  std::vector<std::vector<double>> out;
  if (a.kind == MatArray::Kind::Cell) {
    for (std::size_t i = 0; i < a.cells.size(); ++i) {
      const MatArray& c = a.cells[i];
      const std::string where = var + "{" + std::to_string(i + 1) + "}";
      if (!numeric(c) || !is_vector(c))
        fail(name, where + " is a " + mat_describe(c) + ", expected a numeric or logical vector");
      if (c.complex) fail(name, where + " is a " + mat_describe(c) + ", expected real values");
      out.push_back(c.values);
    }
    return out;
  }
  if (!numeric(a) || a.dims.size() != 2)
    fail(name, "'" + var + "' is a " + mat_describe(a) +
                   ", expected a cell array of label vectors or a matrix with one row per video");
  if (a.complex) fail(name, "'" + var + "' is a " + mat_describe(a) + ", expected real values");
  const auto rows = static_cast<std::size_t>(a.dims[0]), cols = static_cast<std::size_t>(a.dims[1]);
  if (a.values.empty()) return out;  // 0xN or Nx0: no vectors (and no N empty ones to allocate)
  out.assign(rows, std::vector<double>(cols));
  for (std::size_t c = 0; c < cols; ++c)
    for (std::size_t r = 0; r < rows; ++r) out[r][c] = a.values[c * rows + r];
  return out;
}

}  // namespace adbench::formats
