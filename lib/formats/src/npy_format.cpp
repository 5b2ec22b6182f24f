// .npy header parser: a small hand-written, non-recursive reader of the Python dict literal.
#include "adbench/formats/npy_format.hpp"

#include <cstring>
#include <limits>

#include "adbench/core/error.hpp"

namespace adbench::formats {

namespace {

/// The numeric dtypes: kind (b bool, i signed, u unsigned, f float) and item size. One-byte types
/// are written '|' by NumPy ('<' and '>' are accepted too); wider ones '<' or '>' (byte order).
bool numeric_dtype(std::string_view descr, std::size_t& itemsize, bool& big_endian) {
  if (descr.size() != 3) return false;
  const char order = descr[0], kind = descr[1], size = descr[2];
  if (order != '<' && order != '>' && order != '|') return false;
  std::size_t n = 0;
  if (kind == 'b' && size == '1') n = 1;
  if ((kind == 'i' || kind == 'u') && (size == '1' || size == '2' || size == '4' || size == '8'))
    n = static_cast<std::size_t>(size - '0');
  if (kind == 'f' && (size == '2' || size == '4' || size == '8')) n = static_cast<std::size_t>(size - '0');
  if (n == 0 || (order == '|' && n != 1)) return false;
  itemsize = n;
  big_endian = order == '>' && n > 1;
  return true;
}

[[noreturn]] void fail(const std::string& name, const std::string& problem) {
  throw InputError(name + ": " + problem);
}

/// Cursor over the header text; every method fails with a message naming the file.
class DictReader {
 public:
  DictReader(std::string_view text, const std::string& name) : s_(text), name_(name) {}

  void skip_ws() {
    while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\t' || s_[i_] == '\n' || s_[i_] == '\r')) ++i_;
  }
  bool peek(char c) {
    skip_ws();
    return i_ < s_.size() && s_[i_] == c;
  }
  void expect(char c, const char* what) {
    if (!peek(c)) bad(std::string("expected ") + what);
    ++i_;
  }
  bool at_end() {
    skip_ws();
    return i_ >= s_.size();
  }
  std::string string_literal() {
    skip_ws();
    if (i_ >= s_.size() || (s_[i_] != '\'' && s_[i_] != '"')) bad("expected a quoted string");
    const char q = s_[i_++];
    const std::size_t start = i_;
    while (i_ < s_.size() && s_[i_] != q) {
      if (s_[i_] == '\\') bad("escape sequences are not supported in strings");
      ++i_;
    }
    if (i_ >= s_.size()) bad("unterminated string");
    return std::string(s_.substr(start, i_++ - start));
  }
  std::string word() {
    skip_ws();
    const std::size_t start = i_;
    while (i_ < s_.size() && ((s_[i_] >= 'A' && s_[i_] <= 'Z') || (s_[i_] >= 'a' && s_[i_] <= 'z'))) ++i_;
    return std::string(s_.substr(start, i_ - start));
  }
  /// A dimension: decimal digits (a Python 2 'L' suffix allowed), at most int64's maximum.
  std::int64_t dimension() {
    skip_ws();
    if (i_ < s_.size() && s_[i_] == '-') bad("negative dimension in 'shape'");
    if (i_ >= s_.size() || s_[i_] < '0' || s_[i_] > '9') bad("expected an integer in 'shape'");
    std::uint64_t v = 0;
    const std::size_t start = i_;
    while (i_ < s_.size() && s_[i_] >= '0' && s_[i_] <= '9') {
      const unsigned d = static_cast<unsigned>(s_[i_++] - '0');
      if (v > (static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()) - d) / 10) {
        i_ = start;
        bad("dimension in 'shape' is larger than int64 allows");
      }
      v = v * 10 + d;
    }
    if (i_ < s_.size() && s_[i_] == 'L') ++i_;
    return static_cast<std::int64_t>(v);
  }
  [[noreturn]] void bad(const std::string& what) {
    fail(name_, "bad .npy header (" + what + " at byte " + std::to_string(i_) + " of the header)");
  }

 private:
  std::string_view s_;
  const std::string& name_;
  std::size_t i_ = 0;
};

}  // namespace

std::string npy_shape_string(const std::vector<std::int64_t>& shape) {
  std::string s = "(";
  for (std::size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + (shape.size() == 1 ? ",)" : ")");
}

NpyHeader parse_npy_header(std::string_view bytes, std::uint64_t file_size, const std::string& name) {
  if (bytes.size() < 8 || std::memcmp(bytes.data(), "\x93NUMPY", 6) != 0)
    fail(name, "not a .npy file (bad magic)");
  const auto major = static_cast<unsigned char>(bytes[6]);
  std::uint64_t header_len = 0;
  std::size_t len_bytes = 0;
  if (major == 1) {
    len_bytes = 2;
  } else if (major == 2 || major == 3) {
    len_bytes = 4;
  } else {
    fail(name, "unsupported .npy version " + std::to_string(major) + " (expected 1, 2 or 3)");
  }
  if (bytes.size() < 8 + len_bytes) fail(name, "truncated .npy header");
  for (std::size_t i = 0; i < len_bytes; ++i)
    header_len |= static_cast<std::uint64_t>(static_cast<unsigned char>(bytes[8 + i])) << (8 * i);
  if (header_len > kNpyMaxHeaderBytes)
    fail(name, ".npy header of " + std::to_string(header_len) + " bytes, more than the " +
                   std::to_string(kNpyMaxHeaderBytes) + " adbench (and NumPy) reads");
  const std::uint64_t data_offset = 8 + len_bytes + header_len;
  if (bytes.size() < data_offset || file_size < data_offset) fail(name, "truncated .npy header");
  const std::string_view text = bytes.substr(8 + len_bytes, header_len);

  NpyHeader h;
  h.data_offset = data_offset;
  bool have_descr = false, have_order = false, have_shape = false;
  DictReader r(text, name);
  r.expect('{', "'{'");
  while (!r.peek('}')) {
    const std::string key = r.string_literal();
    r.expect(':', "':' after a key");
    if (key == "descr") {
      if (have_descr) r.bad("repeated key 'descr'");
      h.descr = r.string_literal();
      have_descr = true;
    } else if (key == "fortran_order") {
      if (have_order) r.bad("repeated key 'fortran_order'");
      const std::string w = r.word();
      if (w == "True") fail(name, "Fortran-order .npy arrays are not supported");
      if (w != "False") r.bad("'fortran_order' must be True or False");
      have_order = true;
    } else if (key == "shape") {
      if (have_shape) r.bad("repeated key 'shape'");
      r.expect('(', "'(' to open 'shape'");
      while (!r.peek(')')) {
        if (h.shape.size() >= 64) r.bad("more than 64 dimensions in 'shape'");
        h.shape.push_back(r.dimension());
        if (!r.peek(',')) break;
        r.expect(',', "','");
      }
      r.expect(')', "')' to close 'shape'");
      have_shape = true;
    } else {
      r.bad("unknown key '" + excerpt(key, 40) + "'");
    }
    if (!r.peek(',')) break;
    r.expect(',', "','");
  }
  r.expect('}', "'}'");
  if (!r.at_end()) r.bad("unexpected text after '}'");
  if (!have_descr) fail(name, "bad .npy header (no 'descr')");
  if (!have_order) fail(name, "bad .npy header (no 'fortran_order')");
  if (!have_shape) fail(name, "bad .npy header (no 'shape')");

  if (!numeric_dtype(h.descr, h.itemsize, h.big_endian))
    fail(name, "unsupported .npy dtype '" + excerpt(h.descr, 40) +
                   "' (expected a numeric one: bool, int8..int64, uint8..uint64, float16..float64)");

  // numel * itemsize without overflow, then against what the file holds after the header.
  std::uint64_t bytes_needed = h.itemsize;
  bool overflow = false;
  for (auto d : h.shape)
    overflow = overflow || __builtin_mul_overflow(bytes_needed, static_cast<std::uint64_t>(d), &bytes_needed);
  // Any zero dimension makes the array empty, whatever the others say.
  for (auto d : h.shape)
    if (d == 0) overflow = false, bytes_needed = 0;
  const std::uint64_t available = file_size - data_offset;
  if (overflow)
    fail(name, "shape " + npy_shape_string(h.shape) + " of " + h.descr +
                   " needs more than 2^64 bytes; the file has " + std::to_string(available) +
                   " bytes of data");
  if (bytes_needed > available)
    fail(name, "truncated .npy data: shape " + npy_shape_string(h.shape) + " of " + h.descr + " needs " +
                   std::to_string(bytes_needed) + " bytes, the file has " + std::to_string(available));
  if (bytes_needed < available)
    fail(name, std::to_string(available - bytes_needed) + " bytes after the .npy data (shape " +
                   npy_shape_string(h.shape) + " of " + h.descr + " needs " + std::to_string(bytes_needed) +
                   ")");
  h.data_bytes = bytes_needed;
  return h;
}

}  // namespace adbench::formats
