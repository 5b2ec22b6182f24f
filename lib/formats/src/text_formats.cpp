// Text clouds, point labels, scores.csv and VisA's split CSV, parsed from memory.
#include "adbench/formats/text_formats.hpp"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <map>
#include <unordered_map>

#include "adbench/core/error.hpp"

namespace adbench::formats {

namespace {

[[noreturn]] void fail(const std::string& name, const std::string& problem) {
  throw InputError(name + ": " + problem);
}

bool is_sep(char c) { return c == ' ' || c == '\t' || c == '\r' || c == ','; }

/// Calls row(line_number, values) for every non-empty, non-comment line of numbers.
template <class F>
void for_each_number_row(std::string_view text, const std::string& name, F&& row) {
  std::vector<double> vals;
  const char* p = text.data();
  const char* end = p + text.size();
  std::int64_t lineno = 0;
  while (p < end) {
    const char* eol = static_cast<const char*>(std::memchr(p, '\n', static_cast<std::size_t>(end - p)));
    if (!eol) eol = end;
    ++lineno;
    vals.clear();
    const char* q = p;
    bool comment = false;
    while (q < eol) {
      while (q < eol && is_sep(*q)) ++q;
      if (q >= eol) break;
      if (vals.empty() && *q == '#') {
        comment = true;
        break;
      }
      const char* start = q;
      const char* tok_end = q;
      while (tok_end < eol && !is_sep(*tok_end)) ++tok_end;
      if (*q == '+') ++q;
      double v = 0;
      auto r = std::from_chars(q, tok_end, v);
      if (r.ec != std::errc() || r.ptr != tok_end || q == tok_end)
        fail(name, "line " + std::to_string(lineno) + ": '" +
                       excerpt(std::string_view(start, tok_end - start), 40) + "' is not a number");
      if (!std::isfinite(v))
        fail(name, "line " + std::to_string(lineno) + ": value '" +
                       excerpt(std::string_view(start, tok_end - start), 40) + "' is not finite");
      vals.push_back(v);
      q = tok_end;
    }
    if (!comment && !vals.empty()) row(lineno, vals);
    p = eol + 1;
  }
}

std::string trim(std::string_view s) {
  std::size_t b = 0, e = s.size();
  while (b < e && (s[b] == ' ' || s[b] == '\t' || s[b] == '\r')) ++b;
  while (e > b && (s[e - 1] == ' ' || s[e - 1] == '\t' || s[e - 1] == '\r')) --e;
  return std::string(s.substr(b, e - b));
}

}  // namespace

std::vector<float> parse_text_cloud(std::string_view text, const std::string& name) {
  std::vector<float> pts;
  for_each_number_row(text, name, [&](std::int64_t line, const std::vector<double>& v) {
    if (v.size() < 3)
      fail(name, "line " + std::to_string(line) + ": expected at least 3 values (x y z), got " +
                     std::to_string(v.size()));
    for (int a = 0; a < 3; ++a) {
      const float f = static_cast<float>(v[static_cast<std::size_t>(a)]);
      if (!std::isfinite(f)) {
        char buf[32];
        std::snprintf(buf, sizeof buf, "%.9g", v[static_cast<std::size_t>(a)]);
        fail(name, "line " + std::to_string(line) + ": coordinate " + buf + " does not fit float32");
      }
      pts.push_back(f);
    }
  });
  return pts;
}

std::vector<std::uint8_t> parse_point_labels(std::string_view text, const std::string& name) {
  std::vector<std::uint8_t> labels;
  for_each_number_row(text, name, [&](std::int64_t line, const std::vector<double>& v) {
    if (v.size() != 1 && v.size() != 4)
      fail(name, "line " + std::to_string(line) + ": expected 'x y z label' or 'label', got " +
                     std::to_string(v.size()) + " values");
    labels.push_back(v.back() > 0.5 ? 1 : 0);
  });
  return labels;
}

std::vector<ScoreRow> parse_scores_csv(std::string_view text, const std::string& name) {
  if (text.empty()) fail(name, "empty file (expected the header 'path,score' and one row per test image)");
  std::vector<ScoreRow> rows;
  std::unordered_map<std::string, int> first_line;
  std::size_t pos = 0;
  int lineno = 0;
  bool have_header = false;
  while (pos < text.size()) {
    std::size_t eol = text.find('\n', pos);
    if (eol == std::string_view::npos) eol = text.size();
    std::string_view line = text.substr(pos, eol - pos);
    pos = eol + 1;
    ++lineno;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) continue;
    const std::string where = "line " + std::to_string(lineno) + ": ";
    if (!have_header) {
      if (line != "path,score")
        fail(name, where + "expected the header 'path,score', got '" + excerpt(line, 60) + "'");
      have_header = true;
      continue;
    }
    if (line.find('\0') != std::string_view::npos) fail(name, where + "NUL byte in the row");
    const auto comma = line.rfind(',');
    if (comma == std::string_view::npos || comma == 0)
      fail(name, where + "expected 'path,score', got '" + excerpt(line, 60) + "'");
    ScoreRow r;
    r.line = lineno;
    r.path = std::string(line.substr(0, comma));
    const std::string_view value = line.substr(comma + 1);
    const char* b = value.data();
    const char* e = b + value.size();
    if (b != e && *b == '+') ++b;
    auto res = std::from_chars(b, e, r.score);
    if (res.ec == std::errc::result_out_of_range)
      fail(name,
           where + "score for " + excerpt(r.path, 60) + " is out of range (" + excerpt(value, 30) + ")");
    if (res.ec != std::errc() || res.ptr != e || b == e)
      fail(name, where + "'" + excerpt(value, 30) + "' is not a number");
    if (!std::isfinite(r.score))
      fail(name, where + "score for " + excerpt(r.path, 60) + " is not finite (" + excerpt(value, 30) + ")");
    // The key: the path without its extension, so "bad/001.png" and "bad/001.tiff" are one image.
    const auto slash = r.path.rfind('/');
    const auto dot = r.path.rfind('.');
    r.key = dot != std::string::npos && (slash == std::string::npos || dot > slash + 1)
                ? r.path.substr(0, dot)
                : r.path;
    auto [it, fresh] = first_line.emplace(r.key, lineno);
    if (!fresh)
      fail(name, where + "duplicate row for '" + excerpt(r.key, 60) + "' (first at line " +
                     std::to_string(it->second) + ")");
    rows.push_back(std::move(r));
  }
  if (!have_header) fail(name, "no header (expected 'path,score')");
  if (rows.empty()) fail(name, "has the header but no rows (expected one 'path,score' row per test image)");
  return rows;
}

std::vector<VisaRow> parse_visa_csv(std::string_view text, const std::string& name) {
  if (text.find('\0') != std::string_view::npos) fail(name, "NUL byte in the file (not a text CSV)");
  std::size_t pos = 0;
  int lineno = 0;
  auto next_line = [&](std::string_view& line) {
    if (pos >= text.size()) return false;
    std::size_t eol = text.find('\n', pos);
    if (eol == std::string_view::npos) eol = text.size();
    line = text.substr(pos, eol - pos);
    pos = eol + 1;
    ++lineno;
    return true;
  };
  auto split = [&](std::string_view line) {
    std::vector<std::string> out;
    std::string cur;
    bool quoted = false;
    for (std::size_t i = 0; i < line.size(); ++i) {
      const char c = line[i];
      if (quoted) {
        if (c == '"' && i + 1 < line.size() && line[i + 1] == '"')
          cur += '"', ++i;
        else if (c == '"')
          quoted = false;
        else
          cur += c;
      } else if (c == '"') {
        quoted = true;
      } else if (c == ',') {
        out.push_back(trim(cur));
        cur.clear();
      } else {
        cur += c;
      }
    }
    if (quoted) fail(name + ":" + std::to_string(lineno), "unterminated quote");
    out.push_back(trim(cur));
    return out;
  };
  std::string_view line;
  if (!next_line(line)) fail(name, "empty file (expected header object,split,label,image,mask)");
  if (line.substr(0, 3) == "\xEF\xBB\xBF") line.remove_prefix(3);  // UTF-8 BOM
  const auto header = split(line);
  std::map<std::string, std::size_t> col;
  for (std::size_t i = 0; i < header.size(); ++i)
    if (!col.emplace(header[i], i).second)
      fail(name, "header names column '" + excerpt(header[i], 30) + "' twice");
  for (const char* need : {"object", "split", "label", "image", "mask"})
    if (!col.count(need))
      fail(name, std::string("header has no '") + need + "' column (expected object,split,label,image,mask)");

  std::vector<VisaRow> rows;
  while (next_line(line)) {
    if (trim(line).empty()) continue;
    const auto f = split(line);
    const std::string where = name + ":" + std::to_string(lineno);
    if (f.size() != header.size())
      throw InputError(where + ": expected " + std::to_string(header.size()) + " fields, got " +
                       std::to_string(f.size()));
    VisaRow r;
    r.line = lineno;
    r.object = f[col["object"]];
    r.split = f[col["split"]];
    r.label = f[col["label"]];
    r.image = f[col["image"]];
    r.mask = f[col["mask"]];
    if (r.object.empty()) throw InputError(where + ": empty object name");
    if (r.split != "train" && r.split != "test")
      throw InputError(where + ": split '" + excerpt(r.split, 30) + "' (expected train or test)");
    if (r.label != "normal" && r.label != "anomaly")
      throw InputError(where + ": label '" + excerpt(r.label, 30) + "' (expected normal or anomaly)");
    if (r.image.empty()) throw InputError(where + ": empty image path");
    for (const std::string* p : {&r.image, &r.mask}) {
      if (p->empty()) continue;
      bool up = false;
      for (std::size_t b = 0; b <= p->size();) {
        std::size_t e = p->find_first_of("/\\", b);
        if (e == std::string::npos) e = p->size();
        up = up || p->compare(b, e - b, "..") == 0;
        b = e + 1;
      }
      if ((*p)[0] == '/' || (*p)[0] == '\\' || up)
        throw InputError(where + ": path '" + excerpt(*p, 60) +
                         "' leaves the dataset root (expected a relative path "
                         "inside it)");
    }
    rows.push_back(std::move(r));
  }
  return rows;
}

}  // namespace adbench::formats
