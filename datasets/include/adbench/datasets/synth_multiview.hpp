#pragma once
// A small synthetic multi-view set in the Real-IAD layout (issue 10), for tests, CI and demos:
// deterministic (same seed => byte-identical files on one platform; random numbers come from our own
// SplitMix64 streams and Box-Muller, never std:: distributions). Each view renders from
// (seed, category, sample, view) alone.
//
// The scene: a textured box with a square pocket in its top face, on a grey floor, seen by five
// orthographic cameras (C1 top-down; C2..C5 at 45 deg elevation, azimuth 0/90/180/270 deg), ray
// cast per pixel against the box's faces (nearest hit = z-buffer; the hit face and its (u, v) = the
// id buffer). Per sample: a small yaw (+-4 deg) and shift (+-0.03) of the box, the light's
// direction and gain, and pixel noise.
//
// Defects live in texture space on one face: HS (scratch, a bright line), CH (abrasion, a pale
// ellipse), ZW (contamination, a dark spot). Odd-numbered anomalous samples have theirs on the
// pocket floor (seen from C1, hidden by the pocket walls from at least two of C2..C5); even-numbered
// ones on an outer side face (never seen from C1). Each defect is seen (>= 4 px) in 1..3 views; the
// mask of a view is exactly the pixels whose id-buffer texel is inside the defect; a view that sees
// fewer than 4 px of it shows none of it (those pixels are drawn clean) and is labelled OK.
#include <cstdint>
#include <filesystem>
#include <opencv2/core.hpp>
#include <string>
#include <vector>

#include "adbench/datasets/synth.hpp"

namespace adbench {

struct MultiviewSynthOptions {
  int train_samples = 24;               ///< normal training samples per category, >= 1
  int test_normal = 12;                 ///< normal test samples per category, >= 0
  int per_defect = 4;                   ///< anomalous test samples per defect code per category, >= 0
  std::vector<std::string> categories;  ///< subset to write; empty: all
};

/// The categories, sorted: crate (wood-like, a light pocket floor), socket (blue-grey plastic with a
/// grid, a dark pocket floor). They differ in size, pocket and texture.
std::vector<std::string> synthetic_multiview_categories();

/// The defect codes, sorted: CH (abrasion), HS (scratch), ZW (contamination).
std::vector<std::string> synthetic_multiview_defects();

/// One rendered view.
struct MultiviewView {
  cv::Mat image;              ///< CV_8UC3 RGB 128 x 128, exactly as written (before JPEG coding)
  cv::Mat mask;               ///< CV_8UC1 0/255: the visible defect (all 0 when labelled OK)
  int defect_pixels = 0;      ///< nonzero pixels of mask
  std::string anomaly_class;  ///< the record's label: "OK", or the code when defect_pixels > 0
  std::string stem;           ///< file name without extension, e.g. crate_0003_NG_HS_C2_20230412093015
  std::string folder;         ///< relative to the category folder, e.g. NG/HS/S0003
};

/// Renders view `view` (1..5 = C1..C5) of sample `number` (1-based; numbers restart per class) of
/// class `anomaly_class` ("OK" or a defect code) of `category`. OK numbers are shared by train and
/// test (1..train_samples are training samples). Unknown category or class, bad number or view:
/// InputError.
MultiviewView render_synthetic_multiview_view(const std::string& category, std::uint64_t seed,
                                              const std::string& anomaly_class, int number, int view);

/// Writes the Real-IAD layout under `out` (created; it must not exist or be an empty folder, else
/// InputError "<out>: already exists and is not empty"):
///   <out>/README.txt
///   <out>/<cat>/OK/S0001/<cat>_0001_OK_C1_<yyyymmddhhmmss>.jpg         (JPEG quality 95)
///   <out>/<cat>/NG/<code>/S0001/<cat>_0001_NG_<code>_C1_<ts>.jpg
///   <out>/<cat>/NG/<code>/S0001/<cat>_0001_NG_<code>_C1_<ts>.png         mask 0/255, visible views only
///   <out>/realiad_jsons/<cat>.json      {"meta": {"prefix": "<cat>/", "normal_class": "OK"},
///                                        "train": [...], "test": [...]}; records {category,
///                                        anomaly_class, image_path, mask_path} (paths relative to the
///                                        category folder; mask_path null for OK views), two samples'
///                                        views interleaved
///   <out>/realiad_jsons_sv/<cat>.json   the same, C1 records only
/// Summary counts are views: train_images, test_good_images (views labelled OK, NG folders included),
/// test_defect_images.
SynthSummary write_synthetic_multiview_dataset(const std::filesystem::path& out, std::uint64_t seed,
                                               const MultiviewSynthOptions& options = {});

}  // namespace adbench
