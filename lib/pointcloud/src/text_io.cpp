// Text clouds ("x y z ..." rows, MiniShift) and text ground truth ("x y z label" or "label" rows).
#include "text_io.hpp"

#include <charconv>
#include <cstring>
#include <cmath>
#include <vector>

#include "adbench/core/error.hpp"
#include "adbench/core/fs.hpp"
#include "adbench/pointcloud/cloud.hpp"

namespace fs = std::filesystem;

namespace adbench::pointcloud {

namespace {

/// Calls row(line_number, values) for every non-empty, non-comment line.
template <class F>
void for_each_row(const fs::path& file, F&& row) {
  const std::string text = read_file(file);
  std::vector<double> vals;
  const char* p = text.data();
  const char* end = p + text.size();
  std::int64_t lineno = 0;
  while (p < end) {
    const char* eol = static_cast<const char*>(std::memchr(p, '\n', static_cast<size_t>(end - p)));
    if (!eol) eol = end;
    ++lineno;
    vals.clear();
    const char* q = p;
    bool comment = false;
    while (q < eol) {
      while (q < eol && (*q == ' ' || *q == '\t' || *q == '\r' || *q == ',')) ++q;
      if (q >= eol) break;
      if (vals.empty() && *q == '#') {
        comment = true;
        break;
      }
      double v = 0;
      const char* start = q;
      if (*q == '+') ++q;
      auto r = std::from_chars(q, eol, v);
      if (r.ec != std::errc()) {
        const char* e = start;
        while (e < eol && *e != ' ' && *e != '\t' && *e != '\r' && *e != ',') ++e;
        std::string tok(start, e);
        // from_chars reads "nan"/"inf"; anything else is not a number.
        throw_file_error(file, "line " + std::to_string(lineno) + ": '" + tok + "' is not a number");
      }
      vals.push_back(v);
      q = r.ptr;
      if (q < eol && !(*q == ' ' || *q == '\t' || *q == '\r' || *q == ',')) {
        const char* e = q;
        while (e < eol && *e != ' ' && *e != '\t' && *e != '\r' && *e != ',') ++e;
        throw_file_error(file, "line " + std::to_string(lineno) + ": '" + std::string(start, e) + "' is not a number");
      }
    }
    if (!comment && !vals.empty()) row(lineno, vals);
    p = eol + 1;
  }
}

}  // namespace

namespace detail {
at::Tensor read_xyz_text(const fs::path& file) {
  std::vector<float> pts;
  size_t cols = 0;
  for_each_row(file, [&](std::int64_t line, const std::vector<double>& v) {
    if (v.size() < 3)
      throw_file_error(file, "line " + std::to_string(line) + ": expected at least 3 values (x y z), got " +
                                 std::to_string(v.size()));
    if (cols == 0) cols = v.size();
    pts.push_back(static_cast<float>(v[0]));
    pts.push_back(static_cast<float>(v[1]));
    pts.push_back(static_cast<float>(v[2]));
  });
  const auto n = static_cast<std::int64_t>(pts.size() / 3);
  if (n == 0) return at::empty({0, 3}, at::kFloat);
  return at::from_blob(pts.data(), {n, 3}, at::kFloat).clone();
}
}  // namespace detail

at::Tensor read_point_labels(const fs::path& gt, std::int64_t expected, const fs::path& cloud) {
  std::error_code ec;
  if (!fs::is_regular_file(gt, ec)) throw_file_error(gt, "cannot open ground-truth file");
  std::vector<std::uint8_t> labels;
  labels.reserve(static_cast<size_t>(std::max<std::int64_t>(expected, 0)));
  for_each_row(gt, [&](std::int64_t line, const std::vector<double>& v) {
    if (v.size() != 1 && v.size() != 4)
      throw_file_error(gt, "line " + std::to_string(line) + ": expected 'x y z label' or 'label', got " +
                               std::to_string(v.size()) + " values");
    const double l = v.back();
    if (!std::isfinite(l)) throw_file_error(gt, "line " + std::to_string(line) + ": label is not finite");
    labels.push_back(l > 0.5 ? 1 : 0);
  });
  const auto n = static_cast<std::int64_t>(labels.size());
  if (n != expected)
    throw_file_error(gt, std::to_string(n) + " points but its cloud " + cloud.string() + " has " +
                             std::to_string(expected));
  return at::from_blob(labels.data(), {n}, at::kByte).clone();
}

}  // namespace adbench::pointcloud
