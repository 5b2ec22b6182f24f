#pragma once
// Dataset adapters: each turns one dataset's official folder layout into Samples. Adapters know
// nothing of detectors or metrics. Registry names are snake_case (mvtec_ad, visa, ...).
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "adbench/core/registry.hpp"

namespace adbench {

/// What one sample holds. Image datasets fill `image` (+ `mask`); later modalities fill `views`
/// (multi-view), `frames` (video) or `cloud` (+ `point_labels`).
enum class Modality { Image, MultiView, Video, PointCloud };

std::string to_string(Modality m);

/// One training or test item.
struct Sample {
  std::string category;
  std::string split;     ///< "train" or "test"
  std::string defect;    ///< folder-level class: "good" (or the dataset's own normal name, e.g. BTAD "ok") or a defect type
  int label = 0;         ///< 0 normal, 1 anomalous
  std::string stem;      ///< file name without extension; unique within (split, defect)
  /// "<defect>/<file name>": the key of this sample in scores.csv and, with the stem, in the
  /// prediction folder (PRED/<category>/test/<defect>/<stem>.tiff).
  std::string rel_path;
  Modality modality = Modality::Image;
  std::filesystem::path image;                    ///< Image modality
  std::optional<std::filesystem::path> mask;      ///< ground-truth mask; absent for normal samples and no-mask datasets
  std::vector<std::filesystem::path> views;       ///< MultiView: one image per camera
  std::vector<std::filesystem::path> frames;      ///< Video: frames in order
  std::filesystem::path cloud;                    ///< PointCloud
  std::optional<std::filesystem::path> point_labels;
};

/// One category of one dataset, ready for train / test.
struct CategoryData {
  std::string dataset;
  std::string category;
  std::filesystem::path root;
  std::vector<Sample> train;  ///< normal training samples (may be empty: train checks)
  std::vector<Sample> test;   ///< never empty (load() throws)
  /// True when at least one anomalous test sample has a mask. When false, the category is
  /// evaluated at image level only (pixel metrics null, with a warning).
  bool has_masks = false;
  /// Things load() noticed and ignored (e.g. masks that match no anomalous test image), one line
  /// each, prefixed "category <name>: "; eval records them in the result's warnings.
  std::vector<std::string> warnings;
};

class DatasetAdapter {
 public:
  virtual ~DatasetAdapter() = default;
  virtual std::string name() const = 0;
  virtual Modality modality() const { return Modality::Image; }
  /// Sorted category names under root. InputError "<root>: no such folder" when root is missing,
  /// "<root>: no categories found (expected ...)" when nothing matches the layout.
  virtual std::vector<std::string> categories(const std::filesystem::path& root) const = 0;
  /// All samples of one category, sorted by (defect, stem). InputErrors:
  ///  - unknown category: "<root>: unknown category 'x' (valid: a, b)"
  ///  - empty test set: "<dir>: no test images" (<dir> = <root>/<category>/test; VisA:
  ///    "<root>/split_csv/1cls.csv: no test images for category 'x'")
  ///  - a missing mask where others exist: "<expected mask path>: missing ground-truth mask for <image path>"
  ///    (VisA, when the row's mask column is empty: "<csv>: missing ground-truth mask for <image path>")
  ///  - a symbolic link among the images whose target is missing or that loops: "<link>: ..."
/// An empty or missing train folder is not an error here (training checks it). When no anomalous
  /// test sample has a mask file, has_masks is false and no sample gets a mask. Normal samples never
  /// get a mask. The adapters only stat files; they do not decode images or check mask sizes.
  virtual CategoryData load(const std::filesystem::path& root, const std::string& category) const = 0;
};

using DatasetRegistry = Registry<DatasetAdapter>;

/// The process-wide registry; filled by register_builtin_datasets() (idempotent).
DatasetRegistry& dataset_registry();
void register_builtin_datasets();

/// The one-line folder layout of a registered dataset (the registry's summary), e.g. for
/// `mvtec_ad`: "<root>/<category>/{train/good, test/<defect>, ground_truth/<defect>/<stem>_mask.png}".
/// Unknown name: InputError "unknown dataset 'x' (valid: ...)".
std::string dataset_summary(const std::string& name);

/// Every registered dataset, one line each, names sorted: "<name padded>  <layout summary>\n".
/// What `adbench list datasets` prints. Registers the built-ins first.
std::string dataset_layout_help();

/// Builds a registered adapter (register_builtin_datasets() first); unknown name as above.
std::unique_ptr<DatasetAdapter> make_dataset_adapter(const std::string& name);

}  // namespace adbench
