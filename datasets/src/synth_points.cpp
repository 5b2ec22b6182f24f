// Synthetic point-cloud datasets (Real3D-AD and MVTec 3D-AD layouts). All randomness comes from our
// own splitmix64 / xoshiro256** streams (adbench/core/rng.hpp), so the files depend only on the seed.
#include "adbench/datasets/synth_points.hpp"

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <opencv2/imgcodecs.hpp>
#include <sstream>

#include "adapters.hpp"
#include "adbench/core/error.hpp"
#include "adbench/core/interrupt.hpp"
#include "adbench/core/rng.hpp"

namespace fs = std::filesystem;

namespace adbench {

namespace {

constexpr double kPi = 3.14159265358979323846;

// Rng: xoshiro256** seeded through splitmix64 (adbench/core/rng.hpp, shared with synth.cpp).

Rng sample_rng(std::uint64_t seed, const std::string& category, const std::string& split,
               const std::string& defect, int index) {
  std::uint64_t s = seed ^ (fnv1a(category + "/" + split + "/" + defect) * 0xD6E8FEB86659FD93ULL) ^
                    (static_cast<std::uint64_t>(index) * 0x632BE59BD9B4E019ULL);
  return Rng(splitmix64(s));
}

double base_height(const std::string& category, double x, double y) {
  if (category == "wave") return 0.03 * std::sin(6.0 * x) + 0.03 * std::cos(5.0 * y);
  if (category == "disc") return 0.15 * (1.0 - (x * x + y * y));       // dome over the unit disc
  return 0.08 * (x - 0.5) * (x - 0.5) + 0.04 * (y - 0.5) * (y - 0.5);  // plate: a shallow bowl
}

/// A defect placed at (cx, cy): height change at (x, y) and whether the point is labelled.
struct Defect {
  std::string kind;
  double cx = 0, cy = 0, r = 0.05, depth = 0.02, ux = 1, uy = 0, half_len = 0.15, width = 0.012;
  /// Displacement along z, and label.
  std::pair<double, bool> at(double x, double y) const {
    const double dx = x - cx, dy = y - cy;
    if (kind == "dent" || kind == "bump") {
      const double d = std::sqrt(dx * dx + dy * dy);
      if (d >= r) return {0.0, false};
      const double t = 1.0 - (d / r) * (d / r);
      return {(kind == "dent" ? -1.0 : 1.0) * depth * t * t, true};
    }
    if (kind == "crack") {
      const double along = dx * ux + dy * uy, across = std::abs(-dx * uy + dy * ux);
      if (std::abs(along) > half_len || across >= width) return {0.0, false};
      const double t = 1.0 - (across / width) * (across / width);
      return {-depth * t, true};
    }
    return {0.0, false};
  }
};

Defect make_defect(Rng& rng, const std::string& kind, double lo, double hi, double scale) {
  Defect d;
  d.kind = kind;
  d.cx = rng.uniform(lo, hi);
  d.cy = rng.uniform(lo, hi);
  const double a = rng.uniform(0, kPi);
  d.ux = std::cos(a);
  d.uy = std::sin(a);
  d.r = 0.06 * scale;
  d.depth = 0.025 * scale;
  d.half_len = 0.15 * scale;
  d.width = 0.025 * scale;
  return d;
}

std::string fmt(double v) {
  char b[32];
  std::snprintf(b, sizeof b, "%.6f", v);
  return b;
}

void make_dirs(const fs::path& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw_file_error(dir, "cannot create folder (" + ec.message() + ")");
}

void write_bytes(const fs::path& p, const std::string& bytes) {
  WriteScope scope;  // an interrupt never removes the folder while a file is half-written
  make_dirs(p.parent_path());
  errno = 0;
  std::ofstream out(p, std::ios::binary);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  out.close();
  if (!out) throw_file_error(p, "cannot write file" + os_reason());
}

void write_image(const fs::path& p, const cv::Mat& m, const std::vector<int>& params = {}) {
  errno = 0;
  bool ok = false;
  try {
    ok = cv::imwrite(p.string(), m, params);
  } catch (const cv::Exception& e) {
    throw_file_error(p, "cannot write file (" + e.msg + ")");
  }
  if (!ok) throw_file_error(p, "cannot write file" + os_reason());
}

/// PCD (x y z float32) in ascii, binary or binary_compressed (LZF literal runs only: valid LZF).
std::string pcd_bytes(const std::vector<float>& xyz, const std::string& encoding) {
  const size_t n = xyz.size() / 3;
  std::ostringstream h;
  h << "# .PCD v0.7 - Point Cloud Data file format\nVERSION 0.7\nFIELDS x y z\nSIZE 4 4 4\nTYPE F F F\nCOUNT "
       "1 1 1\n"
    << "WIDTH " << n << "\nHEIGHT 1\nVIEWPOINT 0 0 0 1 0 0 0\nPOINTS " << n << "\nDATA " << encoding << "\n";
  std::string out = h.str();
  if (encoding == "ascii") {
    for (size_t i = 0; i < n; ++i)
      out += fmt(xyz[3 * i]) + " " + fmt(xyz[3 * i + 1]) + " " + fmt(xyz[3 * i + 2]) + "\n";
  } else if (encoding == "binary") {
    out.append(reinterpret_cast<const char*>(xyz.data()), xyz.size() * 4);
  } else {
    std::string raw(n * 12, '\0');
    for (size_t c = 0; c < 3; ++c)
      for (size_t i = 0; i < n; ++i) std::memcpy(&raw[(c * n + i) * 4], &xyz[3 * i + c], 4);
    std::string comp;
    for (size_t i = 0; i < raw.size(); i += 32) {
      const size_t k = std::min<size_t>(32, raw.size() - i);
      comp.push_back(static_cast<char>(k - 1));
      comp.append(raw, i, k);
    }
    const std::uint32_t sizes[2] = {static_cast<std::uint32_t>(comp.size()),
                                    static_cast<std::uint32_t>(raw.size())};
    out.append(reinterpret_cast<const char*>(sizes), 8);
    out += comp;
  }
  return out;
}

void prepare_out(const fs::path& out) {
  std::error_code ec;
  if (fs::exists(out, ec)) {
    if (!fs::is_directory(out, ec) || !fs::is_empty(out, ec))
      throw_file_error(out, "already exists and is not empty");
  }
  fs::create_directories(out, ec);
  if (ec) throw_file_error(out, "cannot create folder (" + ec.message() + ")");
}

void check_options(const PointSynthOptions& o) {
  check_input(o.points >= 500 && o.points <= 5000000, "synth: points must be in 500..5000000");
  check_input(o.grid >= 32 && o.grid <= 1024, "synth: grid must be in 32..1024");
  check_input(o.train >= 0 && o.test_good >= 0 && o.per_defect >= 1,
              "synth: counts must be >= 0 (per_defect >= 1)");
}

const std::vector<std::string> kCloudDefects = {"bump", "crack", "dent", "hole"};
const std::vector<std::string> kXyzDefects = {"bump", "crack", "dent"};

}  // namespace

SynthCloud make_synthetic_cloud(const std::string& category, std::uint64_t seed, const std::string& split,
                                const std::string& defect, int index, int points) {
  Rng rng = sample_rng(seed, category, split, defect, index);
  const double tx = rng.uniform(-0.01, 0.01), ty = rng.uniform(-0.01, 0.01), off = rng.uniform(-0.005, 0.005);
  const double noise = 0.0008;
  Defect d;
  const bool has_defect = defect != "good";
  if (has_defect) d = make_defect(rng, defect, 0.25, 0.75, 1.0);
  SynthCloud c;
  c.xyz.reserve(static_cast<size_t>(points) * 3);
  c.labels.reserve(static_cast<size_t>(points));
  for (int i = 0; i < points; ++i) {
    const double x = rng.uniform(), y = rng.uniform();
    double z = base_height(category, x, y) + tx * x + ty * y + off + noise * rng.normal();
    bool label = false;
    if (has_defect && defect == "hole") {
      const double dd = std::hypot(x - d.cx, y - d.cy);
      if (dd < d.r) continue;    // removed: the hole
      label = dd < d.r + 0.025;  // its rim
    } else if (has_defect) {
      auto [dz, l] = d.at(x, y);
      z += dz;
      label = l;
    }
    c.xyz.insert(c.xyz.end(), {static_cast<float>(x), static_cast<float>(y), static_cast<float>(z)});
    c.labels.push_back(label ? 1 : 0);
  }
  return c;
}

SynthSummary write_synthetic_pointcloud_dataset(const fs::path& out, std::uint64_t seed,
                                                const PointSynthOptions& o) {
  check_options(o);
  prepare_out(out);
  SynthSummary sum;
  sum.root = out;
  sum.seed = seed;
  for (const std::string cat : {"plate", "wave"}) {
    sum.categories.push_back(cat);
    const std::string test_enc = cat == "plate" ? "ascii" : "binary_compressed";
    for (int i = 0; i < o.train; ++i) {
      auto c = make_synthetic_cloud(cat, seed, "train", "good", i, o.points);
      write_bytes(out / cat / "train" / (std::to_string(i) + "_template.pcd"), pcd_bytes(c.xyz, "binary"));
      sum.train_images++;
      sum.files_written++;
    }
    int idx = 0;
    auto write_test = [&](const std::string& defect, int i) {
      auto c = make_synthetic_cloud(cat, seed, "test", defect, i, o.points);
      const std::string stem = std::to_string(idx++) + "_" + defect;
      write_bytes(out / cat / "test" / (stem + ".pcd"), pcd_bytes(c.xyz, test_enc));
      std::string gt;
      gt.reserve(c.labels.size() * 32);
      for (size_t p = 0; p < c.labels.size(); ++p)
        gt += fmt(c.xyz[3 * p]) + " " + fmt(c.xyz[3 * p + 1]) + " " + fmt(c.xyz[3 * p + 2]) + " " +
              (c.labels[p] ? "1" : "0") + "\n";
      write_bytes(out / cat / "gt" / (stem + ".txt"), gt);
      sum.files_written += 2;
    };
    for (int i = 0; i < o.test_good; ++i, sum.test_good_images++) write_test("good", i);
    for (const auto& defect : kCloudDefects)
      for (int i = 0; i < o.per_defect; ++i, sum.test_defect_images++) write_test(defect, i);
  }
  write_bytes(out / "README.txt",
              "adbench synthetic point clouds (Real3D-AD layout), seed " + std::to_string(seed) +
                  "\nplate: test clouds in ASCII PCD; wave: binary_compressed PCD; templates: binary PCD.\n"
                  "gt/<stem>.txt: x y z label per point. Defects: bump, crack, dent, hole.\n");
  sum.files_written++;
  return sum;
}

SynthSummary write_synthetic_xyz_dataset(const fs::path& out, std::uint64_t seed,
                                         const PointSynthOptions& o) {
  check_options(o);
  prepare_out(out);
  SynthSummary sum;
  sum.root = out;
  sum.seed = seed;
  const std::string cat = "disc";
  sum.categories.push_back(cat);
  const int n = o.grid;
  auto render = [&](const std::string& split, const std::string& defect, int index) {
    Rng rng = sample_rng(seed, cat, split, defect, index);
    const double jx = rng.uniform(-0.03, 0.03), jy = rng.uniform(-0.03, 0.03),
                 tilt = rng.uniform(-0.02, 0.02);
    Defect d;
    const bool has_defect = defect != "good";
    if (has_defect) d = make_defect(rng, defect, -0.45, 0.45, 1.6);
    cv::Mat xyz(n, n, CV_32FC3, cv::Scalar(0, 0, 0));
    cv::Mat gt(n, n, CV_8UC1, cv::Scalar(0));
    cv::Mat rgb(n, n, CV_8UC3, cv::Scalar(40, 40, 40));
    for (int r = 0; r < n; ++r)
      for (int c = 0; c < n; ++c) {
        const double x = 2.0 * (c + 0.5) / n - 1.0 - jx, y = 2.0 * (r + 0.5) / n - 1.0 - jy;
        const double dropout = rng.uniform();
        const double noise = rng.normal();
        if (x * x + y * y >= 0.85 * 0.85 || dropout < 0.01) continue;  // background or dropout: missing
        double z = 1.0 + base_height(cat, x, y) + tilt * x + 0.001 * noise;
        if (has_defect) {
          auto [dz, l] = d.at(x, y);
          z += dz;
          if (l) gt.at<std::uint8_t>(r, c) = 255;
        }
        // Stored BGR-first by OpenCV: channel 0 = z, 1 = y, 2 = x, so the file holds (x, y, z).
        xyz.at<cv::Vec3f>(r, c) =
            cv::Vec3f(static_cast<float>(z), static_cast<float>(y), static_cast<float>(x));
        const auto shade = static_cast<std::uint8_t>(std::clamp(120.0 + 600.0 * (z - 1.0), 0.0, 255.0));
        rgb.at<cv::Vec3b>(r, c) = cv::Vec3b(shade, shade, shade);
      }
    char stem[16];
    std::snprintf(stem, sizeof stem, "%03d", index);
    const fs::path dir = out / cat / split / defect;
    make_dirs(dir / "xyz");
    make_dirs(dir / "rgb");
    // Uncompressed: OpenCV's default for 3-channel float TIFF is SGILOG (LogLuv), which is lossy.
    write_image(dir / "xyz" / (std::string(stem) + ".tiff"), xyz, {cv::IMWRITE_TIFF_COMPRESSION, 1});
    write_image(dir / "rgb" / (std::string(stem) + ".png"), rgb);
    sum.files_written += 2;
    if (split == "test") {
      make_dirs(dir / "gt");
      write_image(dir / "gt" / (std::string(stem) + ".png"), gt);
      sum.files_written++;
    }
  };
  for (int i = 0; i < o.train; ++i, sum.train_images++) render("train", "good", i);
  for (int i = 0; i < 2; ++i) render("validation", "good", i);
  for (int i = 0; i < o.test_good; ++i, sum.test_good_images++) render("test", "good", i);
  for (const auto& defect : kXyzDefects)
    for (int i = 0; i < o.per_defect; ++i, sum.test_defect_images++) render("test", defect, i);
  write_bytes(out / "README.txt", "adbench synthetic organised xyz clouds (MVTec 3D-AD layout), seed " +
                                      std::to_string(seed) +
                                      "\nxyz: float32 3-channel TIFF, (0,0,0) = missing.\n");
  sum.files_written++;
  return sum;
}

}  // namespace adbench
