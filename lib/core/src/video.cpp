#include "adbench/core/video.hpp"

#include <cstdio>

#include "adbench/core/error.hpp"
#include "adbench/core/image_io.hpp"

namespace adbench {

std::string frame_name(std::size_t i) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%04zu", i);
  return buf;
}

// A first version for frame folders (one image per unit). Video files: issue 9's video reader.
struct FrameReader::Impl {
  const Sample* video = nullptr;
  std::size_t pos = 0;
  cv::Size first;
};

FrameReader::FrameReader(const Sample& video) : impl_(std::make_unique<Impl>()) {
  if (video.modality != Modality::Video || video.units.empty())
    throw InternalError("FrameReader needs a video sample with frames (" + video.rel_path + ")");
  impl_->video = &video;
}

FrameReader::~FrameReader() = default;
FrameReader::FrameReader(FrameReader&&) noexcept = default;
FrameReader& FrameReader::operator=(FrameReader&&) noexcept = default;

std::size_t FrameReader::size() const { return impl_->video->units.size(); }
std::size_t FrameReader::position() const { return impl_->pos; }

cv::Mat FrameReader::next() {
  if (done()) throw InternalError("FrameReader::next past the last frame of " + impl_->video->rel_path);
  const auto& path = impl_->video->units[impl_->pos].path;
  cv::Mat rgb = read_image_rgb(path);
  if (impl_->first.empty())
    impl_->first = rgb.size();
  else if (rgb.size() != impl_->first)
    throw_file_error(path, "frame " + std::to_string(impl_->pos) + " is " + std::to_string(rgb.cols) + "x" +
                               std::to_string(rgb.rows) + ", the video's first frame is " +
                               std::to_string(impl_->first.width) + "x" +
                               std::to_string(impl_->first.height));
  ++impl_->pos;
  return rgb;
}

void FrameReader::seek(std::size_t i) {
  if (i < impl_->pos || i > size())
    throw InternalError("FrameReader::seek(" + std::to_string(i) + ") from position " +
                        std::to_string(impl_->pos));
  impl_->pos = i;
}

}  // namespace adbench
