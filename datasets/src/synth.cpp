// Synthetic dataset generator. Everything random comes from our own xoshiro256** streams (std::
// distributions differ between standard libraries); OpenCV is used only for deterministic
// operations (resize, polygon filling, PNG encoding with fixed parameters).
#include "adbench/datasets/synth.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <sstream>

#include "adapters.hpp"
#include "adbench/core/error.hpp"
#include "adbench/core/interrupt.hpp"
#include "adbench/core/rng.hpp"

namespace fs = std::filesystem;

namespace adbench {

namespace {

constexpr double kPi = 3.14159265358979323846;
constexpr double kNoiseSigma = 3.0;  // per-pixel sensor noise, grey levels

// ---------------------------------------------------------------------------------------------
// Random numbers

std::uint64_t hash_string(const std::string& s) { return fnv1a(s); }

std::uint64_t mix(std::uint64_t a, std::uint64_t b) {
  std::uint64_t st = a ^ (b * 0xD6E8FEB86659FD93ULL + 0x632BE59BD9B4E019ULL);
  return splitmix64(st);
}

// Rng: xoshiro256** seeded through splitmix64 (adbench/core/rng.hpp, shared with synth_points.cpp).

// ---------------------------------------------------------------------------------------------
// Categories

const std::vector<SynthCategoryInfo>& category_table() {
  static const std::vector<SynthCategoryInfo> table = [] {
    std::vector<SynthCategoryInfo> t;
    const std::vector<std::string> tex = {"color", "hole", "scratch", "spot"};
    const std::vector<std::string> obj = {"color", "hole", "missing", "scratch", "spot"};
    t.push_back({"bracket", false, 256, 192, false, obj,
                 "an L-shaped brushed-steel bracket with three screw holes on a light background"});
    t.push_back({"cap", false, 224, 224, false, obj, "a red knurled bottle cap on a dark background"});
    t.push_back(
        {"marble", true, 192, 192, true, tex, "smooth veined marble; sizes vary (each side 184..200 px)"});
    t.push_back({"weave", true, 160, 160, false, tex, "woven fabric with aligned threads"});
    return t;
  }();
  return table;
}

const SynthCategoryInfo& find_category(const std::string& name) {
  for (const auto& c : category_table())
    if (c.name == name) return c;
  std::vector<std::string> names;
  for (const auto& c : category_table()) names.push_back(c.name);
  throw InputError("unknown synthetic category '" + name + "' (valid: " + datasets_detail::join(names) + ")");
}

// ---------------------------------------------------------------------------------------------
// Rendering helpers

using Vec3 = std::array<double, 3>;

double clamp01(double x) { return x < 0 ? 0 : (x > 1 ? 1 : x); }

std::uint8_t to_u8(double v) {
  v = std::floor(v + 0.5);
  return static_cast<std::uint8_t>(v < 0 ? 0 : (v > 255 ? 255 : v));
}

/// A smooth random field in [0, 1]: a grid x grid random lattice upsampled (bicubic) to w x h.
/// Lattice and output share normalised coordinates, so fields of different sizes align.
cv::Mat smooth_field(Rng& rng, int grid, int w, int h) {
  cv::Mat lattice(grid, grid, CV_32FC1);
  for (int y = 0; y < grid; ++y)
    for (int x = 0; x < grid; ++x) lattice.at<float>(y, x) = static_cast<float>(rng.uniform());
  cv::Mat out;
  cv::resize(lattice, out, cv::Size(w, h), 0, 0, cv::INTER_CUBIC);
  return out;
}

/// The rendered, noise-free-plus-noise scene of one sample, before any defect.
struct Scene {
  cv::Mat img;  ///< CV_8UC3 RGB
  cv::Mat bg;   ///< CV_8UC3 RGB: what lies behind the object (objects only)
  cv::Mat fg;   ///< CV_8UC1: 255 where a defect may go (object coverage >= 0.5; textures: all)
  cv::Mat cov;  ///< CV_32FC1 object coverage (objects only)
  double s = 1.0;
};

/// Adds sensor noise (the same noise to the object and to the background behind it) and rounds.
void finish_scene(Scene& sc, const cv::Mat& fimg, const cv::Mat* fbg, Rng& rng) {
  const int h = fimg.rows, w = fimg.cols;
  sc.img.create(h, w, CV_8UC3);
  if (fbg) sc.bg.create(h, w, CV_8UC3);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      const auto& f = fimg.at<cv::Vec3f>(y, x);
      cv::Vec3b& o = sc.img.at<cv::Vec3b>(y, x);
      for (int c = 0; c < 3; ++c) {
        double n = kNoiseSigma * rng.normal();
        o[c] = to_u8(f[c] + n);
        if (fbg) sc.bg.at<cv::Vec3b>(y, x)[c] = to_u8(fbg->at<cv::Vec3f>(y, x)[c] + n);
      }
    }
}

/// Per-image photometric variation shared by all categories: gain, colour offset, gradient.
struct Photometric {
  double gain;
  Vec3 offset;
  double grad_amp, grad_cos, grad_sin;
  explicit Photometric(Rng& rng) {
    gain = rng.uniform(0.97, 1.03);
    for (auto& o : offset) o = rng.uniform(-3.0, 3.0);
    grad_amp = rng.uniform(-4.0, 4.0);
    double a = rng.uniform(0.0, 2 * kPi);
    grad_cos = std::cos(a);
    grad_sin = std::sin(a);
  }
  /// u, v in [0, 1].
  cv::Vec3f apply(const Vec3& c, double u, double v) const {
    double g = grad_amp * ((u - 0.5) * grad_cos + (v - 0.5) * grad_sin);
    return cv::Vec3f(static_cast<float>(c[0] * gain + offset[0] + g),
                     static_cast<float>(c[1] * gain + offset[1] + g),
                     static_cast<float>(c[2] * gain + offset[2] + g));
  }
};

// ---------------------------------------------------------------------------------------------
// weave: threads of period 10 px (at 160 px), over/under alternating by cell.

Scene render_weave(Rng& cat_rng, Rng& rng, int w, int h, double s) {
  Vec3 warp = {205 + cat_rng.uniform(-10, 10), 188 + cat_rng.uniform(-10, 10),
               158 + cat_rng.uniform(-10, 10)};
  Vec3 weft = {warp[0] - 12, warp[1] - 4, warp[2] + 8};
  Vec3 gap = {88, 78, 64};
  const double period = 10.0 * s;
  Photometric ph(rng);
  cv::Mat f(h, w, CV_32FC3);
  auto bump = [](double t) {  // thread cross-section, t in [0,1) across the cell
    double d = (t - 0.5) / 0.42;
    return d * d >= 1 ? 0.0 : std::sqrt(1 - d * d);
  };
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      double u = (x + 0.5) / period, v = (y + 0.5) / period;
      int i = static_cast<int>(std::floor(u)), j = static_cast<int>(std::floor(v));
      double fu = u - i, fv = v - j;
      bool horizontal_on_top = ((i + j) & 1) == 0;
      double hp = bump(fv) * (0.75 + 0.25 * std::sin(kPi * fu));  // weft runs along x
      double vp = bump(fu) * (0.75 + 0.25 * std::sin(kPi * fv));  // warp runs along y
      double top = horizontal_on_top ? hp : vp, under = horizontal_on_top ? vp : hp;
      const Vec3& top_col = horizontal_on_top ? weft : warp;
      const Vec3& under_col = horizontal_on_top ? warp : weft;
      double a = top, b = (1 - top) * 0.65 * under;
      Vec3 c;
      for (int k = 0; k < 3; ++k) c[k] = gap[k] + a * (top_col[k] - gap[k]) + b * (under_col[k] - gap[k]);
      f.at<cv::Vec3f>(y, x) = ph.apply(c, (x + 0.5) / w, (y + 0.5) / h);
    }
  Scene sc;
  sc.s = s;
  finish_scene(sc, f, nullptr, rng);
  sc.fg = cv::Mat(h, w, CV_8UC1, cv::Scalar(255));
  return sc;
}

// ---------------------------------------------------------------------------------------------
// marble: veins from a warped sine in normalised coordinates.

Scene render_marble(Rng& cat_rng, Rng& rng, int w, int h, double s) {
  cv::Mat f1 = smooth_field(cat_rng, 6, w, h);
  cv::Mat f2 = smooth_field(cat_rng, 13, w, h);
  const double fx = cat_rng.uniform(2.0, 3.0), fy = cat_rng.uniform(1.0, 2.0);
  const double phase = cat_rng.uniform(0, 2 * kPi);
  Vec3 base = {214 + cat_rng.uniform(-8, 8), 212 + cat_rng.uniform(-8, 8), 200 + cat_rng.uniform(-8, 8)};
  Vec3 vein = {118, 126, 116};
  cv::Mat f3 = smooth_field(rng, 5, w, h);  // per-image, small
  Photometric ph(rng);
  cv::Mat f(h, w, CV_32FC3);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      double u = (x + 0.5) / w, v = (y + 0.5) / h;
      double a = f1.at<float>(y, x), b = f2.at<float>(y, x), c3 = f3.at<float>(y, x);
      double t = std::sin(2 * kPi * (fx * u + fy * v) + 5.0 * a + 1.2 * b + phase);
      double m = 1 - std::fabs(t);
      double vw = m * m * m;  // vein weight, 1 on the vein
      Vec3 c;
      for (int k = 0; k < 3; ++k)
        c[k] = base[k] * (1 - vw) + vein[k] * vw + 14.0 * (b - 0.5) + 8.0 * (c3 - 0.5);
      f.at<cv::Vec3f>(y, x) = ph.apply(c, u, v);
    }
  Scene sc;
  sc.s = s;
  finish_scene(sc, f, nullptr, rng);
  sc.fg = cv::Mat(h, w, CV_8UC1, cv::Scalar(255));
  return sc;
}

// ---------------------------------------------------------------------------------------------
// Objects: coverage from a distance function with a soft edge (about 2.5 px at nominal size).

Scene composite(const cv::Mat& fobj, const cv::Mat& fbg, const cv::Mat& cov, Rng& rng, double s) {
  cv::Mat f(fobj.size(), CV_32FC3);
  for (int y = 0; y < f.rows; ++y)
    for (int x = 0; x < f.cols; ++x) {
      float a = cov.at<float>(y, x);
      f.at<cv::Vec3f>(y, x) = fobj.at<cv::Vec3f>(y, x) * a + fbg.at<cv::Vec3f>(y, x) * (1 - a);
    }
  Scene sc;
  sc.s = s;
  finish_scene(sc, f, &fbg, rng);
  sc.cov = cov;
  sc.fg = cov >= 0.5f;
  return sc;
}

Scene render_cap(Rng& cat_rng, Rng& rng, int w, int h, double s) {
  Vec3 body = {176 + cat_rng.uniform(-10, 10), 44 + cat_rng.uniform(-8, 8), 40 + cat_rng.uniform(-8, 8)};
  Vec3 back = {40, 42, 48};
  const int knurls = 40 + 2 * cat_rng.integer(0, 6);
  const double radius = 0.32 * std::min(w, h);
  const double cx = w / 2.0 + rng.uniform(-2, 2) * s, cy = h / 2.0 + rng.uniform(-2, 2) * s;
  const double rot = rng.uniform(-3, 3) * kPi / 180;
  const double edge = 2.5 * s;
  Photometric ph(rng);
  cv::Mat fo(h, w, CV_32FC3), fb(h, w, CV_32FC3), cov(h, w, CV_32FC1);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      double u = (x + 0.5) / w, v = (y + 0.5) / h;
      double dx = x + 0.5 - cx, dy = y + 0.5 - cy;
      double r = std::sqrt(dx * dx + dy * dy), rn = r / radius;
      double phi = std::atan2(dy, dx);
      double vig = 1 - 0.15 * ((u - 0.5) * (u - 0.5) + (v - 0.5) * (v - 0.5)) * 4;
      Vec3 bc = {back[0] * vig, back[1] * vig, back[2] * vig};
      double shade = 1 - 0.22 * rn * rn;
      shade *= 1 - 0.3 * std::exp(-std::pow((rn - 0.72) * radius / (1.3 * s), 2));      // groove
      if (rn > 0.86) shade *= 1 - 0.10 * (0.5 + 0.5 * std::cos(knurls * (phi - rot)));  // knurled rim
      double hx = dx + 0.3 * radius, hy = dy + 0.3 * radius;
      double spec = 45 * std::exp(-(hx * hx + hy * hy) / (2 * std::pow(0.22 * radius, 2)));
      Vec3 oc = {body[0] * shade + spec, body[1] * shade + spec, body[2] * shade + spec};
      fo.at<cv::Vec3f>(y, x) = ph.apply(oc, u, v);
      fb.at<cv::Vec3f>(y, x) = ph.apply(bc, u, v);
      cov.at<float>(y, x) = static_cast<float>(clamp01((radius - r) / edge + 0.5));
    }
  return composite(fo, fb, cov, rng, s);
}

double box_sdf(double px, double py, double x0, double y0, double x1, double y1) {
  double cx = (x0 + x1) / 2, cy = (y0 + y1) / 2, hx = (x1 - x0) / 2, hy = (y1 - y0) / 2;
  double qx = std::fabs(px - cx) - hx, qy = std::fabs(py - cy) - hy;
  double ox = std::max(qx, 0.0), oy = std::max(qy, 0.0);
  return std::sqrt(ox * ox + oy * oy) + std::min(std::max(qx, qy), 0.0);
}

Scene render_bracket(Rng& cat_rng, Rng& rng, int w, int h, double s) {
  Vec3 steel = {122 + cat_rng.uniform(-8, 8), 129 + cat_rng.uniform(-8, 8), 141 + cat_rng.uniform(-8, 8)};
  Vec3 back = {192, 193, 197};
  std::array<double, 64> streak;  // brushed finish along the object's x axis
  for (auto& v : streak) v = cat_rng.uniform(-1, 1);
  const double k = std::min(w / 256.0, h / 192.0);  // object units -> pixels
  const double cx = w / 2.0 + rng.uniform(-2, 2) * s, cy = h / 2.0 + rng.uniform(-2, 2) * s;
  const double rot = rng.uniform(-1.5, 1.5) * kPi / 180;
  const double cr = std::cos(rot), sr = std::sin(rot);
  const double edge = 2.5 * s / k;  // in object units
  Photometric ph(rng);
  cv::Mat fo(h, w, CV_32FC3), fb(h, w, CV_32FC3), cov(h, w, CV_32FC1);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      double u = (x + 0.5) / w, v = (y + 0.5) / h;
      double dx = (x + 0.5 - cx) / k, dy = (y + 0.5 - cy) / k;
      double ox = cr * dx + sr * dy, oy = -sr * dx + cr * dy;  // object coordinates
      double d = std::min(box_sdf(ox, oy, -100, 8, 100, 50), box_sdf(ox, oy, -100, -64, -62, 50));
      for (auto [hx, hy, hr] : {std::array<double, 3>{62, 29, 9}, {0, 29, 8}, {-81, -36, 9}})
        d = std::max(d, -(std::sqrt((ox - hx) * (ox - hx) + (oy - hy) * (oy - hy)) - hr));
      double t = (oy + 70) / 130 * (streak.size() - 1);
      int ti = std::clamp(static_cast<int>(t), 0, static_cast<int>(streak.size()) - 2);
      double st = streak[ti] + (streak[ti + 1] - streak[ti]) * std::clamp(t - ti, 0.0, 1.0);
      double shade = 1 + 0.10 * ox / 100 + 0.04 * st;
      shade *= 1 - 0.25 * std::exp(std::min(d, 0.0) / 3.0);  // bevel
      Vec3 oc = {steel[0] * shade, steel[1] * shade, steel[2] * shade};
      Vec3 bc = {back[0] - 10 * v, back[1] - 10 * v, back[2] - 8 * v};
      fo.at<cv::Vec3f>(y, x) = ph.apply(oc, u, v);
      fb.at<cv::Vec3f>(y, x) = ph.apply(bc, u, v);
      cov.at<float>(y, x) = static_cast<float>(clamp01(0.5 - d / edge));
    }
  return composite(fo, fb, cov, rng, s);
}

// ---------------------------------------------------------------------------------------------
// Defects. Each returns the defective image; the mask is computed from the difference.

bool fg_at(const Scene& sc, double x, double y) {
  int ix = static_cast<int>(std::floor(x)), iy = static_cast<int>(std::floor(y));
  if (ix < 0 || iy < 0 || ix >= sc.fg.cols || iy >= sc.fg.rows) return false;
  return sc.fg.at<std::uint8_t>(iy, ix) != 0;
}

/// A point whose disc of `radius` lies on the object (textures: inside the image margin).
cv::Point2d pick_point(const Scene& sc, Rng& rng, double radius) {
  const double m = radius + 2;
  const int w = sc.img.cols, h = sc.img.rows;
  cv::Point2d p;
  for (int attempt = 0; attempt < 2000; ++attempt) {
    p = {rng.uniform(m, w - m), rng.uniform(m, h - m)};
    bool ok = fg_at(sc, p.x, p.y);
    for (int a = 0; ok && a < 12; ++a)
      ok = fg_at(sc, p.x + radius * std::cos(a * kPi / 6), p.y + radius * std::sin(a * kPi / 6));
    if (ok) return p;
  }
  return p;  // unreachable for the built-in shapes; the caller retries on an empty mask
}

cv::Mat region_ellipse(const Scene& sc, cv::Point2d c, double a, double b, double angle_deg) {
  cv::Mat r = cv::Mat::zeros(sc.img.size(), CV_8UC1);
  cv::ellipse(r, cv::Point(static_cast<int>(std::lround(c.x)), static_cast<int>(std::lround(c.y))),
              cv::Size(static_cast<int>(std::lround(a)), static_cast<int>(std::lround(b))), angle_deg, 0, 360,
              cv::Scalar(255), cv::FILLED, cv::LINE_8);
  return r & sc.fg;
}

cv::Vec3d mean_color(const cv::Mat& img, const cv::Mat& region) {
  cv::Scalar m = cv::mean(img, region);
  return {m[0], m[1], m[2]};
}

cv::Mat defect_scratch(const Scene& sc, Rng& rng) {
  const double s = sc.s;
  const double len = rng.uniform(30, 60) * s;
  cv::Point2d p0 = pick_point(sc, rng, 4 * s);
  std::vector<cv::Point> pts;
  for (int attempt = 0; attempt < 50; ++attempt) {
    double ang = rng.uniform(0, 2 * kPi);
    cv::Point2d dir(std::cos(ang), std::sin(ang)), nrm(-dir.y, dir.x);
    cv::Point2d p2 = p0 + dir * len, p1 = p0 + dir * (len / 2) + nrm * (rng.uniform(-0.15, 0.15) * len);
    if (fg_at(sc, p1.x, p1.y) && fg_at(sc, p2.x, p2.y)) {
      pts = {cv::Point(static_cast<int>(std::lround(p0.x)), static_cast<int>(std::lround(p0.y))),
             cv::Point(static_cast<int>(std::lround(p1.x)), static_cast<int>(std::lround(p1.y))),
             cv::Point(static_cast<int>(std::lround(p2.x)), static_cast<int>(std::lround(p2.y)))};
      break;
    }
  }
  cv::Mat out = sc.img.clone();
  if (pts.empty()) return out;
  cv::Mat r = cv::Mat::zeros(sc.img.size(), CV_8UC1);
  const int thick = std::max(1, static_cast<int>(std::lround(2 * s)));
  cv::polylines(r, std::vector<std::vector<cv::Point>>{pts}, false, cv::Scalar(255), thick, cv::LINE_8);
  r &= sc.fg;
  // Bright on a dark surface, dark on a bright one.
  const cv::Vec3d m = mean_color(sc.img, r);
  const double delta = rng.uniform(75, 95) * (0.299 * m[0] + 0.587 * m[1] + 0.114 * m[2] < 128 ? 1 : -1);
  for (int y = 0; y < r.rows; ++y)
    for (int x = 0; x < r.cols; ++x)
      if (r.at<std::uint8_t>(y, x)) {
        cv::Vec3b& p = out.at<cv::Vec3b>(y, x);
        for (int c = 0; c < 3; ++c) p[c] = to_u8(p[c] + delta);
      }
  return out;
}

cv::Mat defect_hole(const Scene& sc, Rng& rng) {
  const double rad = rng.uniform(5, 9) * sc.s;
  cv::Point2d c = pick_point(sc, rng, rad + 1);
  cv::Mat r = region_ellipse(sc, c, rad, rad, 0);
  cv::Mat out = sc.img.clone();
  for (int y = 0; y < r.rows; ++y)
    for (int x = 0; x < r.cols; ++x)
      if (r.at<std::uint8_t>(y, x)) {
        double d = std::sqrt((x - c.x) * (x - c.x) + (y - c.y) * (y - c.y)) / rad;
        double v = 14 + 22 * std::min(d, 1.0) + 2 * rng.normal();
        out.at<cv::Vec3b>(y, x) = cv::Vec3b(to_u8(v), to_u8(v * 0.95), to_u8(v * 0.9));
      }
  return out;
}

cv::Mat defect_spot(const Scene& sc, Rng& rng) {
  const double a = rng.uniform(5, 11) * sc.s, b = rng.uniform(5, 11) * sc.s;
  cv::Point2d c = pick_point(sc, rng, std::max(a, b));
  cv::Mat r = region_ellipse(sc, c, a, b, rng.uniform(0, 180));
  cv::Mat out = sc.img.clone();
  cv::Vec3d m = mean_color(sc.img, r);
  const bool bright = 0.299 * m[0] + 0.587 * m[1] + 0.114 * m[2] < 110;
  for (int y = 0; y < r.rows; ++y)
    for (int x = 0; x < r.cols; ++x)
      if (r.at<std::uint8_t>(y, x)) {
        cv::Vec3b& p = out.at<cv::Vec3b>(y, x);
        for (int k = 0; k < 3; ++k) p[k] = to_u8(bright ? p[k] + (255 - p[k]) * 0.7 : p[k] * 0.35);
      }
  return out;
}

cv::Mat defect_color(const Scene& sc, Rng& rng) {
  const double a = rng.uniform(8, 16) * sc.s, b = rng.uniform(8, 16) * sc.s;
  cv::Point2d c = pick_point(sc, rng, std::max(a, b));
  cv::Mat r = region_ellipse(sc, c, a, b, rng.uniform(0, 180));
  cv::Mat out = sc.img.clone();
  cv::Vec3d m = mean_color(sc.img, r);
  static const cv::Vec3d kTints[] = {{40, 90, 230}, {40, 200, 60}, {240, 210, 30}, {230, 40, 200}};
  // The two tints farthest from the region's colour, one picked at random.
  std::array<std::pair<double, int>, 4> dist;
  for (int i = 0; i < 4; ++i) dist[i] = {-cv::norm(kTints[i] - m), i};
  std::sort(dist.begin(), dist.end());
  cv::Vec3d shift = (kTints[dist[rng.integer(0, 1)].second] - m) * 0.65;
  for (int y = 0; y < r.rows; ++y)
    for (int x = 0; x < r.cols; ++x)
      if (r.at<std::uint8_t>(y, x)) {
        cv::Vec3b& p = out.at<cv::Vec3b>(y, x);
        for (int k = 0; k < 3; ++k) p[k] = to_u8(p[k] + shift[k]);
      }
  return out;
}

cv::Mat defect_missing(const Scene& sc, Rng& rng) {
  // A bite centred on the object's outline: everything the object covered there becomes background.
  cv::Point2d c(-1, -1);
  const int w = sc.img.cols, h = sc.img.rows;
  const double rad = rng.uniform(14, 22) * sc.s;
  for (int attempt = 0; attempt < 20000; ++attempt) {
    int x = rng.integer(0, w - 1), y = rng.integer(0, h - 1);
    float cv_ = sc.cov.at<float>(y, x);
    if (cv_ > 0.3f && cv_ < 0.7f && x > rad && y > rad && x < w - rad && y < h - rad) {
      c = {x + 0.5, y + 0.5};
      break;
    }
  }
  cv::Mat out = sc.img.clone();
  if (c.x < 0) return out;
  cv::Mat r = cv::Mat::zeros(sc.img.size(), CV_8UC1);
  cv::circle(r, cv::Point(static_cast<int>(c.x), static_cast<int>(c.y)), static_cast<int>(std::lround(rad)),
             cv::Scalar(255), cv::FILLED, cv::LINE_8);
  r &= (sc.cov > 0.0f);
  sc.bg.copyTo(out, r);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Medium and hard: what changes after an easy rendering (a separate random stream, so that easy
// keeps its bytes).

struct Hardness {
  double shift;      ///< misalignment: +- pixels at the nominal size
  double rotate;     ///< misalignment: +- degrees
  double gain;       ///< lighting drift: gain 1 +- gain
  double offset;     ///< lighting drift: colour offset +- levels per channel
  double gradient;   ///< lighting drift: linear gradient +- levels across the image
  double noise;      ///< fresh sensor noise sigma after the warp (levels)
  double contrast;   ///< defects: the defective pixels move this share of the way from clean
  double size;       ///< defects: size factor
  double hard_good;  ///< share of test/good images drawn at the edge of the pose and lighting range
};

const Hardness& hardness(SynthDifficulty d) {
  static const Hardness medium{12, 12, 0.08, 6, 14, 2.0, 0.55, 0.7, 0.4};
  static const Hardness hard{15, 15, 0.12, 10, 22, 2.5, 0.35, 0.55, 0.5};
  return d == SynthDifficulty::Hard ? hard : medium;
}

/// +-a, uniform; at the edge (hard negatives): a random sign times [0.75 a, a].
double jitter(Rng& rng, double a, bool edge) {
  if (!edge) return rng.uniform(-a, a);
  const double sign = rng.uniform() < 0.5 ? -1.0 : 1.0;
  return sign * rng.uniform(0.75 * a, a);
}

/// Misaligns and relights a rendered scene (image, background, coverage and defect area alike).
void perturb(Scene& sc, Rng& rng, const Hardness& h, bool edge) {
  const int w = sc.img.cols, ht = sc.img.rows;
  const double dx = jitter(rng, h.shift, edge) * sc.s, dy = jitter(rng, h.shift, edge) * sc.s;
  const double angle = jitter(rng, h.rotate, edge);
  cv::Mat m = cv::getRotationMatrix2D(cv::Point2f(w / 2.0f, ht / 2.0f), angle, 1.0);
  m.at<double>(0, 2) += dx;
  m.at<double>(1, 2) += dy;
  auto warp = [&](const cv::Mat& in, int border) {
    cv::Mat out;
    cv::warpAffine(in, out, m, in.size(), cv::INTER_LINEAR, border);
    return out;
  };
  cv::Mat img = warp(sc.img, cv::BORDER_REFLECT_101);
  if (!sc.bg.empty()) {
    sc.bg = warp(sc.bg, cv::BORDER_REFLECT_101);
    sc.cov = warp(sc.cov, cv::BORDER_CONSTANT);
    sc.fg = sc.cov >= 0.5f;
  }
  const double gain = 1.0 + jitter(rng, h.gain, edge);
  double offset[3];
  for (auto& o : offset) o = jitter(rng, h.offset, edge);
  const double grad = jitter(rng, h.gradient, edge), dir = rng.uniform(0.0, 2 * kPi);
  const double gc = std::cos(dir), gs = std::sin(dir);
  cv::Mat out(ht, w, CV_8UC3), bg_out;
  if (!sc.bg.empty()) bg_out.create(ht, w, CV_8UC3);
  for (int y = 0; y < ht; ++y)
    for (int x = 0; x < w; ++x) {
      const double g = grad * (((x + 0.5) / w - 0.5) * gc + ((y + 0.5) / ht - 0.5) * gs);
      for (int c = 0; c < 3; ++c) {
        const double n = h.noise * rng.normal();
        out.at<cv::Vec3b>(y, x)[c] = to_u8(img.at<cv::Vec3b>(y, x)[c] * gain + offset[c] + g + n);
        if (!bg_out.empty())
          bg_out.at<cv::Vec3b>(y, x)[c] = to_u8(sc.bg.at<cv::Vec3b>(y, x)[c] * gain + offset[c] + g + n);
      }
    }
  sc.img = out;
  if (!bg_out.empty()) sc.bg = bg_out;
}

/// A texture defect that keeps the colour and changes the statistics: an elliptical patch blurred.
cv::Mat defect_smudge(const Scene& sc, Rng& rng) {
  const double a = rng.uniform(9, 15) * sc.s, b = rng.uniform(9, 15) * sc.s;
  cv::Point2d c = pick_point(sc, rng, std::max(a, b));
  cv::Mat r = region_ellipse(sc, c, a, b, rng.uniform(0, 180));
  cv::Mat blurred, out = sc.img.clone();
  cv::GaussianBlur(sc.img, blurred, cv::Size(0, 0), 2.5 * sc.s, 0, cv::BORDER_REFLECT_101);
  blurred.copyTo(out, r);
  return out;
}

// ---------------------------------------------------------------------------------------------

struct Size2 {
  int w, h;
  double s;
};

Size2 sample_size(const SynthCategoryInfo& cat, Rng& rng, int image_size) {
  if (image_size > 0)
    return {image_size, image_size, image_size / static_cast<double>(std::min(cat.width, cat.height))};
  int w = cat.width, h = cat.height;
  if (cat.varying_size) {
    w += rng.integer(-8, 8);
    h += rng.integer(-8, 8);
  }
  return {w, h, std::min(w, h) / static_cast<double>(std::min(cat.width, cat.height))};
}

void check_options(const SynthOptions& o) {
  check_input(o.train_good >= 0,
              "synthetic data: train_good must be >= 0, got " + std::to_string(o.train_good));
  check_input(o.test_good >= 0, "synthetic data: test_good must be >= 0, got " + std::to_string(o.test_good));
  check_input(o.per_defect >= 1,
              "synthetic data: per_defect must be >= 1, got " + std::to_string(o.per_defect));
  check_input(o.image_size == 0 || (o.image_size >= 32 && o.image_size <= 1024),
              "synthetic data: image_size must be 0 or 32..1024, got " + std::to_string(o.image_size));
}

std::string file_number(int i) {
  std::string n = std::to_string(i);
  return std::string(n.size() < 3 ? 3 - n.size() : 0, '0') + n;
}

void write_png(const fs::path& path, const cv::Mat& m) {
  WriteScope scope;  // an interrupt never removes the folder while a file is half-written
  cv::Mat out;
  if (m.channels() == 3)
    cv::cvtColor(m, out, cv::COLOR_RGB2BGR);
  else
    out = m;
  static const std::vector<int> kParams = {cv::IMWRITE_PNG_COMPRESSION, 3, cv::IMWRITE_PNG_STRATEGY,
                                           cv::IMWRITE_PNG_STRATEGY_DEFAULT};
  bool ok = false;
  try {
    ok = cv::imwrite(path.string(), out, kParams);
  } catch (const cv::Exception&) {
    ok = false;
  }
  if (!ok) throw_file_error(path, "cannot write PNG");
}

void make_dirs(const fs::path& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw_file_error(dir, "cannot create folder (" + ec.message() + ")");
}

}  // namespace

SynthDifficulty synth_difficulty_from(const std::string& name) {
  if (name == "easy") return SynthDifficulty::Easy;
  if (name == "medium") return SynthDifficulty::Medium;
  if (name == "hard") return SynthDifficulty::Hard;
  throw InputError("synthetic data: difficulty must be easy, medium or hard, got '" + name + "'");
}

std::string to_string(SynthDifficulty d) {
  return d == SynthDifficulty::Easy ? "easy" : d == SynthDifficulty::Medium ? "medium" : "hard";
}

namespace {
/// The category's defects at a difficulty: medium and hard add "smudge" to the textures (sorted).
std::vector<std::string> defects_of(const SynthCategoryInfo& cat, SynthDifficulty d) {
  std::vector<std::string> out = cat.defects;
  if (d != SynthDifficulty::Easy && cat.texture) {
    out.push_back("smudge");
    std::sort(out.begin(), out.end());
  }
  return out;
}
}  // namespace

std::vector<SynthCategoryInfo> synthetic_categories(SynthDifficulty difficulty) {
  std::vector<SynthCategoryInfo> out = category_table();
  for (auto& c : out) c.defects = defects_of(c, difficulty);
  return out;
}

SynthSample render_synthetic_sample(const std::string& category, std::uint64_t seed, const std::string& split,
                                    const std::string& defect, int index, int image_size,
                                    SynthDifficulty difficulty) {
  const SynthCategoryInfo& cat = find_category(category);
  const std::vector<std::string> defects = defects_of(cat, difficulty);
  check_input(split == "train" || split == "test",
              "synthetic data: split must be train or test, got '" + split + "'");
  const bool good = defect == "good";
  if (!good) {
    check_input(split == "test", "synthetic data: train images are all 'good', got defect '" + defect + "'");
    check_input(std::find(defects.begin(), defects.end(), defect) != defects.end(),
                "synthetic data: unknown defect '" + defect + "' for category '" + category +
                    "' at difficulty " + to_string(difficulty) +
                    " (valid: " + datasets_detail::join(defects) + ")");
  }
  check_input(index >= 0, "synthetic data: index must be >= 0");
  check_input(image_size == 0 || (image_size >= 32 && image_size <= 1024),
              "synthetic data: image_size must be 0 or 32..1024, got " + std::to_string(image_size));

  const std::uint64_t cat_seed = mix(seed, hash_string(category));
  std::uint64_t img_seed =
      mix(mix(mix(cat_seed, hash_string(split)), hash_string(defect)), static_cast<std::uint64_t>(index));
  Rng rng(img_seed);
  Size2 sz = sample_size(cat, rng, image_size);

  using Renderer = Scene (*)(Rng&, Rng&, int, int, double);
  Renderer render = category == "weave"    ? &render_weave
                    : category == "marble" ? &render_marble
                    : category == "cap"    ? &render_cap
                                           : &render_bracket;
  Rng cat_rng(cat_seed);
  Scene sc = render(cat_rng, rng, sz.w, sz.h, sz.s);
  const bool harder = difficulty != SynthDifficulty::Easy;
  Rng hard_rng(mix(img_seed, hash_string("difficulty " + to_string(difficulty))));
  if (harder) {
    const Hardness& h = hardness(difficulty);
    const bool edge = good && split == "test" && hard_rng.uniform() < h.hard_good;
    perturb(sc, hard_rng, h, edge);
    sc.s *= h.size;  // the scale is used from here on only for the defect's size
  }

  SynthSample out;
  out.clean = sc.img;
  if (good) {
    out.image = sc.img.clone();
    out.mask = cv::Mat::zeros(sc.img.size(), CV_8UC1);
    return out;
  }
  using Defect = cv::Mat (*)(const Scene&, Rng&);
  Defect apply = defect == "scratch"  ? &defect_scratch
                 : defect == "hole"   ? &defect_hole
                 : defect == "spot"   ? &defect_spot
                 : defect == "color"  ? &defect_color
                 : defect == "smudge" ? &defect_smudge
                                      : &defect_missing;
  const int min_pixels = std::max(4, static_cast<int>(12 * sz.s * sz.s));
  for (int attempt = 0; attempt < 50; ++attempt) {
    out.image = apply(sc, harder ? hard_rng : rng);
    if (harder) {
      // Fainter: every defective pixel moves only `contrast` of the way from the clean image.
      const double k = hardness(difficulty).contrast;
      cv::addWeighted(out.image, k, out.clean, 1.0 - k, 0.0, out.image);
    }
    cv::Mat diff;
    cv::absdiff(out.image, out.clean, diff);
    cv::Mat ch[3];
    cv::split(diff, ch);
    out.mask = (ch[0] | ch[1] | ch[2]) != 0;
    if (cv::countNonZero(out.mask) >= min_pixels) return out;
  }
  throw InternalError("synthetic data: could not place a visible '" + defect + "' defect on " + category +
                      " " + split + " " + std::to_string(index));
}

SynthSummary write_synthetic_dataset(const fs::path& out, std::uint64_t seed, const SynthOptions& options) {
  check_options(options);
  std::vector<std::string> cats = options.categories;
  if (cats.empty())
    for (const auto& c : category_table()) cats.push_back(c.name);
  std::sort(cats.begin(), cats.end());
  cats.erase(std::unique(cats.begin(), cats.end()), cats.end());
  for (const auto& c : cats) find_category(c);  // validates the names

  std::error_code ec;
  if (fs::exists(out, ec)) {
    if (!fs::is_directory(out, ec) || !fs::is_empty(out, ec))
      throw_file_error(out, "already exists and is not empty");
  }
  fs::create_directories(out, ec);
  if (ec) throw_file_error(out, "cannot create folder (" + ec.message() + ")");

  SynthSummary sum;
  sum.root = out;
  sum.seed = seed;
  sum.categories = cats;
  auto write_split = [&](const std::string& cat, const std::string& split, const std::string& defect,
                         int count) {
    if (count == 0) return;
    const fs::path dir = out / cat / split / defect;
    make_dirs(dir);
    if (defect != "good") make_dirs(out / cat / "ground_truth" / defect);
    for (int i = 0; i < count; ++i) {
      SynthSample s =
          render_synthetic_sample(cat, seed, split, defect, i, options.image_size, options.difficulty);
      write_png(dir / (file_number(i) + ".png"), s.image);
      ++sum.files_written;
      if (defect != "good") {
        write_png(out / cat / "ground_truth" / defect / (file_number(i) + "_mask.png"), s.mask);
        ++sum.files_written;
      }
    }
  };
  for (const auto& cat : cats) {
    const auto& info = find_category(cat);
    write_split(cat, "train", "good", options.train_good);
    make_dirs(out / cat / "train" / "good");  // present even when train_good == 0
    write_split(cat, "test", "good", options.test_good);
    const auto defects = defects_of(info, options.difficulty);
    for (const auto& d : defects) write_split(cat, "test", d, options.per_defect);
    sum.train_images += options.train_good;
    sum.test_good_images += options.test_good;
    sum.test_defect_images += options.per_defect * static_cast<int>(defects.size());
  }

  std::ostringstream r;
  r << "adbench synthetic anomaly-detection dataset (MVTec AD layout; read it with --dataset mvtec_ad)\n\n"
    << "seed: " << seed << "\n"
    << "generator: adbench write_synthetic_dataset, format 1\n"
    << "counts per category: train/good " << options.train_good << ", test/good " << options.test_good << ", "
    << options.per_defect << " per defect type\n"
    << "image size: "
    << (options.image_size ? std::to_string(options.image_size) + " x " + std::to_string(options.image_size)
                           : std::string("per category (below)"))
    << "\n\ncategories:\n";
  for (const auto& cat : cats) {
    const auto& info = find_category(cat);
    r << "  " << cat << " (" << (info.texture ? "texture" : "object") << ", ";
    if (options.image_size)
      r << options.image_size << "x" << options.image_size;
    else
      r << info.width << "x" << info.height
        << (info.varying_size ? " nominal, each side varies by up to 8 px" : "");
    r << "): " << info.description
      << "\n    defects: " << datasets_detail::join(defects_of(info, options.difficulty)) << "\n";
  }
  r << "\ndefects:\n"
    << "  scratch  thin bright-on-dark / dark-on-bright polyline, 2 px wide, 30-60 px long\n"
    << "  hole     dark disc, radius 5-9 px\n"
    << "  spot     bright or dark elliptical blob, 5-11 px semi-axes\n"
    << "  color    tinted elliptical region, 8-16 px semi-axes\n"
    << "  missing  a chunk (radius 14-22 px) of the object removed at its outline, showing the background\n"
    << "(sizes at the nominal image size; they scale with it)\n\n"
    << "masks: ground_truth/<defect>/<stem>_mask.png, 8-bit, 255 exactly where the defect changed a pixel.\n"
    << "normal variation: position +-2 px, rotation (objects) +-3 deg (cap) / +-1.5 deg (bracket),\n"
    << "gain +-3 %, colour offset +-3, a +-4 level gradient, sensor noise sigma 3.\n";
  if (options.difficulty != SynthDifficulty::Easy) {
    const Hardness& h = hardness(options.difficulty);
    r << "\ndifficulty: " << to_string(options.difficulty) << " (easy = the set described above)\n"
      << "  every image is then misaligned by +-" << h.shift << " px and +-" << h.rotate
      << " deg and relit (gain +-" << h.gain * 100 << " %, colour offset +-" << h.offset << ", a +-"
      << h.gradient << " level gradient, fresh noise sigma " << h.noise << ")\n"
      << "  defects are " << h.size << " x the sizes above and move " << h.contrast * 100
      << " % of the way from the clean image\n"
      << "  smudge (textures): an elliptical patch, 9-15 px semi-axes, Gaussian-blurred (sigma 2.5 px)\n"
      << "  hard negatives: about " << h.hard_good * 100
      << " % of test/good images are drawn at the edge of the pose and lighting range\n";
  }
  const std::string text = r.str();
  {
    std::FILE* f = std::fopen((out / "README.txt").c_str(), "wb");
    if (!f) throw_file_error(out / "README.txt", "cannot write file");
    bool ok = std::fwrite(text.data(), 1, text.size(), f) == text.size();
    ok = (std::fclose(f) == 0) && ok;
    if (!ok) throw_file_error(out / "README.txt", "cannot write file");
  }
  ++sum.files_written;
  return sum;
}

}  // namespace adbench
