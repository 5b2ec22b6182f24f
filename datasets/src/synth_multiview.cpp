// Synthetic multi-view data in the Real-IAD layout (issue 10). Everything random comes from
// SplitMix64 streams with our own Box-Muller (std:: distributions differ between standard
// libraries); each view is rendered from (seed, category, class, number, view) alone.
#include "adbench/datasets/synth_multiview.hpp"

#include <ATen/Parallel.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <exception>
#include <mutex>
#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <sstream>
#include <string>

#include "adbench/core/error.hpp"
#include "adbench/core/fs.hpp"
#include "adbench/core/interrupt.hpp"
#include "adbench/core/rng.hpp"
#include "synth_random.hpp"

namespace fs = std::filesystem;

namespace adbench {

namespace {

constexpr double kPi = 3.14159265358979323846;
constexpr int kSize = 128;
constexpr double kScale = 96.0;  // pixels per scene unit
constexpr int kViews = 5;
constexpr int kMinVisible = 4;  // a view seeing fewer defect pixels is OK
constexpr int kMaxAttempts = 400;
constexpr int kJpegQuality = 95;

const std::array<std::string, 2> kCategories = {"crate", "socket"};
const std::array<std::string, 3> kDefects = {"CH", "HS", "ZW"};

// ---------------------------------------------------------------------------------------------
// Random numbers: synth_random.hpp (SplitMix64 streams, Box-Muller normals).

using synth_detail::mix;
using synth_detail::SplitMix;

double hash01(std::uint64_t h) { return static_cast<double>(h >> 11) * (1.0 / 9007199254740992.0); }

/// Smooth value noise in [0, 1] on the integer lattice of (x, y).
double vnoise(std::uint64_t key, double x, double y) {
  const double fx0 = std::floor(x), fy0 = std::floor(y);
  const auto ix = static_cast<std::int64_t>(fx0), iy = static_cast<std::int64_t>(fy0);
  double fx = x - fx0, fy = y - fy0;
  fx = fx * fx * (3 - 2 * fx);
  fy = fy * fy * (3 - 2 * fy);
  auto at = [&](std::int64_t i, std::int64_t j) {
    return hash01(mix(mix(key, static_cast<std::uint64_t>(i)), static_cast<std::uint64_t>(j)));
  };
  const double a = at(ix, iy), b = at(ix + 1, iy), c = at(ix, iy + 1), d = at(ix + 1, iy + 1);
  return (a * (1 - fx) + b * fx) * (1 - fy) + (c * (1 - fx) + d * fx) * fy;
}

// ---------------------------------------------------------------------------------------------
// Geometry: axis-aligned rectangles in object coordinates (the box stands on z = 0).

using Vec = std::array<double, 3>;
using Color = std::array<double, 3>;

enum Face : int {
  kTop,
  kSidePX,
  kSideNX,
  kSidePY,
  kSideNY,
  kFloor,
  kWallX0,
  kWallX1,
  kWallY0,
  kWallY1,
  kGround
};
constexpr int kFaces = 11;

struct Rect {
  int axis = 2;                           // the normal's axis
  int sign = 1;                           // the normal's direction along it
  double plane = 0.0;                     // coordinate along the axis
  double lo[2] = {0, 0}, hi[2] = {0, 0};  // (u, v) = the other two coordinates in x, y, z order
  bool hole = false;
  double hlo[2] = {0, 0}, hhi[2] = {0, 0};
  bool infinite = false;
};

struct CategoryGeometry {
  double a = 0.46, b = 0.40, h = 0.42;                                    // half-extents in x, y; height
  double px0 = -0.24, px1 = 0.20, py0 = -0.20, py1 = 0.22, depth = 0.26;  // the pocket
  std::array<Rect, kFaces> faces;
};

CategoryGeometry make_geometry(const std::string& category) {
  CategoryGeometry g;
  if (category == "socket") {
    g.a = 0.42, g.b = 0.46, g.h = 0.38;
    g.px0 = -0.18, g.px1 = 0.22, g.py0 = -0.24, g.py1 = 0.18, g.depth = 0.24;
  }
  const double fz = g.h - g.depth;
  auto rect = [](int axis, int sign, double plane, double u0, double u1, double v0, double v1) {
    Rect r;
    r.axis = axis, r.sign = sign, r.plane = plane;
    r.lo[0] = u0, r.hi[0] = u1, r.lo[1] = v0, r.hi[1] = v1;
    return r;
  };
  g.faces[kTop] = rect(2, 1, g.h, -g.a, g.a, -g.b, g.b);
  g.faces[kTop].hole = true;
  g.faces[kTop].hlo[0] = g.px0, g.faces[kTop].hhi[0] = g.px1;
  g.faces[kTop].hlo[1] = g.py0, g.faces[kTop].hhi[1] = g.py1;
  g.faces[kSidePX] = rect(0, 1, g.a, -g.b, g.b, 0, g.h);
  g.faces[kSideNX] = rect(0, -1, -g.a, -g.b, g.b, 0, g.h);
  g.faces[kSidePY] = rect(1, 1, g.b, -g.a, g.a, 0, g.h);
  g.faces[kSideNY] = rect(1, -1, -g.b, -g.a, g.a, 0, g.h);
  g.faces[kFloor] = rect(2, 1, fz, g.px0, g.px1, g.py0, g.py1);
  g.faces[kWallX0] = rect(0, 1, g.px0, g.py0, g.py1, fz, g.h);
  g.faces[kWallX1] = rect(0, -1, g.px1, g.py0, g.py1, fz, g.h);
  g.faces[kWallY0] = rect(1, 1, g.py0, g.px0, g.px1, fz, g.h);
  g.faces[kWallY1] = rect(1, -1, g.py1, g.px0, g.px1, fz, g.h);
  g.faces[kGround] = rect(2, 1, 0.0, 0, 0, 0, 0);
  g.faces[kGround].infinite = true;
  return g;
}

/// The (u, v) axes of a face whose normal is along `axis`.
void uv_axes(int axis, int& iu, int& iv) {
  iu = axis == 0 ? 1 : 0;
  iv = axis == 2 ? 1 : 2;
}

struct Hit {
  int face = kGround;
  double u = 0, v = 0;
};

/// The nearest front-facing rectangle along o + t d (object coordinates).
Hit cast(const CategoryGeometry& g, const Vec& o, const Vec& d) {
  Hit best;
  double best_t = 1e300;
  for (int f = 0; f < kFaces; ++f) {
    const Rect& r = g.faces[static_cast<std::size_t>(f)];
    const double dn = d[static_cast<std::size_t>(r.axis)];
    if (r.sign * dn >= 0) continue;  // back face or parallel
    const double t = (r.plane - o[static_cast<std::size_t>(r.axis)]) / dn;
    if (t <= 0 || t >= best_t) continue;
    int iu = 0, iv = 0;
    uv_axes(r.axis, iu, iv);
    const double u = o[static_cast<std::size_t>(iu)] + t * d[static_cast<std::size_t>(iu)];
    const double v = o[static_cast<std::size_t>(iv)] + t * d[static_cast<std::size_t>(iv)];
    if (!r.infinite) {
      if (u < r.lo[0] || u > r.hi[0] || v < r.lo[1] || v > r.hi[1]) continue;
      if (r.hole && u > r.hlo[0] && u < r.hhi[0] && v > r.hlo[1] && v < r.hhi[1]) continue;
    }
    best_t = t;
    best.face = f;
    best.u = u;
    best.v = v;
  }
  return best;
}

// ---------------------------------------------------------------------------------------------
// Samples: pose, light, defect.

struct Defect {
  std::string code;  // "" for none
  int face = kFloor;
  double cu = 0, cv = 0;  // centre
  double angle = 0;       // radians
  double r1 = 0, r2 = 0;  // HS: half-length, half-width; CH: semi-axes; ZW: radius, wobble
  double phase = 0;       // ZW wobble phase

  bool contains(int f, double u, double v) const {
    if (code.empty() || f != face) return false;
    const double du = u - cu, dv = v - cv;
    const double c = std::cos(angle), s = std::sin(angle);
    const double x = c * du + s * dv, y = -s * du + c * dv;
    if (code == "HS") {
      const double t = std::clamp(x, -r1, r1);
      return (x - t) * (x - t) + y * y <= r2 * r2;
    }
    if (code == "CH") return (x / r1) * (x / r1) + (y / r2) * (y / r2) <= 1.0;
    const double rr = r1 * (1.0 + r2 * std::sin(3.0 * std::atan2(dv, du) + phase));
    return du * du + dv * dv <= rr * rr;
  }
};

struct SamplePlan {
  std::string category, cls;
  int number = 0;
  std::uint64_t key = 0;
  double yaw = 0, tx = 0, ty = 0;  // object pose
  Vec light{};                     // unit vector towards the light (world)
  double gain = 1.0;
  Defect defect;
  std::array<int, kViews> visible{};  // defect pixels per view (before the < 4 px rule)
  int year = 2023, month = 1, day = 1, hour = 0, minute = 0, second = 0;
};

struct Camera {
  Vec dir{};    // from the scene towards the camera
  Vec right{};  // image x
  Vec up{};     // image -y
};

Camera camera(int view) {
  Camera c;
  if (view == 1) {
    c.dir = {0, 0, 1};
    c.right = {1, 0, 0};
    c.up = {0, 1, 0};
    return c;
  }
  const double az = (view - 2) * kPi / 2, el = kPi / 4;
  c.dir = {std::cos(el) * std::cos(az), std::cos(el) * std::sin(az), std::sin(el)};
  // right = normalize(forward x z), forward = -dir; up = right x forward.
  c.right = {-std::sin(az), std::cos(az), 0.0};
  const Vec f = {-c.dir[0], -c.dir[1], -c.dir[2]};
  c.up = {c.right[1] * f[2] - c.right[2] * f[1], c.right[2] * f[0] - c.right[0] * f[2],
          c.right[0] * f[1] - c.right[1] * f[0]};
  return c;
}

/// Per pixel, the id-buffer hit of `view` (row-major kSize x kSize).
std::vector<Hit> id_buffer(const CategoryGeometry& g, const SamplePlan& p, int view) {
  const Camera cam = camera(view);
  const double cy = std::cos(p.yaw), sy = std::sin(p.yaw);
  // World -> object: p_o = R^T (p_w - T).
  auto to_object = [&](const Vec& w, bool point) {
    const double x = w[0] - (point ? p.tx : 0.0), y = w[1] - (point ? p.ty : 0.0);
    return Vec{cy * x + sy * y, -sy * x + cy * y, w[2]};
  };
  const Vec centre = {p.tx, p.ty, g.h / 2};
  const Vec d = to_object({-cam.dir[0], -cam.dir[1], -cam.dir[2]}, false);
  std::vector<Hit> out(static_cast<std::size_t>(kSize * kSize));
  for (int i = 0; i < kSize; ++i)
    for (int j = 0; j < kSize; ++j) {
      const double X = (j + 0.5 - kSize / 2.0) / kScale, Y = -(i + 0.5 - kSize / 2.0) / kScale;
      Vec o;
      for (std::size_t k = 0; k < 3; ++k)
        o[k] = centre[k] + X * cam.right[k] + Y * cam.up[k] + 4.0 * cam.dir[k];
      out[static_cast<std::size_t>(i * kSize + j)] = cast(g, to_object(o, true), d);
    }
  return out;
}

std::uint64_t category_key(std::uint64_t seed, const std::string& category) {
  return mix(seed, fnv1a("synth_multiview:" + category));
}

std::uint64_t sample_key(std::uint64_t seed, const std::string& category, const std::string& cls,
                         int number) {
  return mix(mix(category_key(seed, category), fnv1a("class:" + cls)), static_cast<std::uint64_t>(number));
}

Defect draw_defect(const CategoryGeometry& g, const std::string& code, bool on_floor, SplitMix& r) {
  Defect d;
  d.code = code;
  if (on_floor) {
    d.face = kFloor;
    d.cu = r.uniform(g.px0 + 0.05, g.px1 - 0.05);
    d.cv = r.uniform(g.py0 + 0.05, g.py1 - 0.05);
  } else {
    d.face = kSidePX + r.integer(0, 3);
    const Rect& f = g.faces[static_cast<std::size_t>(d.face)];
    d.cu = r.uniform(f.lo[0] + 0.1, f.hi[0] - 0.1);
    d.cv = r.uniform(0.1, g.h - 0.1);
  }
  d.angle = r.uniform(0.0, kPi);
  if (code == "HS") {
    d.r1 = r.uniform(0.06, 0.11);
    d.r2 = r.uniform(0.010, 0.016);
  } else if (code == "CH") {
    d.r1 = r.uniform(0.05, 0.09);
    d.r2 = r.uniform(0.03, 0.05);
  } else {
    d.r1 = r.uniform(0.035, 0.06);
    d.r2 = r.uniform(0.1, 0.3);
    d.phase = r.uniform(0.0, 2 * kPi);
  }
  return d;
}

void check_sample(const std::string& category, const std::string& cls, int number, int view) {
  check_input(std::find(kCategories.begin(), kCategories.end(), category) != kCategories.end(),
              "synthetic multiview: unknown category '" + category + "' (crate, socket)");
  check_input(cls == "OK" || std::find(kDefects.begin(), kDefects.end(), cls) != kDefects.end(),
              "synthetic multiview: unknown class '" + cls + "' (OK, CH, HS, ZW)");
  check_input(number >= 1 && number <= 9999,
              "synthetic multiview: sample number must be 1..9999, got " + std::to_string(number));
  check_input(view >= 1 && view <= kViews,
              "synthetic multiview: view must be 1..5, got " + std::to_string(view));
}

SamplePlan plan_sample(const CategoryGeometry& g, std::uint64_t seed, const std::string& category,
                       const std::string& cls, int number) {
  SamplePlan p;
  p.category = category;
  p.cls = cls;
  p.number = number;
  p.key = sample_key(seed, category, cls, number);
  SplitMix r(mix(p.key, fnv1a("pose")));
  p.yaw = r.uniform(-4.0, 4.0) * kPi / 180.0;
  p.tx = r.uniform(-0.03, 0.03);
  p.ty = r.uniform(-0.03, 0.03);
  const double laz = (30.0 + r.uniform(-20.0, 20.0)) * kPi / 180.0;
  const double lel = (55.0 + r.uniform(-5.0, 5.0)) * kPi / 180.0;
  p.light = {std::cos(lel) * std::cos(laz), std::cos(lel) * std::sin(laz), std::sin(lel)};
  p.gain = r.uniform(0.93, 1.07);
  SplitMix t(mix(p.key, fnv1a("time")));
  p.month = t.integer(1, 12);
  p.day = t.integer(1, 28);
  p.hour = t.integer(8, 18);
  p.minute = t.integer(0, 59);
  p.second = t.integer(0, 50);
  if (cls == "OK") return p;
  // Odd numbers: on the pocket floor (seen from C1); even: on a side face (never seen from C1).
  // Redraw until the defect is seen (>= 4 px) from 1..3 views and from C1 exactly when it should be.
  const bool want_c1 = number % 2 == 1;
  for (int attempt = 0; attempt < kMaxAttempts; ++attempt) {
    SplitMix dr(mix(mix(p.key, fnv1a("defect")), static_cast<std::uint64_t>(attempt)));
    p.defect = draw_defect(g, cls, want_c1, dr);
    int seen = 0;
    for (int v = 1; v <= kViews; ++v) {
      int n = 0;
      for (const Hit& h : id_buffer(g, p, v)) n += p.defect.contains(h.face, h.u, h.v);
      p.visible[static_cast<std::size_t>(v - 1)] = n;
      seen += n >= kMinVisible;
    }
    if (seen >= 1 && seen <= 3 && (p.visible[0] >= kMinVisible) == want_c1) return p;
  }
  throw InternalError("synthetic multiview: no defect placement found for " + category + " " + cls + " " +
                      std::to_string(number));
}

// ---------------------------------------------------------------------------------------------
// Texture and shading.

Color texel(std::uint64_t tex, const std::string& category, int face, double u, double v) {
  const double fine = vnoise(mix(tex, 1), u * 40, v * 40) - 0.5;
  if (face == kGround) {
    const double n = vnoise(mix(tex, 2), u * 4, v * 4);
    const double k = 0.9 + 0.2 * n + 0.05 * fine;
    return {0.50 * k, 0.50 * k, 0.48 * k};
  }
  const bool wall = face >= kWallX0 && face <= kWallY1;
  if (category == "crate") {
    if (face == kFloor) {
      const double k = 0.95 + 0.08 * fine + 0.05 * (vnoise(mix(tex, 3), u * 9, v * 9) - 0.5);
      return {0.82 * k, 0.79 * k, 0.70 * k};
    }
    // Wood: grain along u, warped by noise.
    const double warp = vnoise(mix(tex, 4 + static_cast<std::uint64_t>(face)), u * 3, v * 6);
    const double grain = 0.85 + 0.15 * std::sin(2 * kPi * (v * 14 + 1.2 * warp));
    const double k = (wall ? 0.8 : 1.0) * (grain + 0.08 * fine);
    return {0.74 * k, 0.53 * k, 0.32 * k};
  }
  // socket: blue-grey plastic with a grid of grooves, a dark pocket floor with speckles.
  if (face == kFloor) {
    const double s = vnoise(mix(tex, 5), u * 30, v * 30) > 0.8 ? 0.12 : 0.0;
    const double k = 1.0 + 0.1 * fine;
    return {0.22 * k + s, 0.23 * k + s, 0.27 * k + s};
  }
  const double gu = std::abs(u * 10 - std::round(u * 10)), gv = std::abs(v * 10 - std::round(v * 10));
  const double groove = (gu < 0.09 || gv < 0.09) ? 0.72 : 1.0;
  const double k = (wall ? 0.85 : 1.0) * groove * (1.0 + 0.1 * fine);
  return {0.42 * k, 0.51 * k, 0.63 * k};
}

Color apply_defect(const std::string& code, const Color& c) {
  if (code == "HS") return {0.35 * c[0] + 0.62, 0.35 * c[1] + 0.61, 0.35 * c[2] + 0.58};
  if (code == "ZW") return {0.3 * c[0] + 0.06, 0.3 * c[1] + 0.045, 0.3 * c[2] + 0.03};
  const double lum = (c[0] + c[1] + c[2]) / 3;  // CH: pale, desaturated
  return {0.4 * c[0] + 0.6 * (lum + 0.25), 0.4 * c[1] + 0.6 * (lum + 0.25), 0.4 * c[2] + 0.6 * (lum + 0.22)};
}

Vec face_normal(const CategoryGeometry& g, int face) {
  const Rect& r = g.faces[static_cast<std::size_t>(face)];
  Vec n{0, 0, 0};
  n[static_cast<std::size_t>(r.axis)] = r.sign;
  return n;
}

std::string four_digits(int i) {
  char b[16];
  std::snprintf(b, sizeof b, "%04d", i);
  return b;
}

std::string timestamp(const SamplePlan& p, int view) {
  char b[32];
  std::snprintf(b, sizeof b, "%04d%02d%02d%02d%02d%02d", p.year, p.month, p.day, p.hour, p.minute,
                p.second + 2 * (view - 1));
  return b;
}

MultiviewView render_view(const CategoryGeometry& g, std::uint64_t seed, const SamplePlan& p, int view) {
  const std::vector<Hit> ids = id_buffer(g, p, view);
  const bool shown = !p.defect.code.empty() && p.visible[static_cast<std::size_t>(view - 1)] >= kMinVisible;
  const std::uint64_t tex = mix(category_key(seed, p.category), fnv1a("texture"));
  const double cy = std::cos(p.yaw), sy = std::sin(p.yaw);
  std::array<double, kFaces> shade{};
  for (int f = 0; f < kFaces; ++f) {
    const Vec n = face_normal(g, f);
    const Vec nw = {cy * n[0] - sy * n[1], sy * n[0] + cy * n[1], n[2]};
    const double l = std::max(0.0, nw[0] * p.light[0] + nw[1] * p.light[1] + nw[2] * p.light[2]);
    shade[static_cast<std::size_t>(f)] = p.gain * (0.45 + 0.55 * l);
  }
  MultiviewView out;
  out.image = cv::Mat(kSize, kSize, CV_8UC3);
  out.mask = cv::Mat::zeros(kSize, kSize, CV_8UC1);
  SplitMix noise(mix(mix(p.key, fnv1a("noise")), static_cast<std::uint64_t>(view)));
  for (int i = 0; i < kSize; ++i) {
    auto* row = out.image.ptr<std::uint8_t>(i);
    auto* mrow = out.mask.ptr<std::uint8_t>(i);
    for (int j = 0; j < kSize; ++j) {
      const Hit& h = ids[static_cast<std::size_t>(i * kSize + j)];
      Color c = texel(tex, p.category, h.face, h.u, h.v);
      if (shown && p.defect.contains(h.face, h.u, h.v)) {
        c = apply_defect(p.defect.code, c);
        mrow[j] = 255;
        ++out.defect_pixels;
      }
      for (int k = 0; k < 3; ++k) {
        const double x =
            c[static_cast<std::size_t>(k)] * shade[static_cast<std::size_t>(h.face)] + 0.01 * noise.normal();
        row[3 * j + k] = static_cast<std::uint8_t>(std::lround(std::clamp(x, 0.0, 1.0) * 255.0));
      }
    }
  }
  out.anomaly_class = out.defect_pixels > 0 ? p.cls : "OK";
  const std::string id = p.category + "_" + four_digits(p.number) + (p.cls == "OK" ? "_OK" : "_NG_" + p.cls);
  out.stem = id + "_C" + std::to_string(view) + "_" + timestamp(p, view);
  out.folder = (p.cls == "OK" ? "OK/S" : "NG/" + p.cls + "/S") + four_digits(p.number);
  return out;
}

void check_options(const MultiviewSynthOptions& o) {
  check_input(o.train_samples >= 1 && o.train_samples <= 4000,
              "synthetic multiview: train_samples must be 1..4000, got " + std::to_string(o.train_samples));
  check_input(o.test_normal >= 0 && o.test_normal <= 4000,
              "synthetic multiview: test_normal must be 0..4000, got " + std::to_string(o.test_normal));
  check_input(o.per_defect >= 0 && o.per_defect <= 4000,
              "synthetic multiview: per_defect must be 0..4000, got " + std::to_string(o.per_defect));
  for (const auto& c : o.categories)
    check_input(std::find(kCategories.begin(), kCategories.end(), c) != kCategories.end(),
                "synthetic multiview: unknown category '" + c + "' (crate, socket)");
}

void make_dirs(const fs::path& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw_file_error(dir, "cannot create folder (" + ec.message() + ")");
}

void prepare_root(const fs::path& out) {
  std::error_code ec;
  if (fs::exists(out, ec) && (!fs::is_directory(out, ec) || !fs::is_empty(out, ec)))
    throw_file_error(out, "already exists and is not empty");
  make_dirs(out);
}

void write_encoded(const fs::path& path, const cv::Mat& m, const std::string& ext,
                   const std::vector<int>& params) {
  std::vector<std::uint8_t> buf;
  bool ok = false;
  try {
    ok = cv::imencode(ext, m, buf, params);
  } catch (const cv::Exception&) {
    ok = false;
  }
  if (!ok) throw_file_error(path, "cannot encode " + ext);
  WriteScope scope;
  write_file_atomic(path, std::string_view(reinterpret_cast<const char*>(buf.data()), buf.size()));
}

struct Job {
  std::string category, cls;
  int number = 0;
  bool train = false;
  std::array<MultiviewView, kViews> views;  // images released after writing
};

std::string readme(std::uint64_t seed, const MultiviewSynthOptions& o, const std::vector<std::string>& cats) {
  std::ostringstream r;
  r << "adbench synthetic multi-view data (Real-IAD layout; read it with --dataset real_iad)\n\n"
    << "seed: " << seed << "\ngenerator: adbench synth --kind multiview, format 1\ncategories:";
  for (const auto& c : cats) r << " " << c;
  r << "\nsamples per category: train " << o.train_samples << " OK; test " << o.test_normal << " OK + "
    << o.per_defect << " per defect code (CH, HS, ZW); 5 views each (C1..C5), 128 x 128 RGB JPEG q95\n\n"
    << "scene: a textured box with a square pocket in its top, on a grey floor; orthographic cameras:\n"
    << "C1 top-down, C2..C5 at 45 deg elevation, azimuth 0/90/180/270 deg; per sample a small yaw\n"
    << "(+-4 deg) and shift, light direction and gain, pixel noise.\n"
    << "defects (texture space, one face): HS scratch, CH abrasion, ZW contamination. Odd-numbered\n"
    << "anomalous samples: on the pocket floor (seen from C1); even-numbered: on an outer side (not\n"
    << "seen from C1). Each is seen (>= 4 px) from 1..3 views; masks (same stem, .png, 0/255) are\n"
    << "exactly its visible pixels; a view that sees < 4 px of it shows none of it and is labelled OK\n"
    << "(anomaly_class \"OK\", mask_path null) although its file lies under NG/.\n"
    << "splits: realiad_jsons/<cat>.json (all views), realiad_jsons_sv/<cat>.json (C1 only); records\n"
    << "of two samples are interleaved: group views by the file-name key, not by position.\n";
  return r.str();
}

}  // namespace

std::vector<std::string> synthetic_multiview_categories() { return {kCategories.begin(), kCategories.end()}; }

std::vector<std::string> synthetic_multiview_defects() { return {kDefects.begin(), kDefects.end()}; }

MultiviewView render_synthetic_multiview_view(const std::string& category, std::uint64_t seed,
                                              const std::string& anomaly_class, int number, int view) {
  check_sample(category, anomaly_class, number, view);
  const CategoryGeometry g = make_geometry(category);
  return render_view(g, seed, plan_sample(g, seed, category, anomaly_class, number), view);
}

SynthSummary write_synthetic_multiview_dataset(const fs::path& out, std::uint64_t seed,
                                               const MultiviewSynthOptions& options) {
  check_options(options);
  std::vector<std::string> cats = options.categories.empty()
                                      ? std::vector<std::string>(kCategories.begin(), kCategories.end())
                                      : options.categories;
  std::sort(cats.begin(), cats.end());
  cats.erase(std::unique(cats.begin(), cats.end()), cats.end());
  prepare_root(out);
  // The jobs: per category the training samples, then the test samples with normal and anomalous
  // ones alternating (OK, CH 1, OK, CH 2, ...), so that consecutive pairs mix classes.
  std::vector<Job> jobs;
  std::vector<std::pair<std::size_t, std::size_t>> ranges;  // per category: [begin, end)
  std::vector<std::size_t> test_begin;
  for (const auto& c : cats) {
    const std::size_t begin = jobs.size();
    for (int i = 1; i <= options.train_samples; ++i) jobs.push_back({c, "OK", i, true, {}});
    test_begin.push_back(jobs.size());
    std::vector<Job> ok, ng;
    for (int i = 1; i <= options.test_normal; ++i)
      ok.push_back({c, "OK", options.train_samples + i, false, {}});
    for (const auto& d : kDefects)
      for (int i = 1; i <= options.per_defect; ++i) ng.push_back({c, d, i, false, {}});
    for (std::size_t i = 0; i < std::max(ok.size(), ng.size()); ++i) {
      if (i < ok.size()) jobs.push_back(ok[i]);
      if (i < ng.size()) jobs.push_back(ng[i]);
    }
    ranges.emplace_back(begin, jobs.size());
  }
  for (const auto& j : jobs)
    make_dirs(
        out / j.category /
        (j.cls == "OK" ? "OK/S" + four_digits(j.number) : "NG/" + j.cls + "/S" + four_digits(j.number)));
  make_dirs(out / "realiad_jsons");
  make_dirs(out / "realiad_jsons_sv");
  const std::vector<int> jpeg = {cv::IMWRITE_JPEG_QUALITY, kJpegQuality};
  const std::vector<int> png = {cv::IMWRITE_PNG_COMPRESSION, 3};
  synth_detail::parallel_items(static_cast<int>(jobs.size()), [&](int k) {
    Job& j = jobs[static_cast<std::size_t>(k)];
    const CategoryGeometry g = make_geometry(j.category);
    const SamplePlan p = plan_sample(g, seed, j.category, j.cls, j.number);
    for (int v = 1; v <= kViews; ++v) {
      MultiviewView mv = render_view(g, seed, p, v);
      const fs::path dir = out / j.category / mv.folder;
      cv::Mat bgr;
      cv::cvtColor(mv.image, bgr, cv::COLOR_RGB2BGR);
      write_encoded(dir / (mv.stem + ".jpg"), bgr, ".jpg", jpeg);
      if (mv.defect_pixels > 0) write_encoded(dir / (mv.stem + ".png"), mv.mask, ".png", png);
      mv.image.release();
      mv.mask.release();
      j.views[static_cast<std::size_t>(v - 1)] = std::move(mv);
    }
  });
  SynthSummary sum;
  sum.root = out;
  sum.seed = seed;
  sum.categories = cats;
  for (std::size_t ci = 0; ci < cats.size(); ++ci) {
    const std::string& c = cats[ci];
    auto records = [&](std::size_t b, std::size_t e, bool c1_only) {
      nlohmann::ordered_json list = nlohmann::ordered_json::array();
      auto add = [&](const Job& j, int v) {
        const MultiviewView& mv = j.views[static_cast<std::size_t>(v)];
        nlohmann::ordered_json r;
        r["category"] = c;
        r["anomaly_class"] = mv.anomaly_class;
        r["image_path"] = mv.folder + "/" + mv.stem + ".jpg";
        r["mask_path"] = mv.defect_pixels > 0 ? nlohmann::ordered_json(mv.folder + "/" + mv.stem + ".png")
                                              : nlohmann::ordered_json(nullptr);
        list.push_back(r);
      };
      // Two samples at a time, their views interleaved: a C1, b C1, a C2, b C2, ...
      for (std::size_t i = b; i < e; i += 2) {
        const bool pair = i + 1 < e;
        for (int v = 0; v < (c1_only ? 1 : kViews); ++v) {
          add(jobs[i], v);
          if (pair) add(jobs[i + 1], v);
        }
      }
      return list;
    };
    for (const bool sv : {false, true}) {
      nlohmann::ordered_json j;
      j["meta"] = {{"prefix", c + "/"}, {"normal_class", "OK"}};
      j["train"] = records(ranges[ci].first, test_begin[ci], sv);
      j["test"] = records(test_begin[ci], ranges[ci].second, sv);
      write_file_atomic(out / (sv ? "realiad_jsons_sv" : "realiad_jsons") / (c + ".json"), j.dump(1) + "\n");
      sum.files_written += 1;
    }
  }
  for (const auto& j : jobs)
    for (const auto& v : j.views) {
      sum.files_written += 1 + (v.defect_pixels > 0);
      if (j.train)
        ++sum.train_images;
      else
        ++(v.defect_pixels > 0 ? sum.test_defect_images : sum.test_good_images);
    }
  write_file_atomic(out / "README.txt", readme(seed, options, cats));
  sum.files_written += 1;
  return sum;
}

}  // namespace adbench
