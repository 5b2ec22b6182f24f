#pragma once
// Internal to the datasets module: the built-in adapters' factories and the helpers they share.
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "adbench/datasets/dataset.hpp"

namespace adbench::datasets_detail {

std::unique_ptr<DatasetAdapter> make_mvtec_ad_adapter();
std::unique_ptr<DatasetAdapter> make_mpdd_adapter();
std::unique_ptr<DatasetAdapter> make_btad_adapter();
std::unique_ptr<DatasetAdapter> make_folder_adapter();
std::unique_ptr<DatasetAdapter> make_visa_adapter();
std::unique_ptr<DatasetAdapter> make_mvtec_3d_adapter();
std::unique_ptr<DatasetAdapter> make_real3d_ad_adapter();
std::unique_ptr<DatasetAdapter> make_anomaly_shapenet_adapter();
std::unique_ptr<DatasetAdapter> make_minishift_adapter();
std::unique_ptr<DatasetAdapter> make_ipad_adapter();
std::unique_ptr<DatasetAdapter> make_video_folder_adapter();
std::unique_ptr<DatasetAdapter> make_real_iad_adapter();

/// Image extensions of the official datasets: png, jpg, jpeg, bmp, tif (any case). The `folder`
/// adapter uses core's is_image_file (which adds tiff) instead.
bool is_dataset_image(const std::filesystem::path& path);

/// Regular, non-hidden files of `dir` accepted by `accept`, sorted by file name. Empty when `dir`
/// does not exist. An accepted name that is a dangling or looping symbolic link is an InputError
/// naming the link (it used to vanish from the counts without a word).
std::vector<std::filesystem::path> list_files(const std::filesystem::path& dir,
                                              bool (*accept)(const std::filesystem::path&));

/// Non-hidden sub-folders of `dir`, sorted by name. Empty when `dir` does not exist.
std::vector<std::string> list_subdirs(const std::filesystem::path& dir);

/// InputError "<root>: no such folder" unless root is a folder.
void check_root(const std::filesystem::path& root);

/// InputError "<root>: unknown category 'x' (valid: a, b)" unless category is in valid.
void check_category(const std::filesystem::path& root, const std::string& category,
                    const std::vector<std::string>& valid);

/// "a, b, c".
std::string join(const std::vector<std::string>& items, const std::string& sep = ", ");

/// Where the mask of one test sample is: `found` when a file exists, else `expected`, the path
/// the missing-mask error names.
struct MaskLookup {
  std::optional<std::filesystem::path> found;
  std::filesystem::path expected;
};

/// A test sample whose mask is not decided yet.
struct PendingSample {
  Sample sample;
  MaskLookup mask;  ///< ignored for normal samples
};

/// Sorts train and test by (defect, stem), checks stems are unique within (split, defect), and
/// applies the mask rule: when no anomalous test sample has a mask, has_truth = false and no
/// sample gets one; otherwise every anomalous sample must have one (InputError
/// "<expected>: missing ground-truth mask for <image>", the first in sorted order). An empty test
/// set throws InputError "<empty_test_where>: <empty_test_problem>".
CategoryData finish_category(const std::string& dataset, const std::string& category,
                             const std::filesystem::path& root, std::vector<Sample> train,
                             std::vector<PendingSample> test, const std::filesystem::path& empty_test_where,
                             const std::string& empty_test_problem = "no test images",
                             CategoryData::Truth truth = CategoryData::Truth::Masks);

}  // namespace adbench::datasets_detail
