#pragma once
// What flows between datasets, detectors and bench. A sample is made of scored *units*: one image,
// V camera views, T video frames or one point cloud. Each unit has its own file, label and optional
// ground truth; a detector returns one map and one score per unit and a score for the sample.
// Dataset adapters fill Samples, detectors read them and return Predictions, bench evaluates both;
// none of the three depends on another for these types.
#include <ATen/ATen.h>

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace adbench {

/// What a category's samples hold; the dataset adapter decides, and a detector declares which it takes.
enum class Modality { Image, MultiView, Video, PointCloud };

/// "image", "multi_view", "video", "point_cloud" (JSON and registry listings).
std::string to_string(Modality m);
/// What a detector "takes" or a dataset "holds", in error lines: "images", "multi-view samples",
/// "videos", "point clouds".
std::string plural_noun(Modality m);

/// One scored part of a sample: the image, one camera view, one video frame, or the cloud.
struct Unit {
  std::filesystem::path path;  ///< the file a detector reads (image, view, frame, xyz TIFF or cloud)
  int label = 0;               ///< 0 normal, 1 anomalous (a view's or frame's own label)
  /// Ground truth below the unit, when the dataset has it: a mask image (images, views, frames and
  /// the mvtec_3d xyz grid) or a per-point label file (unorganised clouds). Never set on normal units.
  std::optional<std::filesystem::path> truth;
  std::string name;  ///< view or frame name ("" for one-unit samples)
};

/// One training or test item. A video (Modality::Video) is one sample: category = scene, stem =
/// rel_path = the video's name ("01"), defect = "good" when no frame is anomalous, else "anomalous";
/// its units are its frames in order (name = frame_name(i), label = the frame's 0/1, truth = an
/// optional frame mask); core/video.hpp reads them lazily.
struct Sample {
  std::string category;
  std::string split;   ///< "train" or "test"
  std::string defect;  ///< folder-level class: "good" (or the dataset's own normal name) or a defect type
  int label = 0;       ///< 0 normal, 1 anomalous
  std::string stem;    ///< file name without extension; unique within (split, defect)
  /// "<defect>/<file name>": the key of this sample in scores.csv and, with the stem, in the
  /// prediction folder (PRED/<category>/test/<defect>/<stem>.tiff).
  std::string rel_path;
  Modality modality = Modality::Image;
  std::vector<Unit> units;  ///< in order: 1 for images and clouds, V views, T frames

  /// A one-unit sample (image, point cloud) with this file and ground truth.
  static Sample single(Modality m, std::filesystem::path path,
                       std::optional<std::filesystem::path> truth = {});
  /// The unit of a one-unit sample; InternalError when the sample has none or several.
  const Unit& unit() const;
  Unit& unit();
  const std::filesystem::path& path() const { return unit().path; }
  const std::optional<std::filesystem::path>& truth() const { return unit().truth; }
};

/// A detector's output for one unit.
struct UnitOutput {
  /// float32 CPU: [H,W] at the unit's image resolution (images, views, frames, xyz grids), or [N]
  /// per point (unorganised clouds; [N valid] row-major on an xyz grid is also accepted).
  at::Tensor map;
  double score = 0.0;  ///< the unit's anomaly score (higher = more anomalous)
};

/// A detector's output for one sample.
struct Prediction {
  double score = 0.0;             ///< sample-level anomaly score
  std::vector<UnitOutput> units;  ///< one per Sample::units, same order
  std::string origin;             ///< file the map was read from (prediction folders); empty when computed

  /// A one-unit prediction: the unit's map and score, which is also the sample's.
  static Prediction single(at::Tensor map, double score, std::string origin = {});
  /// The map of a one-unit prediction; InternalError otherwise.
  const at::Tensor& map() const;
};

}  // namespace adbench
