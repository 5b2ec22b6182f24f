#pragma once
// A small synthetic industrial video set (issue 9), for tests, CI and demos: one 64 x 64 RGB scene
// of a machine, deterministic (same seed => byte-identical files on one platform; random numbers
// come from our own SplitMix64 stream and Box-Muller, never std:: distributions), written in both
// video layouts: the IPAD release (PNG frame folders) and `video_folder` (one scene of MJPG .avi).
//
// The scene (every frame renders independently from (seed, video, frame)):
//  - a fixed background texture (a wall and a floor; the same for every video of a seed);
//  - a conveyor belt (rows 40..53) whose ridges and 7 x 7 products, one every 16 px, move right at
//    2 px/frame (period 8 frames);
//  - a wheel (centre (14, 20), radius 10) whose one spoke (about 3.4 px wide) turns 18 deg/frame
//    (period 20 frames);
//  - an arm hanging from a rail, at x = 46 + 9 sin(2 pi t / 30 + phi_arm) (period 30 frames);
//  - a lighting gain 1 + 0.06 sin(2 pi t / 40 + phi) + 0.02 N_t on the whole frame (N_t standard
//    normal per frame), then pixel noise of sigma 0.01 (on [0, 1]) per pixel and channel.
// The phases (belt offset, wheel angle, arm phase, lighting phase) are random per video. Nothing
// drifts slowly: the longest nuisance period is the lighting's 40 frames, the anomalies last 24..40.
//
// Anomalies, each labelled exactly on [first_frame, last_frame]:
//  - stuck_wheel      the spoke stops (it keeps its angle of first_frame - 1), then turns on from there;
//  - foreign_object   an 8 x 6 px object of an unusual colour lies on the floor or the wall;
//  - arm_speed        the arm moves at double speed, then on at normal speed from where it got;
//  - missing_product  one product is absent; labelled while it would be visible (35 frames);
//  - wrong_color      one product is blue instead of orange; labelled while visible (35 frames).
// Training: 4 normal videos x 300 frames. Test: 15 videos x 240 frames with two anomalies of
// different types each (one in each half; 24..40 frames; each type 6 times), and video 16, normal.
#include <cstdint>
#include <filesystem>
#include <opencv2/core.hpp>
#include <string>
#include <vector>

#include "adbench/datasets/synth.hpp"

namespace adbench {

struct VideoSynthOptions {
  int train_videos = 4;           ///< >= 1
  int train_frames = 300;         ///< frames per training video, >= 8
  int test_videos = 15;           ///< test videos with two anomalies each, >= 0
  int test_frames = 240;          ///< frames per test video, >= 120
  bool normal_test_video = true;  ///< add one all-normal test video after the others
};

/// The anomaly types, sorted: arm_speed, foreign_object, missing_product, stuck_wheel, wrong_color.
std::vector<std::string> synthetic_video_anomaly_types();

/// One anomaly of a test video.
struct VideoAnomaly {
  std::string type;     ///< one of synthetic_video_anomaly_types()
  int first_frame = 0;  ///< first anomalous frame (0-based)
  int last_frame = 0;   ///< last anomalous frame (inclusive)
  int x = 0, y = 0;     ///< foreign_object: top-left corner of its 8 x 6 box
  int variant = 0;      ///< foreign_object: colour index 0..2
  int product = 0;      ///< missing_product, wrong_color: the product's index (see VideoState)
};

/// One synthetic video: what it is and how it was drawn (rendering needs nothing else but the seed).
struct SynthVideo {
  std::string split;  ///< "train" or "test"
  int index = 0;      ///< 0-based within the split
  std::string name;   ///< "01", "02", ... (index + 1, two digits)
  int frames = 0;
  std::vector<VideoAnomaly> anomalies;  ///< empty for normal videos; sorted by first_frame
  // The per-video random phases.
  int belt_offset = 0;       ///< 0..15: product p's left edge is belt_offset + 2 t - 16 p
  double wheel_phase = 0.0;  ///< degrees
  double arm_phase = 0.0;    ///< radians
  double light_phase = 0.0;  ///< radians

  /// One 0/1 per frame: 1 on every anomaly's [first_frame, last_frame].
  std::vector<std::uint8_t> labels() const;
};

/// The scene state of one frame (what the renderer draws).
struct VideoState {
  double wheel_angle_deg = 0.0;  ///< spoke angle (unwrapped)
  double arm_phase = 0.0;        ///< the arm's sine argument (unwrapped); arm_x = 46 + 9 sin(arm_phase)
  double arm_x = 0.0;            ///< arm centre, px
  double gain = 1.0;             ///< lighting gain
  int belt_shift = 0;            ///< belt_offset + 2 t
};

/// The videos of a seed: training videos first, then test videos (anomalous ones, then the normal one).
std::vector<SynthVideo> synthetic_videos(std::uint64_t seed, const VideoSynthOptions& options = {});

/// The state of frame t (0 <= t < video.frames) of `video`.
VideoState synthetic_video_state(std::uint64_t seed, const SynthVideo& video, int t);

/// Frame t of `video`, CV_8UC3 RGB 64 x 64, exactly as the writers store it (before MJPG coding).
/// Rendering the same SynthVideo with its anomalies removed gives the same frame with the same noise.
cv::Mat render_synthetic_video_frame(std::uint64_t seed, const SynthVideo& video, int t);

/// Writes the IPAD release layout with one scene S01 under `out` (created; it must not exist or be
/// an empty folder, else InputError "<out>: already exists and is not empty"):
///   <out>/README.txt
///   <out>/S01/training/frames/<VV>/<n>.png          n = 0, 1, ... (no padding), VV = 01, 02, ...
///   <out>/S01/testing/frames/<VV>/<n>.png
///   <out>/S01/test_label/<VVV>.npy                  uint8 [frames], 0/1 (folder 01 <-> 001.npy)
///   <out>/S01/test_anomalies.json                   the anomalies of every test video (see below)
/// test_anomalies.json: {"format": "adbench.synth_video/1", "seed": N, "scene": "S01",
///   "types": [...], "videos": [{"name": "01", "frames": 240, "labels": "test_label/001.npy",
///   "anomalies": [{"type": "...", "first_frame": a, "last_frame": b}, ...]}, ...]}.
/// Summary counts are frames: train_images = training frames, test_good_images / test_defect_images
/// = normal / anomalous test frames.
SynthSummary write_synthetic_video_dataset(const std::filesystem::path& out, std::uint64_t seed,
                                           const VideoSynthOptions& options = {});

/// Writes the same videos in the `video_folder` layout with one scene "conveyor", each video one
/// MJPG .avi at 25 frames/s (JPEG quality 95 from cv::imencode in a plain AVI 1.0 container that we
/// write ourselves: no FFmpeg needed to write; each file is read back with cv::VideoCapture and must
/// give exactly its frame count, each frame close to the rendered one, else an error naming the file):
///   <out>/README.txt
///   <out>/conveyor/train/<VV>.avi
///   <out>/conveyor/test/<VV>.avi
///   <out>/conveyor/test_labels/<VV>.npy             uint8 [frames], 0/1
///   <out>/conveyor/test_anomalies.json              as above, "scene": "conveyor", "labels":
///                                                   "test_labels/<VV>.npy"
SynthSummary write_synthetic_video_file_dataset(const std::filesystem::path& out, std::uint64_t seed,
                                                const VideoSynthOptions& options = {});

}  // namespace adbench
