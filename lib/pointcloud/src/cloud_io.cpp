// Point-cloud files -> Cloud. PCD and PLY bodies are decoded by Open3D (the only translation unit
// besides features.cpp that includes it); PCD headers are parsed here first so that fields Open3D
// would silently read as zeros (F 8, COUNT > 1, odd sizes) and truncated files are refused by name.
#include <open3d/geometry/PointCloud.h>
#include <open3d/io/PointCloudIO.h>
#include <open3d/utility/Logging.h>

#include <opencv2/imgcodecs.hpp>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <fstream>
#include <mutex>
#include <sstream>
#include <vector>

#include "adbench/core/error.hpp"
#include "adbench/pointcloud/cloud.hpp"
#include "text_io.hpp"

namespace fs = std::filesystem;

namespace adbench::pointcloud {

namespace {

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

// Open3D reports problems through its logger (printed to stdout by default). Keep stdout clean and
// remember the last message for our error line.
thread_local std::string g_last_open3d_message;
void quiet_open3d() {
  static std::once_flag once;
  std::call_once(once, [] {
    open3d::utility::Logger::GetInstance().SetPrintFunction(
        [](const std::string& msg) { g_last_open3d_message = msg; });
    open3d::utility::SetVerbosityLevel(open3d::utility::VerbosityLevel::Warning);
  });
}

std::vector<std::string> split_ws(const std::string& line) {
  std::vector<std::string> out;
  std::istringstream ss(line);
  std::string t;
  while (ss >> t) out.push_back(t);
  return out;
}

struct PcdHeader {
  std::vector<std::string> fields;
  std::vector<int> sizes, counts;
  std::vector<char> types;
  std::int64_t width = -1, height = 1, points = -1;
  std::string data;
  std::streamoff body_offset = 0;
  std::int64_t point_bytes() const {
    std::int64_t b = 0;
    for (size_t i = 0; i < fields.size(); ++i) b += std::int64_t(sizes[i]) * counts[i];
    return b;
  }
  std::int64_t elements() const {
    std::int64_t e = 0;
    for (int c : counts) e += c;
    return e;
  }
};

PcdHeader read_pcd_header(const fs::path& file, std::ifstream& in) {
  PcdHeader h;
  std::string line;
  bool have_data = false;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    auto tok = split_ws(line);
    if (tok.empty() || tok[0][0] == '#') continue;
    const std::string key = tok[0];
    std::vector<std::string> vals(tok.begin() + 1, tok.end());
    auto ints = [&](const std::string& what) {
      std::vector<int> v;
      for (const auto& s : vals) {
        try {
          v.push_back(std::stoi(s));
        } catch (const std::exception&) {
          throw_file_error(file, "PCD " + what + " value '" + s + "' is not an integer");
        }
      }
      return v;
    };
    if (key == "FIELDS" || key == "COLUMNS") {
      h.fields = vals;
    } else if (key == "SIZE") {
      h.sizes = ints("SIZE");
    } else if (key == "TYPE") {
      for (const auto& s : vals) h.types.push_back(s.empty() ? '?' : static_cast<char>(std::toupper(s[0])));
    } else if (key == "COUNT") {
      h.counts = ints("COUNT");
    } else if (key == "WIDTH") {
      h.width = ints("WIDTH").at(0);
    } else if (key == "HEIGHT") {
      h.height = ints("HEIGHT").at(0);
    } else if (key == "POINTS") {
      h.points = ints("POINTS").at(0);
    } else if (key == "DATA") {
      h.data = vals.empty() ? "" : lower(vals[0]);
      have_data = true;
      break;
    }
  }
  if (!have_data) throw_file_error(file, "PCD header has no DATA line");
  h.body_offset = in.tellg();
  if (h.fields.empty()) throw_file_error(file, "PCD header has no FIELDS line");
  const size_t nf = h.fields.size();
  if (h.sizes.empty()) h.sizes.assign(nf, 4);
  if (h.types.empty()) h.types.assign(nf, 'F');
  if (h.counts.empty()) h.counts.assign(nf, 1);
  if (h.sizes.size() != nf || h.types.size() != nf || h.counts.size() != nf)
    throw_file_error(file, "PCD header: FIELDS, SIZE, TYPE and COUNT have different lengths");
  if (h.points < 0) h.points = h.width * h.height;
  if (h.points < 0) throw_file_error(file, "PCD header has neither POINTS nor WIDTH");
  for (const char* axis : {"x", "y", "z"}) {
    auto it = std::find(h.fields.begin(), h.fields.end(), axis);
    if (it == h.fields.end()) {
      std::string all;
      for (const auto& f : h.fields) all += (all.empty() ? "" : " ") + f;
      throw_file_error(file, std::string("PCD has no field '") + axis + "' (FIELDS " + all + ")");
    }
    const size_t i = static_cast<size_t>(it - h.fields.begin());
    const char t = h.types[i];
    const int s = h.sizes[i], c = h.counts[i];
    const bool ok = c == 1 && ((t == 'F' && s == 4) || ((t == 'I' || t == 'U') && (s == 1 || s == 2 || s == 4)));
    if (!ok)
      throw_file_error(file, std::string("PCD field '") + axis + "' has TYPE " + t + " SIZE " + std::to_string(s) +
                                 " COUNT " + std::to_string(c) +
                                 ", which cannot be read (x, y and z must be F 4, I 1/2/4 or U 1/2/4 with COUNT 1)");
  }
  if (h.data != "ascii" && h.data != "binary" && h.data != "binary_compressed")
    throw_file_error(file, "PCD DATA '" + h.data + "' is not ascii, binary or binary_compressed");
  return h;
}

/// Checks that the body holds `points` records, so Open3D cannot leave trailing points at zero.
void check_pcd_body(const fs::path& file, std::ifstream& in, const PcdHeader& h) {
  in.clear();
  in.seekg(0, std::ios::end);
  const std::streamoff end = in.tellg();
  const std::streamoff body = end - h.body_offset;
  if (h.data == "binary") {
    if (body < h.points * h.point_bytes())
      throw_file_error(file, "cannot read point cloud (truncated: " + std::to_string(h.points) + " points of " +
                                 std::to_string(h.point_bytes()) + " bytes need " +
                                 std::to_string(h.points * h.point_bytes()) + " bytes, the file has " +
                                 std::to_string(body) + ")");
  } else if (h.data == "binary_compressed") {
    if (body < 8) throw_file_error(file, "cannot read point cloud (truncated)");
  } else {
    in.seekg(h.body_offset);
    std::string line;
    std::int64_t rows = 0;
    while (rows < h.points && std::getline(in, line)) {
      auto n = split_ws(line).size();
      if (n == 0) continue;
      if (static_cast<std::int64_t>(n) < h.elements())
        throw_file_error(file, "PCD row " + std::to_string(rows + 1) + " has " + std::to_string(n) + " values, FIELDS need " +
                                   std::to_string(h.elements()));
      ++rows;
    }
    if (rows < h.points)
      throw_file_error(file, "cannot read point cloud (truncated: header says " + std::to_string(h.points) +
                                 " points, the file has " + std::to_string(rows) + " rows)");
  }
}

at::Tensor from_open3d(const open3d::geometry::PointCloud& pc) {
  const auto n = static_cast<std::int64_t>(pc.points_.size());
  at::Tensor t = at::empty({n, 3}, at::kFloat);
  float* d = t.data_ptr<float>();
  for (std::int64_t i = 0; i < n; ++i)
    for (int c = 0; c < 3; ++c) d[3 * i + c] = static_cast<float>(pc.points_[static_cast<size_t>(i)](c));
  return t;
}

at::Tensor read_with_open3d(const fs::path& file, const std::string& format) {
  quiet_open3d();
  open3d::geometry::PointCloud pc;
  g_last_open3d_message.clear();
  open3d::io::ReadPointCloudOption opt(format, false, false, false);
  bool ok = false;
  try {
    ok = open3d::io::ReadPointCloud(file.string(), pc, opt);
  } catch (const std::exception& e) {
    g_last_open3d_message = e.what();
    ok = false;
  }
  if (!ok) {
    std::string why = g_last_open3d_message;
    while (!why.empty() && (why.back() == '\n' || why.back() == '\r')) why.pop_back();
    throw_file_error(file, "cannot read point cloud (truncated or corrupt" + (why.empty() ? "" : ": " + why) + ")");
  }
  return from_open3d(pc);
}

std::int64_t ply_vertex_count(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw_file_error(file, "cannot open file");
  std::string line;
  std::getline(in, line);
  if (line.rfind("ply", 0) != 0) throw_file_error(file, "not a PLY file (no 'ply' magic line)");
  while (std::getline(in, line)) {
    auto tok = split_ws(line);
    if (tok.size() >= 3 && tok[0] == "element" && tok[1] == "vertex") return std::stoll(tok[2]);
    if (!tok.empty() && tok[0] == "end_header") break;
  }
  throw_file_error(file, "PLY header has no 'element vertex' line");
}

Cloud read_xyz_tiff(const fs::path& file) {
  cv::Mat m = cv::imread(file.string(), cv::IMREAD_UNCHANGED);
  if (m.empty()) throw_file_error(file, "cannot read xyz TIFF (missing, unreadable or corrupt)");
  if (m.type() != CV_32FC3)
    throw_file_error(file, "expected a float32 3-channel xyz TIFF, got " + std::to_string(m.channels()) +
                               " channel(s) of depth " + std::to_string(m.depth()));
  Cloud c;
  c.height = m.rows;
  c.width = m.cols;
  std::vector<float> pts;
  std::vector<std::int64_t> idx;
  pts.reserve(static_cast<size_t>(m.total()) * 3);
  idx.reserve(m.total());
  std::int64_t bad = 0, first_bad = -1;
  for (int r = 0; r < m.rows; ++r) {
    const cv::Vec3f* row = m.ptr<cv::Vec3f>(r);
    for (int col = 0; col < m.cols; ++col) {
      // OpenCV returns 3-channel TIFFs in BGR order: the file's (x, y, z) arrive as (z, y, x).
      const float x = row[col][2], y = row[col][1], z = row[col][0];
      const std::int64_t g = std::int64_t(r) * m.cols + col;
      if (!std::isfinite(x) || !std::isfinite(y) || !std::isfinite(z)) {
        if (bad++ == 0) first_bad = g;
        continue;
      }
      if (x == 0.f && y == 0.f && z == 0.f) continue;  // missing data
      pts.insert(pts.end(), {x, y, z});
      idx.push_back(g);
    }
  }
  if (bad)
    throw_file_error(file, std::to_string(bad) + " points have NaN or infinite coordinates (first: point " +
                               std::to_string(first_bad) + ")");
  if (idx.empty()) throw_file_error(file, "empty point cloud (0 points)");
  const auto n = static_cast<std::int64_t>(idx.size());
  c.points = at::from_blob(pts.data(), {n, 3}, at::kFloat).clone();
  c.grid_index = at::from_blob(idx.data(), {n}, at::kLong).clone();
  return c;
}

void check_points(const fs::path& file, const at::Tensor& pts) {
  if (pts.size(0) == 0) throw_file_error(file, "empty point cloud (0 points)");
  const float* d = pts.data_ptr<float>();
  std::int64_t bad = 0, first = -1;
  for (std::int64_t i = 0; i < pts.size(0); ++i) {
    if (!std::isfinite(d[3 * i]) || !std::isfinite(d[3 * i + 1]) || !std::isfinite(d[3 * i + 2])) {
      if (bad++ == 0) first = i;
    }
  }
  if (bad)
    throw_file_error(file, std::to_string(bad) + " points have NaN or infinite coordinates (first: point " +
                               std::to_string(first) + ")");
}

}  // namespace

Cloud read_cloud(const fs::path& file) {
  const std::string ext = lower(file.extension().string());
  std::error_code ec;
  if (!fs::is_regular_file(file, ec)) throw_file_error(file, "cannot open file");
  Cloud c;
  if (ext == ".pcd") {
    std::ifstream in(file, std::ios::binary);
    if (!in) throw_file_error(file, "cannot open file");
    PcdHeader h = read_pcd_header(file, in);
    if (h.points == 0) throw_file_error(file, "empty point cloud (0 points)");
    check_pcd_body(file, in, h);
    in.close();
    c.points = read_with_open3d(file, "pcd");
    if (c.points.size(0) != h.points)
      throw_file_error(file, "cannot read point cloud (header says " + std::to_string(h.points) + " points, read " +
                                 std::to_string(c.points.size(0)) + ")");
  } else if (ext == ".ply") {
    if (ply_vertex_count(file) == 0) throw_file_error(file, "empty point cloud (0 points)");
    c.points = read_with_open3d(file, "ply");
  } else if (ext == ".txt" || ext == ".xyz") {
    c.points = detail::read_xyz_text(file);
  } else if (ext == ".tif" || ext == ".tiff") {
    return read_xyz_tiff(file);
  } else {
    throw_file_error(file, "unsupported point-cloud format '" + ext + "' (expected .pcd, .ply, .txt, .xyz, .tiff)");
  }
  check_points(file, c.points);
  return c;
}

std::int64_t cloud_point_count(const fs::path& file) {
  const std::string ext = lower(file.extension().string());
  if (ext == ".pcd") {
    std::ifstream in(file, std::ios::binary);
    if (!in) throw_file_error(file, "cannot open file");
    return read_pcd_header(file, in).points;
  }
  if (ext == ".ply") return ply_vertex_count(file);
  if (ext == ".tif" || ext == ".tiff") {
    Cloud c = read_xyz_tiff(file);
    return c.height * c.width;
  }
  return read_cloud(file).size();
}

// ---- writers (tests, tools) ----

namespace {
// LZF as the PCD binary_compressed body: literal runs only (a valid LZF stream that any decoder reads).
std::string lzf_literal(const std::string& raw) {
  std::string out;
  out.reserve(raw.size() + raw.size() / 32 + 1);
  for (size_t i = 0; i < raw.size(); i += 32) {
    const size_t n = std::min<size_t>(32, raw.size() - i);
    out.push_back(static_cast<char>(n - 1));
    out.append(raw, i, n);
  }
  return out;
}
}  // namespace

void write_pcd(const fs::path& file, const at::Tensor& points, const std::string& encoding) {
  at::Tensor p = points.to(at::kFloat).contiguous();
  check_input(p.dim() == 2 && p.size(1) == 3, "write_pcd: points must be [N,3]");
  const std::int64_t n = p.size(0);
  const float* d = p.data_ptr<float>();
  std::ostringstream h;
  h << "# .PCD v0.7 - Point Cloud Data file format\nVERSION 0.7\nFIELDS x y z\nSIZE 4 4 4\nTYPE F F F\n"
       "COUNT 1 1 1\nWIDTH "
    << n << "\nHEIGHT 1\nVIEWPOINT 0 0 0 1 0 0 0\nPOINTS " << n << "\nDATA " << encoding << "\n";
  std::string body;
  if (encoding == "ascii") {
    std::ostringstream b;
    b.precision(9);
    for (std::int64_t i = 0; i < n; ++i) b << d[3 * i] << " " << d[3 * i + 1] << " " << d[3 * i + 2] << "\n";
    body = b.str();
  } else if (encoding == "binary") {
    body.assign(reinterpret_cast<const char*>(d), static_cast<size_t>(n) * 12);
  } else if (encoding == "binary_compressed") {
    std::string raw(static_cast<size_t>(n) * 12, '\0');
    for (int c = 0; c < 3; ++c)
      for (std::int64_t i = 0; i < n; ++i)
        std::memcpy(&raw[static_cast<size_t>((c * n + i) * 4)], &d[3 * i + c], 4);
    std::string comp = lzf_literal(raw);
    std::uint32_t sizes[2] = {static_cast<std::uint32_t>(comp.size()), static_cast<std::uint32_t>(raw.size())};
    body.assign(reinterpret_cast<const char*>(sizes), 8);
    body += comp;
  } else {
    throw InputError("write_pcd: unknown encoding '" + encoding + "'");
  }
  std::ofstream out(file, std::ios::binary);
  out << h.str() << body;
  if (!out) throw_file_error(file, "cannot write");
}

void write_ply(const fs::path& file, const at::Tensor& points) {
  at::Tensor p = points.to(at::kFloat).contiguous();
  check_input(p.dim() == 2 && p.size(1) == 3, "write_ply: points must be [N,3]");
  std::ofstream out(file, std::ios::binary);
  out << "ply\nformat binary_little_endian 1.0\nelement vertex " << p.size(0)
      << "\nproperty float x\nproperty float y\nproperty float z\nend_header\n";
  out.write(reinterpret_cast<const char*>(p.data_ptr<float>()), static_cast<std::streamsize>(p.numel() * 4));
  if (!out) throw_file_error(file, "cannot write");
}

}  // namespace adbench::pointcloud
