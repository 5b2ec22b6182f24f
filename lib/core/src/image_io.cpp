#include "adbench/core/image_io.hpp"

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <fstream>

#include "adbench/core/error.hpp"
#include "adbench/core/npy.hpp"

namespace fs = std::filesystem;

namespace adbench {

namespace {
std::string lower_ext(const fs::path& p) {
  std::string e = p.extension().string();
  std::transform(e.begin(), e.end(), e.begin(), [](unsigned char c) { return std::tolower(c); });
  return e;
}

cv::Mat imread_checked(const fs::path& path, int flags) {
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) throw_file_error(path, "no such file");
  cv::Mat m;
  try {
    m = cv::imread(path.string(), flags);
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
  if (m.depth() == CV_16U) m.convertTo(m, CV_8U, 1.0 / 257.0);
  else if (m.depth() == CV_32F || m.depth() == CV_64F) m.convertTo(m, CV_8U, 255.0);
  else if (m.depth() != CV_8U) throw_file_error(path, "unsupported pixel depth");
  cv::Mat rgb;
  switch (m.channels()) {
    case 1: cv::cvtColor(m, rgb, cv::COLOR_GRAY2RGB); break;
    case 3: cv::cvtColor(m, rgb, cv::COLOR_BGR2RGB); break;
    case 4: cv::cvtColor(m, rgb, cv::COLOR_BGRA2RGB); break;
    default: throw_file_error(path, "unsupported channel count " + std::to_string(m.channels()));
  }
  return rgb;
}

namespace {
// Reads width and height from PNG, BMP and JPEG headers without decoding the pixels (MVTec-size
// PNGs take ~20 ms each to decode). Returns an empty size when the header is not understood.
cv::Size header_size(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return {};
  unsigned char h[32] = {};
  in.read(reinterpret_cast<char*>(h), sizeof h);
  if (in.gcount() < 26) return {};
  auto be32 = [](const unsigned char* p) { return (p[0] << 24) | (p[1] << 16) | (p[2] << 8) | p[3]; };
  auto le32 = [](const unsigned char* p) { return p[0] | (p[1] << 8) | (p[2] << 16) | (p[3] << 24); };
  if (std::memcmp(h, "\x89PNG\r\n\x1a\n", 8) == 0 && std::memcmp(h + 12, "IHDR", 4) == 0)
    return {be32(h + 16), be32(h + 20)};
  if (h[0] == 'B' && h[1] == 'M' && le32(h + 14) >= 40) return {le32(h + 18), std::abs(le32(h + 22))};
  if (h[0] == 0xFF && h[1] == 0xD8) {
    in.clear();
    in.seekg(2);
    for (;;) {
      int c = in.get();
      if (c != 0xFF) return {};
      int marker;
      do marker = in.get(); while (marker == 0xFF);
      if (marker == EOF) return {};
      if (marker == 0xD8 || (marker >= 0xD0 && marker <= 0xD7) || marker == 0x01) continue;
      unsigned char len[2];
      if (!in.read(reinterpret_cast<char*>(len), 2)) return {};
      int seg = (len[0] << 8) | len[1];
      bool sof = marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC;
      if (sof) {
        unsigned char f[5];
        if (!in.read(reinterpret_cast<char*>(f), 5)) return {};
        return {(f[3] << 8) | f[4], (f[1] << 8) | f[2]};
      }
      in.seekg(seg - 2, std::ios::cur);
      if (!in) return {};
    }
  }
  return {};
}
}  // namespace

cv::Size read_image_size(const fs::path& path) {
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) throw_file_error(path, "no such file");
  cv::Size s = header_size(path);
  if (s.width > 0 && s.height > 0) return s;
  return imread_checked(path, cv::IMREAD_UNCHANGED).size();
}

cv::Mat read_mask(const fs::path& path) {
  cv::Mat m = imread_checked(path, cv::IMREAD_UNCHANGED);
  cv::Mat out;
  if (m.channels() == 1) {
    out = m != 0;
  } else {
    std::vector<cv::Mat> ch;
    cv::split(m, ch);
    out = ch[0] != 0;
    for (size_t i = 1; i < ch.size() && i < 3; ++i) out |= (ch[i] != 0);
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

at::Tensor read_score_map(const fs::path& path) {
  auto e = lower_ext(path);
  if (e == ".npy") {
    at::Tensor t = read_npy(path);
    if (t.dim() != 2)
      throw_file_error(path, "expected a 2-D map, got " + std::to_string(t.dim()) + " dimensions");
    if (t.scalar_type() != at::kFloat && t.scalar_type() != at::kDouble)
      throw_file_error(path, "expected float32 or float64 values, got " +
                                 std::string(c10::toString(t.scalar_type())));
    return t;
  }
  if (e == ".tif" || e == ".tiff") {
    cv::Mat m = imread_checked(path, cv::IMREAD_UNCHANGED);
    if (m.channels() != 1)
      throw_file_error(path, "expected a 2-D single-channel map, got " +
                                 std::to_string(m.channels()) + " channels");
    if (m.depth() != CV_32F && m.depth() != CV_64F)
      throw_file_error(path, "expected float32 values in the TIFF map");
    cv::Mat c = m.isContinuous() ? m : m.clone();
    auto dtype = m.depth() == CV_32F ? at::kFloat : at::kDouble;
    return at::from_blob(c.data, {c.rows, c.cols}, dtype).clone();
  }
  throw_file_error(path, "unsupported score-map format (expected .tiff or .npy)");
}

void write_score_map_tiff(const fs::path& path, const at::Tensor& map2d) {
  if (map2d.dim() != 2) throw InternalError("write_score_map_tiff: map is not 2-D");
  cv::Mat m = tensor_to_mat(map2d);
  if (!cv::imwrite(path.string(), m)) throw_file_error(path, "cannot write TIFF map");
}

void write_image_rgb(const fs::path& path, const cv::Mat& rgb) {
  cv::Mat bgr;
  cv::cvtColor(rgb, bgr, cv::COLOR_RGB2BGR);
  if (!cv::imwrite(path.string(), bgr)) throw_file_error(path, "cannot write image");
}

}  // namespace adbench
