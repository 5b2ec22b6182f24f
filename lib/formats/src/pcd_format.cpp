// PCD reader: header, ascii, binary and binary_compressed (LZF) bodies, all from bytes in memory.
#include "adbench/formats/pcd_format.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstring>
#include <set>

#include "adbench/core/error.hpp"
#include "adbench/core/path_util.hpp"

namespace adbench::formats {

namespace {

[[noreturn]] void fail(const std::string& name, const std::string& problem) {
  throw InputError(name + ": " + problem);
}

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f'; }

std::vector<std::string_view> split_ws(std::string_view line) {
  std::vector<std::string_view> out;
  std::size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && is_space(line[i])) ++i;
    const std::size_t b = i;
    while (i < line.size() && !is_space(line[i])) ++i;
    if (i > b) out.push_back(line.substr(b, i - b));
  }
  return out;
}

bool whole_int(std::string_view s, std::int64_t& v) {
  const char* b = s.data();
  const char* e = b + s.size();
  if (b != e && *b == '+') ++b;
  auto r = std::from_chars(b, e, v);
  return r.ec == std::errc() && r.ptr == e && b != e;
}

bool whole_double(std::string_view s, double& v) {
  const char* b = s.data();
  const char* e = b + s.size();
  if (b != e && *b == '+') ++b;
  auto r = std::from_chars(b, e, v);
  return r.ec == std::errc() && r.ptr == e && b != e;
}

std::string upper(std::string_view s) {
  std::string o(s);
  for (auto& c : o) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return o;
}

/// One value of a field from its little-endian bytes, as double.
double load_value(const unsigned char* p, char type, int size) {
  switch (type) {
    case 'F':
      if (size == 4) {
        float f;
        std::memcpy(&f, p, 4);
        return f;
      } else {
        double d;
        std::memcpy(&d, p, 8);
        return d;
      }
    case 'I':
      switch (size) {
        case 1:
          return static_cast<std::int8_t>(p[0]);
        case 2: {
          std::int16_t v;
          std::memcpy(&v, p, 2);
          return v;
        }
        case 4: {
          std::int32_t v;
          std::memcpy(&v, p, 4);
          return v;
        }
        default: {
          std::int64_t v;
          std::memcpy(&v, p, 8);
          return static_cast<double>(v);
        }
      }
    default:
      switch (size) {
        case 1:
          return p[0];
        case 2: {
          std::uint16_t v;
          std::memcpy(&v, p, 2);
          return v;
        }
        case 4: {
          std::uint32_t v;
          std::memcpy(&v, p, 4);
          return v;
        }
        default: {
          std::uint64_t v;
          std::memcpy(&v, p, 8);
          return static_cast<double>(v);
        }
      }
  }
}

}  // namespace

std::int64_t PcdHeader::point_bytes() const {
  std::int64_t b = 0;
  for (std::size_t i = 0; i < fields.size(); ++i) b += std::int64_t(sizes[i]) * counts[i];
  return b;
}

std::int64_t PcdHeader::elements() const {
  std::int64_t e = 0;
  for (int c : counts) e += c;
  return e;
}

PcdHeader parse_pcd_header(std::string_view bytes, const std::string& name) {
  PcdHeader h;
  std::set<std::string> seen;
  std::size_t pos = 0;
  int lineno = 0;
  bool have_data = false, have_width = false, have_points = false;
  while (pos < bytes.size() && !have_data) {
    std::size_t eol = bytes.find('\n', pos);
    if (eol == std::string_view::npos) eol = bytes.size();
    const std::string_view line = bytes.substr(pos, eol - pos);
    pos = eol < bytes.size() ? eol + 1 : eol;
    if (++lineno > kPcdMaxHeaderLines)
      fail(name, "PCD header has no DATA line in its first " + std::to_string(kPcdMaxHeaderLines) + " lines");
    const auto tok = split_ws(line);
    if (tok.empty() || tok[0][0] == '#') continue;
    const std::string key = upper(tok[0]);
    const std::string where = "PCD header line " + std::to_string(lineno) + ": ";
    if (!seen.insert(key == "COLUMNS" ? "FIELDS" : key).second) fail(name, where + "repeated " + key);
    const std::vector<std::string_view> vals(tok.begin() + 1, tok.end());
    auto ints = [&](std::int64_t lo, std::int64_t hi) {
      std::vector<std::int64_t> v;
      for (auto s : vals) {
        std::int64_t x = 0;
        if (!whole_int(s, x)) fail(name, where + key + " value '" + excerpt(s, 30) + "' is not an integer");
        if (x < lo || x > hi)
          fail(name, where + key + " value " + std::to_string(x) + " is outside [" + std::to_string(lo) +
                         ", " + std::to_string(hi) + "]");
        v.push_back(x);
      }
      return v;
    };
    auto one_int = [&](std::int64_t lo, std::int64_t hi) {
      if (vals.size() != 1) fail(name, where + key + " needs one value, got " + std::to_string(vals.size()));
      return ints(lo, hi)[0];
    };
    constexpr std::int64_t kMaxCount = 1 << 20, kMaxDim = std::int64_t(1) << 40;
    if (key == "VERSION") {
      // 0.5 .. 0.7 in the wild; the value changes nothing here.
    } else if (key == "FIELDS" || key == "COLUMNS") {
      if (vals.empty()) fail(name, where + "FIELDS has no names");
      for (auto v : vals) h.fields.emplace_back(v);
    } else if (key == "SIZE") {
      for (auto v : ints(1, 8)) {
        if (v != 1 && v != 2 && v != 4 && v != 8)
          fail(name, where + "SIZE " + std::to_string(v) + " (expected 1, 2, 4 or 8)");
        h.sizes.push_back(static_cast<int>(v));
      }
    } else if (key == "TYPE") {
      for (auto v : vals) {
        const std::string t = upper(v);
        if (t != "F" && t != "I" && t != "U")
          fail(name, where + "TYPE '" + excerpt(v, 10) + "' (expected F, I or U)");
        h.types.push_back(t[0]);
      }
    } else if (key == "COUNT") {
      for (auto v : ints(1, kMaxCount)) h.counts.push_back(static_cast<int>(v));
    } else if (key == "WIDTH") {
      h.width = one_int(0, kMaxDim);
      have_width = true;
    } else if (key == "HEIGHT") {
      h.height = one_int(0, kMaxDim);
    } else if (key == "POINTS") {
      h.points = one_int(0, kMaxDim);
      have_points = true;
    } else if (key == "VIEWPOINT") {
      if (vals.size() != 7)
        fail(name, where + "VIEWPOINT needs 7 numbers, got " + std::to_string(vals.size()));
      for (auto v : vals) {
        double d = 0;
        if (!whole_double(v, d) || !std::isfinite(d))
          fail(name, where + "VIEWPOINT value '" + excerpt(v, 30) + "' is not a finite number");
      }
    } else if (key == "DATA") {
      if (vals.size() != 1) fail(name, where + "DATA needs one value, got " + std::to_string(vals.size()));
      const std::string d = lower(vals[0]);
      if (d != "ascii" && d != "binary" && d != "binary_compressed")
        fail(name, "PCD DATA '" + excerpt(vals[0], 30) + "' is not ascii, binary or binary_compressed");
      h.data = d;
      have_data = true;
    } else {
      fail(name, where + "unknown keyword '" + excerpt(tok[0], 30) + "'");
    }
  }
  if (!have_data) fail(name, "PCD header has no DATA line");
  h.body_offset = pos;
  if (h.fields.empty()) fail(name, "PCD header has no FIELDS line");
  const std::size_t nf = h.fields.size();
  if (h.sizes.empty()) h.sizes.assign(nf, 4);
  if (h.types.empty()) h.types.assign(nf, 'F');
  if (h.counts.empty()) h.counts.assign(nf, 1);
  if (h.sizes.size() != nf || h.types.size() != nf || h.counts.size() != nf)
    fail(name, "PCD header: FIELDS, SIZE, TYPE and COUNT have different lengths (" + std::to_string(nf) +
                   ", " + std::to_string(h.sizes.size()) + ", " + std::to_string(h.types.size()) + ", " +
                   std::to_string(h.counts.size()) + ")");
  for (std::size_t i = 0; i < nf; ++i)
    if (h.types[i] == 'F' && h.sizes[i] != 4 && h.sizes[i] != 8)
      fail(name, "PCD field '" + excerpt(h.fields[i], 30) + "' has TYPE F SIZE " +
                     std::to_string(h.sizes[i]) + " (floats are SIZE 4 or 8)");
  if (have_width) {
    std::int64_t wh = 0;
    if (__builtin_mul_overflow(h.width, h.height, &wh)) fail(name, "PCD WIDTH x HEIGHT overflows");
    if (have_points && h.points != wh)
      fail(name, "PCD header: POINTS " + std::to_string(h.points) + " but WIDTH x HEIGHT is " +
                     std::to_string(h.width) + " x " + std::to_string(h.height));
    h.points = wh;
  }
  if (h.points < 0) fail(name, "PCD header has neither POINTS nor WIDTH");
  for (const char* axis : {"x", "y", "z"}) {
    auto it = std::find(h.fields.begin(), h.fields.end(), axis);
    if (it == h.fields.end()) {
      std::string all;
      for (const auto& f : h.fields) all += (all.empty() ? "" : " ") + f;
      fail(name, std::string("PCD has no field '") + axis + "' (FIELDS " + excerpt(all, 80) + ")");
    }
    if (std::find(it + 1, h.fields.end(), axis) != h.fields.end())
      fail(name, std::string("PCD has field '") + axis + "' twice");
    const int i = static_cast<int>(it - h.fields.begin());
    const char t = h.types[i];
    const int s = h.sizes[i], c = h.counts[i];
    const bool ok =
        c == 1 && ((t == 'F' && s == 4) || ((t == 'I' || t == 'U') && (s == 1 || s == 2 || s == 4)));
    if (!ok)
      fail(name, std::string("PCD field '") + axis + "' has TYPE " + t + " SIZE " + std::to_string(s) +
                     " COUNT " + std::to_string(c) +
                     ", which cannot be read (x, y and z must be F 4, I 1/2/4 or U 1/2/4 with COUNT 1)");
    (axis[0] == 'x' ? h.x : axis[0] == 'y' ? h.y : h.z) = i;
  }
  return h;
}

bool lzf_decompress(std::string_view in, std::string& out, std::size_t out_size) {
  out.assign(out_size, '\0');
  const auto* ip = reinterpret_cast<const unsigned char*>(in.data());
  const auto* const in_end = ip + in.size();
  std::size_t op = 0;
  while (ip < in_end) {
    unsigned ctrl = *ip++;
    if (ctrl < 32) {  // literal run of ctrl + 1 bytes
      const std::size_t n = ctrl + 1;
      if (static_cast<std::size_t>(in_end - ip) < n || out_size - op < n) return false;
      std::memcpy(&out[op], ip, n);
      ip += n;
      op += n;
    } else {  // back reference: length (ctrl >> 5) + 2, distance from the low bits and one more byte
      std::size_t len = ctrl >> 5;
      if (len == 7) {
        if (ip >= in_end) return false;
        len += *ip++;
      }
      len += 2;
      if (ip >= in_end) return false;
      const std::size_t dist = ((ctrl & 0x1f) << 8) + *ip++ + 1;
      if (dist > op || out_size - op < len) return false;
      for (std::size_t k = 0; k < len; ++k, ++op) out[op] = out[op - dist];  // may overlap: byte by byte
    }
  }
  return op == out_size;
}

std::vector<float> parse_pcd(std::string_view bytes, const std::string& name, PcdHeader* header_out) {
  PcdHeader h = parse_pcd_header(bytes, name);
  if (header_out) *header_out = h;
  const std::string_view body = bytes.substr(h.body_offset);
  const std::int64_t n = h.points;
  const std::int64_t pb = h.point_bytes();
  std::int64_t need = 0;
  if (__builtin_mul_overflow(n, pb, &need)) fail(name, "PCD POINTS x point size overflows");
  std::vector<float> xyz;
  const int axes[3] = {h.x, h.y, h.z};
  // Byte offset of each field inside a binary point record.
  std::vector<std::int64_t> field_offset(h.fields.size(), 0);
  for (std::size_t i = 1; i < h.fields.size(); ++i)
    field_offset[i] = field_offset[i - 1] + std::int64_t(h.sizes[i - 1]) * h.counts[i - 1];

  if (h.data == "binary") {
    if (static_cast<std::int64_t>(body.size()) < need)
      fail(name, "cannot read point cloud (truncated: " + std::to_string(n) + " points of " +
                     std::to_string(pb) + " bytes need " + std::to_string(need) + " bytes, the file has " +
                     std::to_string(body.size()) + ")");
    xyz.resize(static_cast<std::size_t>(n) * 3);
    const auto* base = reinterpret_cast<const unsigned char*>(body.data());
    for (std::int64_t i = 0; i < n; ++i)
      for (int a = 0; a < 3; ++a)
        xyz[static_cast<std::size_t>(3 * i + a)] = static_cast<float>(
            load_value(base + i * pb + field_offset[axes[a]], h.types[axes[a]], h.sizes[axes[a]]));
  } else if (h.data == "binary_compressed") {
    if (body.size() < 8) fail(name, "cannot read point cloud (truncated: no binary_compressed sizes)");
    std::uint32_t sizes[2];
    std::memcpy(sizes, body.data(), 8);
    if (sizes[0] > body.size() - 8)
      fail(name, "cannot read point cloud (truncated: compressed size " + std::to_string(sizes[0]) +
                     ", the file has " + std::to_string(body.size() - 8) + " bytes)");
    if (static_cast<std::int64_t>(sizes[1]) != need)
      fail(name, "cannot read point cloud (uncompressed size " + std::to_string(sizes[1]) + ", " +
                     std::to_string(n) + " points of " + std::to_string(pb) + " bytes need " +
                     std::to_string(need) + ")");
    // LZF expands at most 88-fold (3 bytes of back reference make 264): a larger claimed ratio is corrupt.
    if (static_cast<std::uint64_t>(sizes[1]) > std::uint64_t(sizes[0]) * 88 + 264)
      fail(name, "cannot read point cloud (corrupt binary_compressed data: sizes " +
                     std::to_string(sizes[0]) + " -> " + std::to_string(sizes[1]) + ")");
    std::string raw;
    if (!lzf_decompress(body.substr(8, sizes[0]), raw, sizes[1]))
      fail(name, "cannot read point cloud (corrupt binary_compressed data)");
    // Field-major layout: all points' values of field 0, then of field 1, ...
    xyz.resize(static_cast<std::size_t>(n) * 3);
    const auto* base = reinterpret_cast<const unsigned char*>(raw.data());
    for (int a = 0; a < 3; ++a) {
      const int f = axes[a];
      const unsigned char* col = base + field_offset[f] * n;
      for (std::int64_t i = 0; i < n; ++i)
        xyz[static_cast<std::size_t>(3 * i + a)] =
            static_cast<float>(load_value(col + i * h.sizes[f], h.types[f], h.sizes[f]));
    }
  } else {
    // ascii: one row per point, exactly elements() values, each a whole number.
    const std::int64_t per_row = h.elements();
    std::vector<std::int64_t> value_index(h.fields.size(), 0);
    for (std::size_t i = 1; i < h.fields.size(); ++i) value_index[i] = value_index[i - 1] + h.counts[i - 1];
    // Every row has at least one byte per value: no more rows than that can fit.
    if (n > static_cast<std::int64_t>(body.size()) / std::max<std::int64_t>(1, per_row) + 1)
      fail(name, "cannot read point cloud (truncated: header says " + std::to_string(n) +
                     " points, the body has " + std::to_string(body.size()) + " bytes)");
    xyz.reserve(static_cast<std::size_t>(n) * 3);
    std::size_t pos = 0;
    std::int64_t rows = 0;
    // Line numbers count from the top of the file.
    std::int64_t lineno =
        std::count(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(h.body_offset), '\n');
    if (h.body_offset == bytes.size() && !bytes.empty() && bytes.back() != '\n') ++lineno;
    while (pos < body.size()) {
      std::size_t eol = body.find('\n', pos);
      if (eol == std::string_view::npos) eol = body.size();
      const std::string_view line = body.substr(pos, eol - pos);
      pos = eol + 1;
      ++lineno;
      const auto tok = split_ws(line);
      if (tok.empty()) continue;
      const std::string where = "line " + std::to_string(lineno) + ": ";
      if (rows == n) fail(name, where + "more rows than the header's " + std::to_string(n) + " points");
      if (static_cast<std::int64_t>(tok.size()) != per_row)
        fail(name, where + "PCD row has " + std::to_string(tok.size()) + " values, FIELDS need " +
                       std::to_string(per_row));
      for (const auto& t : tok) {
        double v = 0;
        if (!whole_double(t, v)) fail(name, where + "'" + excerpt(t, 30) + "' is not a number");
      }
      for (int a = 0; a < 3; ++a) {
        double v = 0;
        whole_double(tok[static_cast<std::size_t>(value_index[axes[a]])], v);
        xyz.push_back(static_cast<float>(v));
      }
      ++rows;
    }
    if (rows < n)
      fail(name, "cannot read point cloud (truncated: header says " + std::to_string(n) +
                     " points, the file has " + std::to_string(rows) + " rows)");
  }
  return xyz;
}

}  // namespace adbench::formats
