// Synthetic industrial video (issue 9). Everything random comes from SplitMix64 streams with our
// own Box-Muller (std:: distributions differ between standard libraries); each frame is rendered
// from (seed, video, frame) alone, so frames can be produced in any order and in parallel.
#include "adbench/datasets/synth_video.hpp"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <exception>
#include <mutex>
#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <opencv2/videoio.hpp>
#include <sstream>
#include <string>

#include "adbench/core/error.hpp"
#include "adbench/core/fs.hpp"
#include "adbench/core/interrupt.hpp"
#include "adbench/core/npy.hpp"
#include "adbench/core/rng.hpp"
#include "synth_random.hpp"

namespace fs = std::filesystem;

namespace adbench {

namespace {

constexpr double kPi = 3.14159265358979323846;
constexpr int kSize = 64;

// Conveyor: belt rows [kBeltTop, kBeltBottom), edges on the first and last row; products 7 x 7.
constexpr int kBeltTop = 40, kBeltBottom = 54;
constexpr int kProductTop = 43, kProductSide = 7, kProductPitch = 16, kBeltSpeed = 2;
// Wheel.
constexpr double kWheelCx = 14.0, kWheelCy = 20.0, kWheelRadius = 10.0, kSpokeLength = 8.5;
// Spoke coverage = clamp(kSpokeReach - distance to its centre line): full within 1.2 px, none beyond
// 2.2 px (about 3.4 px wide, so that it stays visible at 32 x 32, where the gate test runs).
constexpr double kSpokeReach = 2.2;
constexpr double kWheelStepDeg = 18.0;
// Arm: rod rows [kRailRows, kRodBottom), gripper rows [kRodBottom, kGripperBottom).
constexpr double kArmCenter = 46.0, kArmAmplitude = 9.0, kArmPeriod = 30.0;
constexpr int kRailRows = 3, kRodBottom = 26, kGripperBottom = 30;
// Lighting and noise (on [0, 1]).
constexpr double kLightAmplitude = 0.06, kLightPeriod = 40.0, kLightNoise = 0.02, kPixelNoise = 0.01;
// Anomalies.
constexpr int kMinAnomaly = 24, kMaxAnomaly = 40;
constexpr int kProductVisibleFrames = (kSize + kProductSide - 1) / kBeltSpeed;  // 35
constexpr int kForeignW = 8, kForeignH = 6;
// MJPG read-back: the largest mean absolute error of a 16 x 16 block, grey levels.
constexpr double kMaxBlockError = 16.0;

const std::array<std::string, 5> kTypes = {"arm_speed", "foreign_object", "missing_product", "stuck_wheel",
                                           "wrong_color"};

// ---------------------------------------------------------------------------------------------
// Random numbers: synth_random.hpp (SplitMix64 streams, Box-Muller normals).

using synth_detail::mix;
using synth_detail::SplitMix;

std::uint64_t video_seed(std::uint64_t seed, const std::string& split, int index) {
  return mix(mix(seed, fnv1a("synth_video:" + split)), static_cast<std::uint64_t>(index));
}

std::uint64_t frame_seed(std::uint64_t seed, const SynthVideo& v, int t) {
  return mix(mix(video_seed(seed, v.split, v.index), fnv1a("frame")), static_cast<std::uint64_t>(t));
}

std::string two_digits(int i) {
  std::string n = std::to_string(i);
  return n.size() < 2 ? "0" + n : n;
}

std::string three_digits(int i) {
  std::string n = std::to_string(i);
  return std::string(n.size() < 3 ? 3 - n.size() : 0, '0') + n;
}

/// Product p's left edge at belt shift s.
int product_left(int belt_shift, int p) { return belt_shift - kProductPitch * p; }
bool product_visible(int left) { return left + kProductSide > 0 && left < kSize; }

/// Frames of [first, last] at or before t.
int frames_until(const VideoAnomaly& a, int t) {
  if (t < a.first_frame) return 0;
  return std::min(t, a.last_frame) - a.first_frame + 1;
}

bool active(const VideoAnomaly& a, int t) { return t >= a.first_frame && t <= a.last_frame; }

// ---------------------------------------------------------------------------------------------
// Planning

/// One anomaly of `type` inside frames [lo, hi) of video `v`.
VideoAnomaly plan_anomaly(const std::string& type, const SynthVideo& v, int lo, int hi, SplitMix& r) {
  VideoAnomaly a;
  a.type = type;
  if (type == "missing_product" || type == "wrong_color") {
    // The first frame at or after a random start where a product enters at the left edge; it is
    // visible for exactly kProductVisibleFrames frames.
    const int start = r.integer(lo, hi - kProductVisibleFrames - 7);
    for (int t = start;; ++t) {
      const int shift = v.belt_offset + kBeltSpeed * t;
      // The product whose left edge is in [-kProductSide + 1, -kProductSide + kBeltSpeed]: it enters now.
      const int p = (shift + kProductSide - 1) / kProductPitch;  // shift >= 0
      const int left = product_left(shift, p);
      if (left >= -kProductSide + 1 && left <= -kProductSide + kBeltSpeed) {
        a.product = p;
        a.first_frame = t;
        a.last_frame = t + kProductVisibleFrames - 1;
        break;
      }
    }
    return a;
  }
  const int len = r.integer(kMinAnomaly, kMaxAnomaly);
  a.first_frame = r.integer(lo, hi - len);
  a.last_frame = a.first_frame + len - 1;
  if (type == "foreign_object") {
    a.x = r.integer(2, kSize - kForeignW - 2);
    // On the floor below the belt, or on the wall between the wheel/arm and the belt.
    a.y = r.coin() ? r.integer(kBeltBottom + 1, kSize - kForeignH - 2)
                   : r.integer(31, kBeltTop - kForeignH - 1);
    a.variant = r.integer(0, 2);
  }
  return a;
}

void check_options(const VideoSynthOptions& o) {
  check_input(o.train_videos >= 1 && o.train_videos <= 99,
              "synthetic video: train_videos must be 1..99, got " + std::to_string(o.train_videos));
  check_input(o.train_frames >= 8 && o.train_frames <= 100000,
              "synthetic video: train_frames must be 8..100000, got " + std::to_string(o.train_frames));
  check_input(o.test_videos >= 0 && o.test_videos <= 98,
              "synthetic video: test_videos must be 0..98, got " + std::to_string(o.test_videos));
  check_input(o.test_frames >= 120 && o.test_frames <= 100000,
              "synthetic video: test_frames must be 120..100000, got " + std::to_string(o.test_frames));
  check_input(o.test_videos > 0 || o.normal_test_video, "synthetic video: no test video");
}

// ---------------------------------------------------------------------------------------------
// Rendering

using Color = std::array<float, 3>;

const Color kBelt = {0.20f, 0.20f, 0.22f};
const Color kBeltEdge = {0.55f, 0.55f, 0.58f};
const Color kProduct = {0.86f, 0.53f, 0.18f};
const Color kProductWrong = {0.22f, 0.55f, 0.88f};
const Color kLabelMark = {0.93f, 0.92f, 0.88f};
const Color kSpoke = {0.88f, 0.86f, 0.80f};
const Color kHub = {0.62f, 0.60f, 0.54f};
const Color kArm = {0.86f, 0.72f, 0.16f};
const Color kGripper = {0.55f, 0.45f, 0.12f};
const Color kSlider = {0.14f, 0.14f, 0.15f};
const std::array<Color, 3> kForeign = {Color{0.95f, 0.15f, 0.75f}, Color{0.10f, 0.88f, 0.90f},
                                       Color{0.15f, 0.85f, 0.25f}};

double clamp01(double x) { return x < 0 ? 0 : (x > 1 ? 1 : x); }

/// What is the same in every frame of a seed: the background (wall, rail, floor, belt edges, wheel
/// disc) and the belt's texture (one product pitch long, it moves with the belt).
class Scene {
 public:
  explicit Scene(std::uint64_t seed) : seed_(seed), bg_(kSize * kSize) {
    SplitMix r(mix(seed, fnv1a("synth_video:background")));
    // A smooth 9 x 9 lattice, bilinear with smoothstep weights.
    std::array<double, 81> lattice;
    for (auto& v : lattice) v = r.uniform();
    for (int y = 0; y < kSize; ++y)
      for (int x = 0; x < kSize; ++x) {
        const double u = (x + 0.5) / kSize * 8, v = (y + 0.5) / kSize * 8;
        const int i = std::min(static_cast<int>(u), 7), j = std::min(static_cast<int>(v), 7);
        double fu = u - i, fv = v - j;
        fu = fu * fu * (3 - 2 * fu);
        fv = fv * fv * (3 - 2 * fv);
        const double f = (lattice[j * 9 + i] * (1 - fu) + lattice[j * 9 + i + 1] * fu) * (1 - fv) +
                         (lattice[(j + 1) * 9 + i] * (1 - fu) + lattice[(j + 1) * 9 + i + 1] * fu) * fv;
        const double grain = r.uniform(-0.025, 0.025);
        Color c;
        if (y < kRailRows) {
          const double k = y == kRailRows - 1 ? 0.75 : 1.0;
          c = {static_cast<float>(0.32 * k), static_cast<float>(0.32 * k), static_cast<float>(0.35 * k)};
        } else if (y < kBeltTop) {  // wall with panel seams
          const double k = (0.85 + 0.3 * f) * (x == 21 || x == 42 ? 0.85 : 1.0);
          c = {static_cast<float>(0.52 * k + grain), static_cast<float>(0.55 * k + grain),
               static_cast<float>(0.58 * k + grain)};
        } else if (y == kBeltTop || y == kBeltBottom - 1) {
          c = kBeltEdge;
        } else if (y < kBeltBottom) {
          c = kBelt;  // drawn per frame
        } else {      // floor
          const double k = 0.85 + 0.3 * f;
          c = {static_cast<float>(0.40 * k + grain), static_cast<float>(0.36 * k + grain),
               static_cast<float>(0.30 * k + grain)};
        }
        // The wheel's disc: a dark face and a lighter rim, anti-aliased at the outer edge.
        const double dx = x + 0.5 - kWheelCx, dy = y + 0.5 - kWheelCy;
        const double d = std::sqrt(dx * dx + dy * dy);
        const double cov = clamp01(kWheelRadius + 0.5 - d);
        if (cov > 0) {
          const Color disc = d < kWheelRadius - 1.5 ? Color{0.20f, 0.21f, 0.24f} : Color{0.48f, 0.48f, 0.50f};
          for (int k = 0; k < 3; ++k) c[k] = static_cast<float>(cov * disc[k] + (1 - cov) * c[k]);
        }
        bg_[y * kSize + x] = c;
      }
    // Belt texture: ridges every 8 px and a little grain, period one product pitch.
    for (int y = 0; y < kBeltRows; ++y)
      for (int x = 0; x < kProductPitch; ++x) {
        const double k = 1.0 + ((x % 8) < 2 ? 0.3 : 0.0) + r.uniform(-0.08, 0.08);
        belt_[y][x] = {static_cast<float>(kBelt[0] * k), static_cast<float>(kBelt[1] * k),
                       static_cast<float>(kBelt[2] * k)};
      }
  }

  cv::Mat render(const SynthVideo& v, int t) const {
    const VideoState st = synthetic_video_state(seed_, v, t);
    std::vector<Color> img = bg_;
    auto at = [&](int x, int y) -> Color& { return img[y * kSize + x]; };
    auto blend = [&](int x, int y, const Color& c, double cov) {
      if (x < 0 || y < 0 || x >= kSize || y >= kSize || cov <= 0) return;
      Color& p = at(x, y);
      for (int k = 0; k < 3; ++k) p[k] = static_cast<float>(cov * c[k] + (1 - cov) * p[k]);
    };

    // Belt.
    for (int y = kBeltTop + 1; y < kBeltBottom - 1; ++y)
      for (int x = 0; x < kSize; ++x) {
        const int u = ((x - st.belt_shift) % kProductPitch + kProductPitch) % kProductPitch;
        at(x, y) = belt_[y - kBeltTop - 1][u];
      }
    // Products.
    const int first_p = (st.belt_shift - kSize) / kProductPitch - 1;  // belt_shift >= 0
    for (int p = first_p; p <= (st.belt_shift + kProductSide) / kProductPitch; ++p) {
      const int left = product_left(st.belt_shift, p);
      if (!product_visible(left)) continue;
      bool missing = false, wrong = false;
      for (const auto& a : v.anomalies)
        if (a.product == p && active(a, t)) {
          missing = missing || a.type == "missing_product";
          wrong = wrong || a.type == "wrong_color";
        }
      if (missing) continue;
      const Color& fill = wrong ? kProductWrong : kProduct;
      for (int j = 0; j < kProductSide; ++j)
        for (int i = 0; i < kProductSide; ++i) {
          const int x = left + i, y = kProductTop + j;
          if (x < 0 || x >= kSize) continue;
          const bool border = i == 0 || j == 0 || i == kProductSide - 1 || j == kProductSide - 1;
          Color c = fill;
          if (border)
            for (auto& ch : c) ch *= 0.7f;
          else if (j == 3 && i >= 2 && i <= 4)
            c = kLabelMark;
          at(x, y) = c;
        }
    }
    // Wheel spoke (anti-aliased segment from the centre), then the hub over it.
    {
      const double a = st.wheel_angle_deg * kPi / 180.0;
      const double ex = std::cos(a) * kSpokeLength, ey = std::sin(a) * kSpokeLength;
      for (int y = static_cast<int>(kWheelCy - kWheelRadius); y <= static_cast<int>(kWheelCy + kWheelRadius);
           ++y)
        for (int x = static_cast<int>(kWheelCx - kWheelRadius);
             x <= static_cast<int>(kWheelCx + kWheelRadius); ++x) {
          const double px = x + 0.5 - kWheelCx, py = y + 0.5 - kWheelCy;
          const double s = std::clamp((px * ex + py * ey) / (kSpokeLength * kSpokeLength), 0.0, 1.0);
          const double qx = px - s * ex, qy = py - s * ey;
          blend(x, y, kSpoke, clamp01(kSpokeReach - std::sqrt(qx * qx + qy * qy)));
          blend(x, y, kHub, clamp01(2.5 - std::sqrt(px * px + py * py)));
        }
    }
    // Arm: a slider on the rail, a rod and a gripper, anti-aliased horizontally.
    {
      auto bar = [&](double x0, double x1, int y0, int y1, const Color& c) {
        for (int x = static_cast<int>(std::floor(x0)); x < static_cast<int>(std::ceil(x1)); ++x) {
          const double cov = std::min(x + 1.0, x1) - std::max(static_cast<double>(x), x0);
          for (int y = y0; y < y1; ++y) blend(x, y, c, cov);
        }
      };
      bar(st.arm_x - 3, st.arm_x + 3, 0, kRailRows, kSlider);
      bar(st.arm_x - 2, st.arm_x + 2, kRailRows, kRodBottom, kArm);
      bar(st.arm_x - 4, st.arm_x + 4, kRodBottom, kGripperBottom, kGripper);
    }
    // Foreign objects: an 8 x 6 box without its corners.
    for (const auto& a : v.anomalies)
      if (a.type == "foreign_object" && active(a, t))
        for (int j = 0; j < kForeignH; ++j)
          for (int i = 0; i < kForeignW; ++i)
            if (!((i == 0 || i == kForeignW - 1) && (j == 0 || j == kForeignH - 1)))
              blend(a.x + i, a.y + j, kForeign[static_cast<std::size_t>(a.variant)], 1.0);

    // Lighting and sensor noise. The frame's stream gives the gain's noise first (as
    // synthetic_video_state does), then one normal per pixel and channel.
    SplitMix r(frame_seed(seed_, v, t));
    r.normal();
    cv::Mat out(kSize, kSize, CV_8UC3);
    for (int y = 0; y < kSize; ++y) {
      auto* row = out.ptr<std::uint8_t>(y);
      for (int x = 0; x < kSize; ++x)
        for (int k = 0; k < 3; ++k) {
          const double val = st.gain * at(x, y)[k] + kPixelNoise * r.normal();
          row[3 * x + k] = static_cast<std::uint8_t>(std::floor(clamp01(val) * 255.0 + 0.5));
        }
    }
    return out;
  }

 private:
  static constexpr int kBeltRows = kBeltBottom - kBeltTop - 2;
  std::uint64_t seed_;
  std::vector<Color> bg_;
  std::array<std::array<Color, kProductPitch>, kBeltRows> belt_{};
};

// ---------------------------------------------------------------------------------------------
// Writing

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

void write_png(const fs::path& path, const cv::Mat& rgb) {
  WriteScope scope;  // an interrupt never removes the folder while a file is half-written
  cv::Mat bgr;
  cv::cvtColor(rgb, bgr, cv::COLOR_RGB2BGR);
  static const std::vector<int> kParams = {cv::IMWRITE_PNG_COMPRESSION, 3, cv::IMWRITE_PNG_STRATEGY,
                                           cv::IMWRITE_PNG_STRATEGY_DEFAULT};
  bool ok = false;
  try {
    ok = cv::imwrite(path.string(), bgr, kParams);
  } catch (const cv::Exception&) {
    ok = false;
  }
  if (!ok) throw_file_error(path, "cannot write PNG");
}

void write_labels(const fs::path& path, const SynthVideo& v) {
  WriteScope scope;
  const std::vector<std::uint8_t> labels = v.labels();
  write_npy(path, at::from_blob(const_cast<std::uint8_t*>(labels.data()),
                                {static_cast<std::int64_t>(labels.size())}, at::kByte)
                      .clone());
}

// A minimal AVI 1.0 (RIFF) writer for one MJPG video stream: hdrl (avih, strl with strh and strf),
// movi with one "00dc" chunk per frame, idx1 (every frame a key frame). The frames are JPEG files
// from cv::imencode (libjpeg, quality 95). OpenCV 4.6's own MJPEG writer (cv::VideoWriter with
// CAP_OPENCV_MJPEG) writes some frames whose last block does not decode (opencv/opencv#24171), and
// its FFmpeg backend offers no quality setting; this writer needs neither.

void put32(std::string& b, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) b.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
}
void put16(std::string& b, std::uint16_t v) {
  b.push_back(static_cast<char>(v & 0xFF));
  b.push_back(static_cast<char>(v >> 8));
}
void put_fourcc(std::string& b, const char* f) { b.append(f, 4); }
void patch32(std::string& b, std::size_t at, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) b[at + static_cast<std::size_t>(i)] = static_cast<char>((v >> (8 * i)) & 0xFF);
}

constexpr int kFps = 25;
constexpr int kJpegQuality = 95;

std::string mjpeg_avi(const std::vector<std::string>& jpegs, int width, int height) {
  std::uint32_t max_chunk = 0;
  for (const auto& j : jpegs) max_chunk = std::max(max_chunk, static_cast<std::uint32_t>(j.size()));
  const auto n = static_cast<std::uint32_t>(jpegs.size());
  const auto w = static_cast<std::uint32_t>(width), h = static_cast<std::uint32_t>(height);
  std::string b;
  put_fourcc(b, "RIFF");
  put32(b, 0);  // patched
  put_fourcc(b, "AVI ");
  put_fourcc(b, "LIST");
  put32(b, 4 + (8 + 56) + (8 + 4 + (8 + 56) + (8 + 40)));
  put_fourcc(b, "hdrl");
  put_fourcc(b, "avih");
  put32(b, 56);
  put32(b, 1000000 / kFps);    // microseconds per frame
  put32(b, max_chunk * kFps);  // max bytes per second
  put32(b, 0);                 // padding granularity
  put32(b, 0x10);              // AVIF_HASINDEX
  put32(b, n);                 // total frames
  put32(b, 0);                 // initial frames
  put32(b, 1);                 // streams
  put32(b, max_chunk);         // suggested buffer size
  put32(b, w);
  put32(b, h);
  for (int i = 0; i < 4; ++i) put32(b, 0);  // reserved
  put_fourcc(b, "LIST");
  put32(b, 4 + (8 + 56) + (8 + 40));
  put_fourcc(b, "strl");
  put_fourcc(b, "strh");
  put32(b, 56);
  put_fourcc(b, "vids");
  put_fourcc(b, "MJPG");
  put32(b, 0);     // flags
  put16(b, 0);     // priority
  put16(b, 0);     // language
  put32(b, 0);     // initial frames
  put32(b, 1);     // scale
  put32(b, kFps);  // rate: rate / scale = frames per second
  put32(b, 0);     // start
  put32(b, n);     // length
  put32(b, max_chunk);
  put32(b, 0xFFFFFFFFu);  // quality: default
  put32(b, 0);            // sample size: varies
  put16(b, 0);
  put16(b, 0);
  put16(b, static_cast<std::uint16_t>(w));
  put16(b, static_cast<std::uint16_t>(h));
  put_fourcc(b, "strf");
  put32(b, 40);
  put32(b, 40);  // BITMAPINFOHEADER size
  put32(b, w);
  put32(b, h);
  put16(b, 1);   // planes
  put16(b, 24);  // bits per pixel
  put_fourcc(b, "MJPG");
  put32(b, w * h * 3);
  for (int i = 0; i < 4; ++i) put32(b, 0);  // pixels per metre x, y; colours used, important
  put_fourcc(b, "LIST");
  const std::size_t movi_size_at = b.size();
  put32(b, 0);  // patched
  const std::size_t movi_at = b.size();
  put_fourcc(b, "movi");
  std::vector<std::uint32_t> offsets;
  for (const auto& j : jpegs) {
    offsets.push_back(static_cast<std::uint32_t>(b.size() - movi_at));
    put_fourcc(b, "00dc");
    put32(b, static_cast<std::uint32_t>(j.size()));
    b += j;
    if (j.size() % 2) b.push_back('\0');
  }
  patch32(b, movi_size_at, static_cast<std::uint32_t>(b.size() - movi_at));
  put_fourcc(b, "idx1");
  put32(b, 16 * n);
  for (std::uint32_t i = 0; i < n; ++i) {
    put_fourcc(b, "00dc");
    put32(b, 0x10);  // AVIIF_KEYFRAME
    put32(b, offsets[i]);
    put32(b, static_cast<std::uint32_t>(jpegs[i].size()));
  }
  patch32(b, 4, static_cast<std::uint32_t>(b.size() - 8));
  return b;
}

/// Writes `v` as an MJPG .avi, then reads it back as the video_folder adapter will
/// (cv::VideoCapture, any backend): exactly v.frames frames of 64 x 64, each close to the rendered
/// frame in every 16 x 16 block.
void write_avi(const fs::path& path, const Scene& scene, const SynthVideo& v) {
  std::vector<cv::Mat> frames;
  std::vector<std::string> jpegs;
  static const std::vector<int> kParams = {cv::IMWRITE_JPEG_QUALITY, kJpegQuality};
  cv::Mat bgr;
  std::vector<std::uint8_t> buf;
  for (int t = 0; t < v.frames; ++t) {
    frames.push_back(scene.render(v, t));
    cv::cvtColor(frames.back(), bgr, cv::COLOR_RGB2BGR);
    if (!cv::imencode(".jpg", bgr, buf, kParams))
      throw InternalError("synthetic video: JPEG encoding failed");
    jpegs.emplace_back(buf.begin(), buf.end());
  }
  {
    WriteScope scope;
    write_file_atomic(path, mjpeg_avi(jpegs, kSize, kSize));
  }
  cv::VideoCapture cap(path.string());
  if (!cap.isOpened()) throw_file_error(path, "written, but cv::VideoCapture cannot open it");
  int n = 0;
  cv::Mat rgb, diff;
  while (cap.read(bgr)) {
    const std::string frame = "written, but frame " + std::to_string(n);
    if (bgr.cols != kSize || bgr.rows != kSize || bgr.type() != CV_8UC3)
      throw_file_error(path,
                       frame + " reads back as " + std::to_string(bgr.cols) + "x" + std::to_string(bgr.rows));
    if (n >= v.frames) break;
    cv::cvtColor(bgr, rgb, cv::COLOR_BGR2RGB);
    cv::absdiff(rgb, frames[static_cast<std::size_t>(n)], diff);
    for (int by = 0; by < kSize; by += 16)
      for (int bx = 0; bx < kSize; bx += 16) {
        const double d = cv::mean(diff(cv::Rect(bx, by, 16, 16)).reshape(1))[0];
        if (d > kMaxBlockError)
          throw_file_error(path, frame + " decodes wrongly (block at x " + std::to_string(bx) + ", y " +
                                     std::to_string(by) + " is off by " + std::to_string(d) +
                                     " grey levels)");
      }
    ++n;
  }
  if (n != v.frames)
    throw_file_error(path, "wrote " + std::to_string(v.frames) + " frames, cv::VideoCapture reads back " +
                               std::to_string(n));
}

std::string anomalies_json(std::uint64_t seed, const std::string& scene,
                           const std::vector<SynthVideo>& videos, const std::string& label_dir,
                           bool three_digit_labels) {
  nlohmann::ordered_json j;
  j["format"] = "adbench.synth_video/1";
  j["seed"] = seed;
  j["scene"] = scene;
  j["types"] = kTypes;
  nlohmann::ordered_json list = nlohmann::ordered_json::array();
  for (const auto& v : videos) {
    if (v.split != "test") continue;
    nlohmann::ordered_json e;
    e["name"] = v.name;
    e["frames"] = v.frames;
    e["labels"] = label_dir + "/" + (three_digit_labels ? three_digits(v.index + 1) : v.name) + ".npy";
    nlohmann::ordered_json as = nlohmann::ordered_json::array();
    for (const auto& a : v.anomalies)
      as.push_back({{"type", a.type}, {"first_frame", a.first_frame}, {"last_frame", a.last_frame}});
    e["anomalies"] = as;
    list.push_back(e);
  }
  j["videos"] = list;
  return j.dump(1) + "\n";
}

std::string readme(std::uint64_t seed, const VideoSynthOptions& o, const std::string& layout) {
  std::ostringstream r;
  r << "adbench synthetic industrial video (" << layout << ")\n\n"
    << "seed: " << seed << "\ngenerator: adbench synth --kind video, format 1\n"
    << "videos: train " << o.train_videos << " x " << o.train_frames << " frames (normal); test "
    << o.test_videos << " x " << o.test_frames << " frames with two anomalies each"
    << (o.normal_test_video ? ", plus one normal test video (the last)" : "") << "\n\n"
    << "scene (64 x 64 RGB): fixed background; a conveyor carrying 7 x 7 products every 16 px at 2 "
       "px/frame;\n"
    << "a wheel spoke turning 18 deg/frame; an arm at x = 46 + 9 sin(2 pi t / 30 + phase); lighting gain\n"
    << "1 + 0.06 sin(2 pi t / 40 + phase) + 0.02 N; pixel noise sigma 0.01; phases random per video.\n\n"
    << "anomalies (frame labels exact, 24-40 frames; product anomalies labelled while the product is\n"
    << "or would be visible, 35 frames):\n"
    << "  stuck_wheel      the spoke stops turning\n"
    << "  foreign_object   a small object of an unusual colour on the floor or the wall\n"
    << "  arm_speed        the arm moves at double speed\n"
    << "  missing_product  a product is absent from the belt\n"
    << "  wrong_color      a product is blue instead of orange\n"
    << "test_anomalies.json lists each test video's anomalies (type, first_frame, last_frame).\n";
  return r.str();
}

void count(SynthSummary& sum, const std::vector<SynthVideo>& videos) {
  for (const auto& v : videos) {
    if (v.split == "train") {
      sum.train_images += v.frames;
      continue;
    }
    for (auto l : v.labels()) (l ? sum.test_defect_images : sum.test_good_images) += 1;
  }
}

}  // namespace

std::vector<std::string> synthetic_video_anomaly_types() { return {kTypes.begin(), kTypes.end()}; }

std::vector<std::uint8_t> SynthVideo::labels() const {
  std::vector<std::uint8_t> l(static_cast<std::size_t>(frames), 0);
  for (const auto& a : anomalies)
    for (int t = std::max(a.first_frame, 0); t <= a.last_frame && t < frames; ++t)
      l[static_cast<std::size_t>(t)] = 1;
  return l;
}

std::vector<SynthVideo> synthetic_videos(std::uint64_t seed, const VideoSynthOptions& options) {
  check_options(options);
  std::vector<SynthVideo> out;
  auto make = [&](const std::string& split, int index, int frames) {
    SynthVideo v;
    v.split = split;
    v.index = index;
    v.name = two_digits(index + 1);
    v.frames = frames;
    SplitMix r(mix(video_seed(seed, split, index), fnv1a("phases")));
    v.belt_offset = r.integer(0, kProductPitch - 1);
    v.wheel_phase = r.uniform(0.0, 360.0);
    v.arm_phase = r.uniform(0.0, 2 * kPi);
    v.light_phase = r.uniform(0.0, 2 * kPi);
    return v;
  };
  for (int i = 0; i < options.train_videos; ++i) out.push_back(make("train", i, options.train_frames));
  for (int i = 0; i < options.test_videos; ++i) {
    SynthVideo v = make("test", i, options.test_frames);
    SplitMix r(mix(video_seed(seed, "test", i), fnv1a("anomalies")));
    // Types cycle through the sorted list, two per video, so that 15 videos hold each type 6 times;
    // one anomaly in each half of the video, the order random.
    std::string t1 = kTypes[static_cast<std::size_t>((2 * i) % 5)];
    std::string t2 = kTypes[static_cast<std::size_t>((2 * i + 1) % 5)];
    if (r.coin()) std::swap(t1, t2);
    const int half = v.frames / 2;
    v.anomalies.push_back(plan_anomaly(t1, v, 8, half - 4, r));
    v.anomalies.push_back(plan_anomaly(t2, v, half + 4, v.frames - 4, r));
    out.push_back(v);
  }
  if (options.normal_test_video) out.push_back(make("test", options.test_videos, options.test_frames));
  return out;
}

VideoState synthetic_video_state(std::uint64_t seed, const SynthVideo& v, int t) {
  check_input(t >= 0 && t < v.frames, "synthetic video: frame " + std::to_string(t) + " of a video of " +
                                          std::to_string(v.frames) + " frames");
  int stuck = 0, fast = 0;
  for (const auto& a : v.anomalies) {
    if (a.type == "stuck_wheel") stuck += frames_until(a, t);
    if (a.type == "arm_speed") fast += frames_until(a, t);
  }
  VideoState s;
  s.wheel_angle_deg = v.wheel_phase + kWheelStepDeg * (t - stuck);
  s.arm_phase = v.arm_phase + 2 * kPi / kArmPeriod * (t + fast);
  s.arm_x = kArmCenter + kArmAmplitude * std::sin(s.arm_phase);
  SplitMix r(frame_seed(seed, v, t));
  s.gain =
      1.0 + kLightAmplitude * std::sin(2 * kPi * t / kLightPeriod + v.light_phase) + kLightNoise * r.normal();
  s.belt_shift = v.belt_offset + kBeltSpeed * t;
  return s;
}

cv::Mat render_synthetic_video_frame(std::uint64_t seed, const SynthVideo& video, int t) {
  return Scene(seed).render(video, t);
}

SynthSummary write_synthetic_video_dataset(const fs::path& out, std::uint64_t seed,
                                           const VideoSynthOptions& options) {
  const std::vector<SynthVideo> videos = synthetic_videos(seed, options);
  prepare_root(out);
  const fs::path scene_dir = out / "S01";
  const Scene scene(seed);
  for (const auto& v : videos)
    make_dirs(scene_dir / (v.split == "train" ? "training" : "testing") / "frames" / v.name);
  make_dirs(scene_dir / "test_label");
  synth_detail::parallel_items(static_cast<int>(videos.size()), [&](int i) {
    const SynthVideo& v = videos[static_cast<std::size_t>(i)];
    const fs::path dir = scene_dir / (v.split == "train" ? "training" : "testing") / "frames" / v.name;
    for (int t = 0; t < v.frames; ++t) write_png(dir / (std::to_string(t) + ".png"), scene.render(v, t));
    if (v.split == "test") write_labels(scene_dir / "test_label" / (three_digits(v.index + 1) + ".npy"), v);
  });
  write_file_atomic(scene_dir / "test_anomalies.json",
                    anomalies_json(seed, "S01", videos, "test_label", true));
  write_file_atomic(out / "README.txt",
                    readme(seed, options, "IPAD release layout; read it with --dataset ipad, scene S01"));
  SynthSummary sum;
  sum.root = out;
  sum.seed = seed;
  sum.categories = {"S01"};
  count(sum, videos);
  for (const auto& v : videos) sum.files_written += v.frames + (v.split == "test" ? 1 : 0);
  sum.files_written += 2;
  return sum;
}

SynthSummary write_synthetic_video_file_dataset(const fs::path& out, std::uint64_t seed,
                                                const VideoSynthOptions& options) {
  const std::vector<SynthVideo> videos = synthetic_videos(seed, options);
  prepare_root(out);
  const fs::path scene_dir = out / "conveyor";
  const Scene scene(seed);
  for (const char* d : {"train", "test", "test_labels"}) make_dirs(scene_dir / d);
  synth_detail::parallel_items(static_cast<int>(videos.size()), [&](int i) {
    const SynthVideo& v = videos[static_cast<std::size_t>(i)];
    write_avi(scene_dir / v.split / (v.name + ".avi"), scene, v);
    if (v.split == "test") write_labels(scene_dir / "test_labels" / (v.name + ".npy"), v);
  });
  write_file_atomic(scene_dir / "test_anomalies.json",
                    anomalies_json(seed, "conveyor", videos, "test_labels", false));
  write_file_atomic(
      out / "README.txt",
      readme(seed, options, "video_folder layout, MJPG .avi; read it with --dataset video_folder"));
  SynthSummary sum;
  sum.root = out;
  sum.seed = seed;
  sum.categories = {"conveyor"};
  count(sum, videos);
  for (const auto& v : videos) sum.files_written += 1 + (v.split == "test" ? 1 : 0);
  sum.files_written += 2;
  return sum;
}

}  // namespace adbench
