#pragma once
// Fixtures for end-to-end tests of the adbench binary: a synthetic dataset generated once per
// process, prediction folders built from ground truth, and result-JSON helpers.
#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>

#include "adbench/datasets/dataset.hpp"
#include "test_util.hpp"

namespace adbench::test {

/// A synthetic dataset (seed 0, written by `adbench synth`) shared by the tests of one process.
const std::filesystem::path& synth_root();

/// Copies a folder tree (to damage a copy of a dataset).
void copy_tree(const std::filesystem::path& from, const std::filesystem::path& to);

/// Builds PRED/<category>/test/<defect>/<stem><ext> for every test sample of a category: `make`
/// returns the map for a sample (given its mask as a 0/1 float tensor of the image's size, zeros
/// for normal samples) and the score written to scores.csv (NaN: no scores.csv entry at all).
using MapMaker = std::function<std::pair<at::Tensor, double>(const Sample&, const at::Tensor& gt)>;
void write_prediction_folder(const std::filesystem::path& pred, const std::string& dataset,
                             const std::filesystem::path& root, const std::string& category,
                             const MapMaker& make, const std::string& ext = ".tiff", bool scores_csv = true);

nlohmann::json read_json(const std::filesystem::path& p);

/// "<metric>" of category `cat` in a result JSON (NaN when null).
double metric(const nlohmann::json& result, const std::string& cat, const std::string& name);

/// Files whose name contains ".partial-" anywhere under dir (left-overs of an aborted write).
int count_partial_files(const std::filesystem::path& dir);

}  // namespace adbench::test
