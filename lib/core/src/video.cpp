#include "adbench/core/video.hpp"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <opencv2/imgproc.hpp>
#include <opencv2/videoio.hpp>

#include "adbench/core/error.hpp"
#include "adbench/core/image_io.hpp"
#include "adbench/core/path_util.hpp"

namespace fs = std::filesystem;

namespace adbench {

std::string frame_name(std::size_t i) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%04zu", i);
  return buf;
}

bool is_video_file(const fs::path& path) {
  static const char* kExt[] = {".mp4", ".avi", ".mkv", ".mov"};
  const auto e = lower(path.extension().string());
  return std::any_of(std::begin(kExt), std::end(kExt), [&](const char* x) { return e == x; });
}

namespace {

// FFmpeg prints decoder complaints about damaged files ("[mjpeg @ 0x...] dqt: len 65 is too large")
// straight to the terminal; adbench reports a bad video in its own one-line error instead. OpenCV
// reads this variable once, when FFmpeg is first used, so it is set at start-up, unless the user set
// it (OPENCV_FFMPEG_LOGLEVEL=24 shows FFmpeg's warnings).
[[maybe_unused]] const bool kQuietFfmpeg = [] {
  ::setenv("OPENCV_FFMPEG_LOGLEVEL", "-8", 0);  // AV_LOG_QUIET
  return true;
}();

std::string size_string(const cv::Size& s) {
  return std::to_string(s.width) + "x" + std::to_string(s.height);
}

/// Opens a video file with OpenCV's FFmpeg backend (never CAP_ANY: its image-sequence backend
/// would read a name with '%' in it as a pattern of image files). Checks the frame size against
/// --max-image-pixels before anything is decoded.
cv::VideoCapture open_video(const fs::path& path) {
  if (!is_file(path))
    throw_file_error(path,
                     is_dir(path) ? "cannot open video file (a folder)" : "cannot open video file (missing)");
  cv::VideoCapture cap;
  try {
    cap.open(path.string(), cv::CAP_FFMPEG);
  } catch (const cv::Exception& e) {
    throw_file_error(path, "cannot open video file (" + one_line(e.what()) + ")");
  }
  if (!cap.isOpened())
    throw_file_error(path, "cannot open video file (corrupt, or a format OpenCV's FFmpeg cannot read)");
  const auto w = static_cast<std::int64_t>(cap.get(cv::CAP_PROP_FRAME_WIDTH));
  const auto h = static_cast<std::int64_t>(cap.get(cv::CAP_PROP_FRAME_HEIGHT));
  if (w > 0 && h > 0) check_image_pixels(path, w, h);
  return cap;
}

/// A decoded video frame (BGR, gray or BGRA, 8-bit) as 8-bit RGB.
cv::Mat to_rgb(const cv::Mat& frame, const fs::path& path, std::size_t index) {
  if (frame.depth() != CV_8U)
    throw_file_error(path, "frame " + std::to_string(index) + " decodes to " + depth_name(frame.depth()) +
                               " pixels (8-bit expected)");
  cv::Mat rgb;
  switch (frame.channels()) {
    case 1:
      cv::cvtColor(frame, rgb, cv::COLOR_GRAY2RGB);
      break;
    case 3:
      cv::cvtColor(frame, rgb, cv::COLOR_BGR2RGB);
      break;
    case 4:
      cv::cvtColor(frame, rgb, cv::COLOR_BGRA2RGB);
      break;
    default:
      throw_file_error(path, "frame " + std::to_string(index) + " decodes to " +
                                 std::to_string(frame.channels()) + " channels");
  }
  return rgb;
}

}  // namespace

std::size_t count_video_frames(const fs::path& path) {
  cv::VideoCapture cap = open_video(path);
  std::size_t n = 0;
  try {
    while (cap.grab()) ++n;
  } catch (const cv::Exception& e) {
    throw_file_error(path, "cannot decode frame " + std::to_string(n) + " (" + one_line(e.what()) + ")");
  }
  return n;
}

// Frame folders: each unit's path is its frame's image. Video files: every unit's path is the file,
// decoded in order by one VideoCapture (one frame in memory at a time).
struct FrameReader::Impl {
  const Sample* video = nullptr;
  bool file = false;  ///< a video file rather than a folder of frames
  std::size_t pos = 0;
  cv::Size first;
  cv::VideoCapture cap;
  bool opened = false;

  const fs::path& path() const { return video->units[std::min(pos, video->units.size() - 1)].path; }

  void open() {
    if (!opened) cap = open_video(video->units.front().path);
    opened = true;
  }

  [[noreturn]] void ended() const {
    throw_file_error(path(), "the video ends after " + std::to_string(pos) + " frames, expected " +
                                 std::to_string(video->units.size()));
  }

  /// Decodes (read) or skips (grab) the video file's next frame.
  cv::Mat decode(bool keep) {
    open();
    cv::Mat frame;
    bool ok = false;
    try {
      ok = keep ? cap.read(frame) : cap.grab();
    } catch (const cv::Exception& e) {
      throw_file_error(path(),
                       "cannot decode frame " + std::to_string(pos) + " (" + one_line(e.what()) + ")");
    }
    if (!ok) ended();
    if (keep && frame.empty()) throw_file_error(path(), "cannot decode frame " + std::to_string(pos));
    return frame;
  }
};

FrameReader::FrameReader(const Sample& video) : impl_(std::make_unique<Impl>()) {
  if (video.modality != Modality::Video || video.units.empty())
    throw InternalError("FrameReader needs a video sample with frames (" + video.rel_path + ")");
  impl_->video = &video;
  impl_->file = is_video_file(video.units.front().path);
}

FrameReader::~FrameReader() = default;
FrameReader::FrameReader(FrameReader&&) noexcept = default;
FrameReader& FrameReader::operator=(FrameReader&&) noexcept = default;

std::size_t FrameReader::size() const { return impl_->video->units.size(); }
std::size_t FrameReader::position() const { return impl_->pos; }

cv::Mat FrameReader::next() {
  if (done()) throw InternalError("FrameReader::next past the last frame of " + impl_->video->rel_path);
  const auto& path = impl_->path();
  cv::Mat rgb = impl_->file ? to_rgb(impl_->decode(true), path, impl_->pos) : read_image_rgb(path);
  if (impl_->first.empty())
    impl_->first = rgb.size();
  else if (rgb.size() != impl_->first)
    throw_file_error(path, "frame " + std::to_string(impl_->pos) + " is " + size_string(rgb.size()) +
                               ", the video's first frame is " + size_string(impl_->first));
  ++impl_->pos;
  return rgb;
}

void FrameReader::seek(std::size_t i) {
  if (i < impl_->pos || i > size())
    throw InternalError("FrameReader::seek(" + std::to_string(i) + ") from position " +
                        std::to_string(impl_->pos));
  if (impl_->file)
    while (impl_->pos < i) {
      impl_->decode(false);
      ++impl_->pos;
    }
  impl_->pos = i;
}

}  // namespace adbench
