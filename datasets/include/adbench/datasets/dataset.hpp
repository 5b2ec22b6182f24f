#pragma once
// Dataset adapters: each turns one dataset's official folder layout into Samples. Adapters know
// nothing of detectors or metrics. Registry names are snake_case (mvtec_ad, visa, ...).
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "adbench/core/registry.hpp"
#include "adbench/core/sample.hpp"

namespace adbench {

/// One category of one dataset, ready for train / test.
struct CategoryData {
  std::string dataset;
  std::string category;
  std::filesystem::path root;
  std::vector<Sample> train;  ///< normal training samples (may be empty: train checks)
  std::vector<Sample> test;   ///< never empty (load() throws)
  /// What the samples hold; set by the adapter (bench picks its ground-truth strategy from it and
  /// `truth`, never from the dataset's name).
  Modality modality = Modality::Image;
  /// How the units' ground truth is laid out.
  enum class Truth {
    Masks,        ///< a mask image per anomalous image / view / frame
    GridMasks,    ///< a mask on an organised xyz grid; missing points (0,0,0) are not evaluated
    PointLabels,  ///< a label per point of an unorganised cloud
  };
  Truth truth = Truth::Masks;
  /// A mask pixel is anomalous when its value is > mask_threshold: 0 (any non-zero value) for
  /// every dataset but real_iad, whose resized releases have interpolated edges (> 127, as its
  /// evaluation tool binarises them).
  int mask_threshold = 0;
  /// True when at least one anomalous test unit has ground truth. When false, the category is
  /// evaluated at sample level only (pixel / point metrics null, with a warning).
  bool has_truth = false;
  /// Things load() noticed and ignored (e.g. masks that match no anomalous test image), one line
  /// each, prefixed "category <name>: "; eval records them in the result's warnings.
  std::vector<std::string> warnings;
};

/// What a video adapter does when a video's label vector and frame count differ (IPAD's R02 test
/// videos 12-14 do): Error (default) names both counts; Truncate keeps min(frames, labels) frames;
/// Skip leaves the video out. Truncate and Skip add a warning naming the videos affected.
enum class LabelMismatch { Error, Truncate, Skip };

/// Options that change how an adapter reads (set from the CLI by make_dataset_adapter).
struct DatasetOptions {
  LabelMismatch label_mismatch = LabelMismatch::Error;
  /// --split: which of a dataset's split files to use; "" = the adapter's default. real_iad:
  /// multi-view (default) | single-view | fuiad-0.0 | fuiad-0.1 | fuiad-0.2 | fuiad-0.4. Adapters
  /// without split files refuse any other value than "" with an InputError.
  std::string split;
};

class DatasetAdapter {
 public:
  DatasetOptions options;
  virtual ~DatasetAdapter() = default;
  virtual std::string name() const = 0;
  virtual Modality modality() const { return Modality::Image; }
  /// The values --split accepts (DatasetOptions::split), the default first; empty when the dataset
  /// has no split files (make_dataset_adapter then refuses any --split).
  virtual std::vector<std::string> splits() const { return {}; }
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
  /// test sample has a mask file, has_truth is false and no sample gets a mask. Normal samples never
  /// get a mask. The adapters only stat files; they do not decode images or check mask sizes (video
  /// adapters also read label files and count a video file's frames, which takes a decoding pass).
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

/// Builds a registered adapter (register_builtin_datasets() first); unknown name as above;
/// InputError "--split x: dataset d has no split files" or "--split x: unknown split of dataset d
/// (valid: ...)" when options.split is not one of adapter->splits().
std::unique_ptr<DatasetAdapter> make_dataset_adapter(const std::string& name,
                                                     const DatasetOptions& options = {});

}  // namespace adbench
