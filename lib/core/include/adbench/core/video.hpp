#pragma once
// Video samples: a Sample whose units are frames. Frames are decoded lazily and in order, so that
// memory is O(clip), never O(video). Two storages: one image file per frame (each unit's path is
// its frame), or one video file (every unit's path is that file; frames are decoded from it in order).
#include <cstddef>
#include <filesystem>
#include <memory>
#include <opencv2/core.hpp>
#include <string>

#include "adbench/core/sample.hpp"

namespace adbench {

/// The name of frame `i` in unit names and prediction folders: 4 digits, zero-padded ("0007");
/// more digits when i >= 10000.
std::string frame_name(std::size_t i);

/// True for the video file extensions adbench decodes (through OpenCV's FFmpeg backend): mp4, avi,
/// mkv, mov (any case). A video sample whose first unit's path is such a file is read as a video file.
bool is_video_file(const std::filesystem::path& path);

/// The exact number of frames of a video file, found by decoding through it (a container's frame
/// count, CAP_PROP_FRAME_COUNT, is an estimate for many formats). InputError "<file>: cannot open
/// video file (...)" when the file is missing or is no video OpenCV can read, and the pixel-limit
/// error (image_io.hpp) when its frames are larger than --max-image-pixels.
std::size_t count_video_frames(const std::filesystem::path& path);

/// Reads a video sample's frames in order, one at a time.
class FrameReader {
 public:
  /// Opens nothing yet; InternalError unless `video` is a Video sample with at least one unit.
  explicit FrameReader(const Sample& video);
  ~FrameReader();
  FrameReader(FrameReader&&) noexcept;
  FrameReader& operator=(FrameReader&&) noexcept;

  /// Number of frames (the sample's units).
  std::size_t size() const;
  /// Index of the frame the next call to next() returns.
  std::size_t position() const;
  bool done() const { return position() >= size(); }
  /// The next frame as 8-bit RGB (CV_8UC3, rows = height). InputError naming the file on a frame that
  /// cannot be decoded, a frame whose size differs from the video's first frame
  /// ("<file>: frame 12 is 64x48, the video's first frame is 64x64"), or a video file that ends
  /// before size() frames ("<file>: the video ends after 12 frames, expected 20"); a video file that
  /// cannot be opened: "<file>: cannot open video file (...)". InternalError when done(). Video files
  /// are opened on the first next() or seek() and hold one decoded frame at a time.
  cv::Mat next();
  /// Skips forward to frame i (position() <= i <= size()); frames in between are read from video
  /// files (decoders cannot seek exactly) and not at all from frame folders. A video file that ends
  /// before frame i is the InputError of next().
  void seek(std::size_t i);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace adbench
