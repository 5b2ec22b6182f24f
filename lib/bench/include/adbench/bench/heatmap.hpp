#pragma once
// Heatmap PNGs for people (`infer --heatmaps`, `eval --pred-out P --heatmaps`): a caption band
// above the picture, image | overlay in the middle, a colour bar below. Text never covers the
// image, the ground truth is labelled as such, and the colour bar prints the normalisation range
// at its ends, so that a score outside that range is said to be outside it.
//
//   +---------------------------------------------+
//   | GT: anomalous (crack)                       |  caption band (kHeatmapCaptionHeight)
//   | score 3.2 (above range)                     |
//   +----------------------+----------------------+
//   | image                | overlay (JET, 50 %)  |  height clamped to [128, 512]
//   |                      | GT outlined in white |
//   +----------------------+----------------------+
//   | [blue ........ colour bar ........... red]  |  colour bar band (kHeatmapBarHeight)
//   | 0.0123      anomaly map scale       4.56    |
//   +---------------------------------------------+
#include <ATen/ATen.h>

#include <filesystem>
#include <optional>
#include <string>

#include "adbench/datasets/dataset.hpp"

namespace adbench {

inline constexpr int kHeatmapCaptionHeight = 44;  ///< rows of the caption band above the picture
inline constexpr int kHeatmapBarHeight = 40;      ///< rows of the colour-bar band below it

/// The words of one heatmap.
struct HeatmapText {
  std::string ground_truth;  ///< "GT: anomalous (<defect>)" or "GT: normal"
  std::string score;         ///< "score 0.532", or with " (above range)" / " (below range)"
  std::string low, high;     ///< the colour bar's ends: the normalisation range [lo, hi]
};

/// Caption strings for a sample of ground-truth `label` (0 normal, 1 anomalous) in folder
/// `defect`, with image score `score`, on a map normalised over [lo, hi]. Numbers as %.4g; a score
/// outside [lo, hi] says so, since the bar's colours would otherwise suggest it lies within.
HeatmapText heatmap_text(int label, const std::string& defect, double score, double lo, double hi);

/// Writes the PNG described above for `sample` (its image and, when present, its mask outline)
/// with `map` normalised over [lo, hi]. Creates the parent folder.
void write_heatmap(const std::filesystem::path& out, const Sample& sample, const at::Tensor& map, double lo,
                   double hi, double score);
/// The same for a picture already decoded (video frames): `rgb` 8-bit RGB, `truth` its mask file.
void write_heatmap(const std::filesystem::path& out, const cv::Mat& rgb,
                   const std::optional<std::filesystem::path>& truth, int label, const std::string& defect,
                   const at::Tensor& map, double lo, double hi, double score);

}  // namespace adbench
