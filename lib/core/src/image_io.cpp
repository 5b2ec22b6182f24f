#include "adbench/core/image_io.hpp"

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <climits>
#include <cstring>
#include <fstream>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "adbench/core/error.hpp"
#include "adbench/core/fs.hpp"
#include "adbench/core/npy.hpp"
#include "adbench/core/path_util.hpp"
#include "adbench/formats/image_header.hpp"

namespace fs = std::filesystem;

namespace adbench {

namespace {
std::string lower_ext(const fs::path& p) { return lower(p.extension().string()); }

/// cv::imwrite, its failures (false, or a cv::Exception) as "<path>: <what> (<reason>)".
void imwrite_checked(const fs::path& path, const cv::Mat& m, const std::string& what) {
  errno = 0;
  bool ok = false;
  try {
    ok = cv::imwrite(path.string(), m);
  } catch (const cv::Exception& e) {
    throw_file_error(path, what + " (" + e.msg + ")");
  }
  if (!ok) throw_file_error(path, what + os_reason());
}

std::atomic<std::uint64_t> g_max_image_pixels{kDefaultMaxImagePixels};

/// Reads the file, checks the header's size against --max-image-pixels, then decodes from memory:
/// a decompression bomb (a small file that decodes to gigabytes) is refused before decoding.
cv::Mat imread_checked(const fs::path& path, int flags) {
  if (!is_file(path)) throw_file_error(path, "no such file");
  const std::string bytes = read_file(path);
  const formats::ImageHeaderSize size = formats::image_header_size(bytes);
  if (!size.known()) throw_file_error(path, "cannot decode image (corrupt or unsupported format)");
  check_image_pixels(path, size.width, size.height);
  cv::Mat m;
  try {
    cv::Mat buf(1, static_cast<int>(bytes.size()), CV_8U, const_cast<char*>(bytes.data()));
    m = cv::imdecode(buf, flags);
  } catch (const cv::Exception& e) {
    throw_file_error(path, "cannot decode image (corrupt or unsupported format)");
  }
  if (m.empty()) throw_file_error(path, "cannot decode image (corrupt or unsupported format)");
  return m;
}
}  // namespace

bool is_image_file(const fs::path& path) {
  static const char* kExt[] = {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff"};
  auto e = lower_ext(path);
  return std::any_of(std::begin(kExt), std::end(kExt), [&](const char* x) { return e == x; });
}

cv::Mat read_image_rgb(const fs::path& path) {
  cv::Mat m = imread_checked(path, cv::IMREAD_UNCHANGED);
  if (m.depth() == CV_16U)
    m.convertTo(m, CV_8U, 1.0 / 257.0);
  else if (m.depth() == CV_32F || m.depth() == CV_64F)
    m.convertTo(m, CV_8U, 255.0);
  else if (m.depth() != CV_8U)
    throw_file_error(path, "unsupported pixel depth " + depth_name(m.depth()));
  cv::Mat rgb;
  switch (m.channels()) {
    case 1:
      cv::cvtColor(m, rgb, cv::COLOR_GRAY2RGB);
      break;
    case 3:
      cv::cvtColor(m, rgb, cv::COLOR_BGR2RGB);
      break;
    case 4:
      cv::cvtColor(m, rgb, cv::COLOR_BGRA2RGB);
      break;
    default:
      throw_file_error(path, "unsupported channel count " + std::to_string(m.channels()));
  }
  return rgb;
}

cv::Size read_image_size(const fs::path& path) {
  if (!is_file(path)) throw_file_error(path, "no such file");
  // PNG, BMP and JPEG headers give the size without decoding (an MVTec-size PNG takes ~20 ms to
  // decode); other files are decoded.
  std::ifstream in(path, std::ios::binary);
  std::string head(1 << 16, '\0');
  in.read(head.data(), static_cast<std::streamsize>(head.size()));
  head.resize(static_cast<std::size_t>(in.gcount()));
  const formats::ImageHeaderSize s = formats::image_header_size(head);
  if (s.known() && s.width <= INT32_MAX && s.height <= INT32_MAX) {
    check_image_pixels(path, s.width, s.height);
    return {static_cast<int>(s.width), static_cast<int>(s.height)};
  }
  return imread_checked(path, cv::IMREAD_UNCHANGED).size();
}

cv::Mat read_mask(const fs::path& path, int threshold) {
  cv::Mat m = imread_checked(path, cv::IMREAD_UNCHANGED);
  cv::Mat out;
  if (m.channels() == 1) {
    out = m > threshold;
  } else {
    std::vector<cv::Mat> ch;
    cv::split(m, ch);
    out = ch[0] > threshold;
    for (size_t i = 1; i < ch.size() && i < 3; ++i) out |= (ch[i] > threshold);
  }
  out /= 255;  // 0/255 -> 0/1
  return out;
}

at::Tensor image_to_tensor(const cv::Mat& rgb) {
  cv::Mat c = rgb.isContinuous() ? rgb : rgb.clone();
  auto t = at::from_blob(c.data, {c.rows, c.cols, c.channels()}, at::kByte);
  return t.permute({2, 0, 1}).to(at::kFloat).div_(255.0f).contiguous();
}

at::Tensor mask_to_tensor(const cv::Mat& mask) {
  cv::Mat c = mask.isContinuous() ? mask : mask.clone();
  return at::from_blob(c.data, {c.rows, c.cols}, at::kByte).ne(0);
}

cv::Mat tensor_to_mat(const at::Tensor& map2d) {
  auto t = map2d.detach().to(at::kCPU, at::kFloat).contiguous();
  cv::Mat m(static_cast<int>(t.size(0)), static_cast<int>(t.size(1)), CV_32FC1);
  std::memcpy(m.data, t.data_ptr<float>(), sizeof(float) * t.numel());
  return m;
}

std::string depth_name(int depth) {
  switch (depth) {
    case CV_8U:
      return "uint8";
    case CV_8S:
      return "int8";
    case CV_16U:
      return "uint16";
    case CV_16S:
      return "int16";
    case CV_32S:
      return "int32";
    case CV_32F:
      return "float32";
    case CV_64F:
      return "float64";
    case CV_16F:
      return "float16";
    default:
      return "depth " + std::to_string(depth);
  }
}

void set_max_image_pixels(std::uint64_t n) {
  if (n == 0) throw InputError("--max-image-pixels: must be at least 1");
  g_max_image_pixels = n;
}

std::uint64_t max_image_pixels() { return g_max_image_pixels; }

void check_image_pixels(const fs::path& path, std::int64_t width, std::int64_t height) {
  const std::uint64_t limit = g_max_image_pixels;
  std::uint64_t pixels = 0;
  const bool overflow =
      width < 0 || height < 0 ||
      __builtin_mul_overflow(static_cast<std::uint64_t>(width), static_cast<std::uint64_t>(height), &pixels);
  if (overflow || pixels > limit)
    throw_file_error(path, "image is " + std::to_string(width) + "x" + std::to_string(height) + " (" +
                               (overflow ? std::string("too many") : std::to_string(pixels)) +
                               " pixels), more than --max-image-pixels " + std::to_string(limit));
}

cv::Mat read_image_unchanged(const fs::path& path) { return imread_checked(path, cv::IMREAD_UNCHANGED); }

at::Tensor read_score_map(const fs::path& path) {
  auto e = lower_ext(path);
  if (e == ".npy") {
    at::Tensor t = read_npy(path);
    if (t.dim() != 2)
      throw_file_error(path, "expected a 2-D map, got " + std::to_string(t.dim()) + " dimensions");
    if (t.scalar_type() == at::kHalf) t = t.to(at::kFloat);
    if (t.scalar_type() != at::kFloat && t.scalar_type() != at::kDouble)
      throw_file_error(path, "expected float16, float32 or float64 values, got " +
                                 std::string(c10::toString(t.scalar_type())));
    if (t.numel() == 0)
      throw_file_error(path, "score map of shape (" + std::to_string(t.size(0)) + ", " +
                                 std::to_string(t.size(1)) + ") has no values");
    return t;
  }
  if (e == ".tif" || e == ".tiff") {
    cv::Mat m = imread_checked(path, cv::IMREAD_UNCHANGED);
    if (m.channels() != 1)
      throw_file_error(
          path, "expected a 2-D single-channel map, got " + std::to_string(m.channels()) + " channels");
    if (m.depth() != CV_32F && m.depth() != CV_64F)
      throw_file_error(path, "expected float32 values in the TIFF map, got " + depth_name(m.depth()));
    cv::Mat c = m.isContinuous() ? m : m.clone();
    auto dtype = m.depth() == CV_32F ? at::kFloat : at::kDouble;
    return at::from_blob(c.data, {c.rows, c.cols}, dtype).clone();
  }
  throw_file_error(path, "unsupported score-map format (expected .tiff or .npy)");
}

void write_score_map_tiff(const fs::path& path, const at::Tensor& map2d) {
  if (map2d.dim() != 2) throw InternalError("write_score_map_tiff: map is not 2-D");
  cv::Mat m = tensor_to_mat(map2d);
  imwrite_checked(path, m, "cannot write TIFF map");
}

void write_image_rgb(const fs::path& path, const cv::Mat& rgb) {
  cv::Mat bgr;
  cv::cvtColor(rgb, bgr, cv::COLOR_RGB2BGR);
  imwrite_checked(path, bgr, "cannot write image");
}

}  // namespace adbench
