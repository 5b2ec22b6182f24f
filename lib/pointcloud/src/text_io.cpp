// Text clouds ("x y z ..." rows, MiniShift) and text ground truth ("x y z label" or "label" rows),
// parsed by formats::parse_text_cloud / parse_point_labels (fuzzed in tests/fuzz).
#include "text_io.hpp"

#include <vector>

#include "adbench/core/error.hpp"
#include "adbench/core/fs.hpp"
#include "adbench/core/path_util.hpp"
#include "adbench/formats/text_formats.hpp"
#include "adbench/pointcloud/cloud.hpp"

namespace fs = std::filesystem;

namespace adbench::pointcloud {

namespace detail {
at::Tensor read_xyz_text(const fs::path& file) {
  std::vector<float> pts = formats::parse_text_cloud(read_file(file), file.string());
  const auto n = static_cast<std::int64_t>(pts.size() / 3);
  if (n == 0) return at::empty({0, 3}, at::kFloat);
  return at::from_blob(pts.data(), {n, 3}, at::kFloat).clone();
}
}  // namespace detail

at::Tensor read_point_labels(const fs::path& gt, std::int64_t expected, const fs::path& cloud) {
  if (!is_file(gt)) throw_file_error(gt, "cannot open ground-truth file");
  std::vector<std::uint8_t> labels = formats::parse_point_labels(read_file(gt), gt.string());
  const auto n = static_cast<std::int64_t>(labels.size());
  if (n != expected)
    throw_file_error(gt, std::to_string(n) + " points but its cloud " + cloud.string() + " has " +
                             std::to_string(expected));
  return at::from_blob(labels.data(), {n}, at::kByte).clone();
}

}  // namespace adbench::pointcloud
