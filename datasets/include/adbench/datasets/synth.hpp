#pragma once
// A small synthetic anomaly-detection dataset in the MVTec AD layout, for tests, CI and demos:
// deterministic (same seed => byte-identical files on one platform), generated in about a second.
// Two textures and two objects with modest normal variation (the images of a category are
// aligned to within a few pixels) and five defect kinds, each with an exact mask: a mask pixel is
// 255 exactly where the defect changed the image.
#include <cstdint>
#include <filesystem>
#include <opencv2/core.hpp>
#include <string>
#include <vector>

namespace adbench {

/// How hard the synthetic image data is.
///  - easy: the original set (aligned within a few pixels, high-contrast defects); same seed, same
///    bytes as before difficulties existed.
///  - medium / hard: each image is first rendered as easy, then (from a separate random stream)
///    misaligned (shift, rotation) and relit (gain, colour offset, gradient drift) with fresh sensor
///    noise; defects are smaller and fainter (a blend towards the clean image); the textures get a
///    "smudge" defect (a blurred patch: same colour, other statistics); a share of the test/good
///    images are hard negatives, drawn at the edge of the normal pose and lighting range.
enum class SynthDifficulty { Easy, Medium, Hard };
/// "easy" | "medium" | "hard"; InputError otherwise.
SynthDifficulty synth_difficulty_from(const std::string& name);
std::string to_string(SynthDifficulty d);

/// One synthetic category.
struct SynthCategoryInfo {
  std::string name;
  bool texture = false;              ///< texture (defects anywhere) or object (defects on the object)
  int width = 0, height = 0;         ///< nominal image size
  bool varying_size = false;         ///< sizes vary by up to +-8 px per side around width x height
  std::vector<std::string> defects;  ///< defect folders, sorted
  std::string description;
};

/// The categories, sorted by name: bracket, cap, marble, weave.
///  - weave   (texture, 160x160): woven fabric, aligned threads.
///  - marble  (texture, about 192x192, the one category whose sizes vary: each side 184..200 px;
///            the pattern is drawn in normalised coordinates, so resizing re-aligns it).
///  - cap     (object, 224x224): a red bottle cap on a dark background, jittered by +-2 px, +-3 deg.
///  - bracket (object, 256x192): an L-shaped steel bracket with screw holes on a light background,
///            jittered by +-2 px, +-1.5 deg.
/// Defects: textures color, hole, scratch, spot; objects also missing (a chunk of the object
/// removed, showing the background).
/// Medium and hard add the "smudge" defect to the textures.
std::vector<SynthCategoryInfo> synthetic_categories(SynthDifficulty difficulty = SynthDifficulty::Easy);

struct SynthOptions {
  int train_good = 20;                  ///< train/good images per category (>= 0)
  int test_good = 6;                    ///< test/good images per category (>= 0)
  int per_defect = 3;                   ///< test images per defect kind per category (>= 1)
  std::vector<std::string> categories;  ///< subset to write; empty: all
  /// 0: each category's own size; otherwise every image is image_size x image_size (32..1024)
  /// with geometry and defects scaled, and no size varies.
  int image_size = 0;
  SynthDifficulty difficulty = SynthDifficulty::Easy;
};

struct SynthSummary {
  std::filesystem::path root;
  std::uint64_t seed = 0;
  std::vector<std::string> categories;
  int train_images = 0;
  int test_good_images = 0;
  int test_defect_images = 0;
  int files_written = 0;  ///< images + masks + README.txt
};

/// Writes the dataset under `out` (created with its parents; it must not exist or be an empty
/// folder, else InputError "<out>: already exists and is not empty"):
///   <out>/README.txt
///   <out>/<category>/train/good/NNN.png
///   <out>/<category>/test/{good,<defect>}/NNN.png
///   <out>/<category>/ground_truth/<defect>/NNN_mask.png   (8-bit, 0/255)
/// Every image depends only on (seed, category, split, defect, index, image_size), not on the
/// counts, so a larger dataset extends a smaller one. Bad options: InputError.
SynthSummary write_synthetic_dataset(const std::filesystem::path& out, std::uint64_t seed,
                                     const SynthOptions& options = {});

/// One rendered sample, exactly as write_synthetic_dataset writes it.
struct SynthSample {
  cv::Mat image;  ///< CV_8UC3, RGB
  cv::Mat clean;  ///< the same sample before its defect (equal to image for "good")
  cv::Mat mask;   ///< CV_8UC1, 255 where image != clean in any channel, else 0
};

/// Renders one sample: split "train" or "test", defect "good" or one of the category's defects,
/// index = the file number. Unknown category, split or defect: InputError.
SynthSample render_synthetic_sample(const std::string& category, std::uint64_t seed, const std::string& split,
                                    const std::string& defect, int index, int image_size = 0,
                                    SynthDifficulty difficulty = SynthDifficulty::Easy);

}  // namespace adbench
