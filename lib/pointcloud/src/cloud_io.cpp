// Point-cloud files -> Cloud. PCD files are read by adbench's own parser (formats::parse_pcd: every
// header field checked, ascii rows parsed completely, LZF bounds-checked; fuzzed in tests/fuzz).
// PLY bodies are decoded by Open3D (the only translation unit besides features.cpp that includes
// it), with its logging routed away from stdout and stderr.
#include <open3d/geometry/PointCloud.h>
#include <open3d/io/PointCloudIO.h>
#include <open3d/utility/Logging.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstring>
#include <fstream>
#include <mutex>
#include <opencv2/imgcodecs.hpp>
#include <sstream>
#include <vector>

#include "adbench/core/error.hpp"
#include "adbench/core/fs.hpp"
#include "adbench/core/image_io.hpp"
#include "adbench/core/path_util.hpp"
#include "adbench/formats/pcd_format.hpp"
#include "adbench/pointcloud/cloud.hpp"
#include "text_io.hpp"

namespace fs = std::filesystem;

namespace adbench::pointcloud {

namespace {

// Open3D reports problems through its logger (printed to stdout by default). Keep stdout clean and
// remember the last message for our error line.
thread_local std::string g_last_open3d_message;
}  // namespace

void quiet_open3d() {
  static std::once_flag once;
  std::call_once(once, [] {
    open3d::utility::Logger::GetInstance().SetPrintFunction(
        [](const std::string& msg) { g_last_open3d_message = msg; });
    open3d::utility::SetVerbosityLevel(open3d::utility::VerbosityLevel::Warning);
  });
}

namespace {

std::vector<std::string> split_ws(const std::string& line) {
  std::vector<std::string> out;
  std::istringstream ss(line);
  std::string t;
  while (ss >> t) out.push_back(t);
  return out;
}

/// A PCD file through adbench's own reader (formats::parse_pcd: header, ascii, binary and
/// binary_compressed), as float32 [N,3].
at::Tensor read_pcd(const fs::path& file) {
  const std::string bytes = read_file(file);
  std::vector<float> xyz = formats::parse_pcd(bytes, file.string());
  const auto n = static_cast<std::int64_t>(xyz.size() / 3);
  if (n == 0) throw_file_error(file, "empty point cloud (0 points)");
  return at::from_blob(xyz.data(), {n, 3}, at::kFloat).clone();
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
    // Open3D's message may carry ANSI colour codes and newlines: keep its text only, capped.
    std::string why = one_line(g_last_open3d_message);
    throw_file_error(file, "cannot read point cloud (truncated or corrupt" +
                               (why.empty() ? "" : ": " + excerpt(why, 120)) + ")");
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
    if (tok.size() >= 3 && tok[0] == "element" && tok[1] == "vertex") {
      std::int64_t n = -1;
      auto r = std::from_chars(tok[2].data(), tok[2].data() + tok[2].size(), n);
      if (r.ec != std::errc() || r.ptr != tok[2].data() + tok[2].size() || n < 0)
        throw_file_error(file,
                         "PLY 'element vertex' count '" + excerpt(tok[2], 30) + "' is not an integer >= 0");
      return n;
    }
    if (!tok.empty() && tok[0] == "end_header") break;
  }
  throw_file_error(file, "PLY header has no 'element vertex' line");
}

Cloud read_xyz_tiff(const fs::path& file) {
  cv::Mat m;
  try {
    m = read_image_unchanged(file);  // checks --max-image-pixels before decoding
  } catch (const InputError& e) {
    if (std::string(e.what()).find("--max-image-pixels") != std::string::npos) throw;
    throw_file_error(file, "cannot read xyz TIFF (missing, unreadable or corrupt)");
  }
  if (m.type() != CV_32FC3)
    throw_file_error(file, "expected a float32 3-channel xyz TIFF, got " + std::to_string(m.channels()) +
                               " channel(s) of " + depth_name(m.depth()));
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
  if (!is_file(file)) throw_file_error(file, "cannot open file");
  Cloud c;
  if (ext == ".pcd") {
    c.points = read_pcd(file);
  } else if (ext == ".ply") {
    if (ply_vertex_count(file) == 0) throw_file_error(file, "empty point cloud (0 points)");
    c.points = read_with_open3d(file, "ply");
  } else if (ext == ".txt" || ext == ".xyz") {
    c.points = detail::read_xyz_text(file);
  } else if (ext == ".tif" || ext == ".tiff") {
    return read_xyz_tiff(file);
  } else {
    throw_file_error(file,
                     "unsupported point-cloud format '" + ext + "' (expected .pcd, .ply, .txt, .xyz, .tiff)");
  }
  check_points(file, c.points);
  return c;
}

std::int64_t cloud_point_count(const fs::path& file) {
  const std::string ext = lower(file.extension().string());
  if (ext == ".pcd") {
    if (!is_file(file)) throw_file_error(file, "cannot open file");
    return formats::parse_pcd_header(read_file(file), file.string()).points;
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
    std::uint32_t sizes[2] = {static_cast<std::uint32_t>(comp.size()),
                              static_cast<std::uint32_t>(raw.size())};
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
