#pragma once
// Image, mask and score-map files <-> OpenCV matrices and tensors.
#include <ATen/ATen.h>

#include <cstdint>
#include <filesystem>
#include <opencv2/core.hpp>
#include <string>

namespace adbench {

/// Default of --max-image-pixels: 64 M pixels (8192 x 8192), far above any benchmark image.
inline constexpr std::uint64_t kDefaultMaxImagePixels = std::uint64_t(64) << 20;

/// The largest image (width x height, from the file header, checked before decoding) that the
/// readers below decode; larger ones are refused: "<file>: image is 20000x20000 (400000000 pixels),
/// more than --max-image-pixels 67108864". Process-wide; InputError for 0.
void set_max_image_pixels(std::uint64_t n);
std::uint64_t max_image_pixels();

/// InputError naming the file when width x height exceeds max_image_pixels().
void check_image_pixels(const std::filesystem::path& path, std::int64_t width, std::int64_t height);

/// "uint8", "float32", ... for an OpenCV depth (CV_8U, CV_32F, ...): error lines never show enum numbers.
std::string depth_name(int depth);

/// Decodes an image file as stored (any depth and channel count), after the pixel-limit check.
/// Only PNG, JPEG, BMP and TIFF files are decoded. InputError "<path>: cannot decode image
/// (corrupt or unsupported format)".
cv::Mat read_image_unchanged(const std::filesystem::path& path);

/// True for the image extensions adbench reads: png, jpg, jpeg, bmp, tif, tiff (any case).
bool is_image_file(const std::filesystem::path& path);

/// Reads an image as 8-bit RGB (grayscale and RGBA are converted; 16-bit is scaled to 8-bit).
/// InputError "<path>: cannot read image (missing, unreadable or corrupt)".
cv::Mat read_image_rgb(const std::filesystem::path& path);

/// Size (rows = height, cols = width) of an image file without keeping its pixels.
cv::Size read_image_size(const std::filesystem::path& path);

/// Reads a ground-truth mask, binarised as pixel > threshold (default 0: any non-zero value, since
/// VisA stores instance ids; Real-IAD's resized releases interpolate their mask edges and are read
/// with 127), CV_8UC1 of 0/1. Multi-channel masks are reduced to "any channel > threshold".
cv::Mat read_mask(const std::filesystem::path& path, int threshold = 0);

/// HxWx3 uint8 RGB -> float32 tensor [3,H,W] in [0,1].
at::Tensor image_to_tensor(const cv::Mat& rgb);

/// CV_8UC1 mask -> bool tensor [H,W].
at::Tensor mask_to_tensor(const cv::Mat& mask);

/// 2-D float tensor -> CV_32FC1 matrix (copy).
cv::Mat tensor_to_mat(const at::Tensor& map2d);

/// Reads a score map: .tif/.tiff (float32 single channel) or .npy (float32 or float64, 2-D).
/// Returns a contiguous CPU tensor of the file's float dtype. InputError naming the file when it
/// cannot be read, is not 2-D, has no values (e.g. shape (0, 224)), or has another dtype.
at::Tensor read_score_map(const std::filesystem::path& path);

/// Writes a 2-D map as a float32 single-channel TIFF.
void write_score_map_tiff(const std::filesystem::path& path, const at::Tensor& map2d);

/// Writes an 8-bit RGB image (PNG by extension).
void write_image_rgb(const std::filesystem::path& path, const cv::Mat& rgb);

}  // namespace adbench
