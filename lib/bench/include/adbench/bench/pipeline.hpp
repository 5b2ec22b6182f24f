#pragma once
// The pipeline behind `adbench train | infer | eval`: dataset adapter -> detector or prediction
// folder -> metrics -> ResultRecord. The CLI only parses arguments and calls these.
#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "adbench/bench/evaluate.hpp"
#include "adbench/bench/predictions.hpp"
#include "adbench/bench/result.hpp"
#include "adbench/detectors/detector.hpp"
#include "adbench/metrics/metrics.hpp"

namespace adbench {

inline constexpr const char* kRunFormat = "adbench.run/1";

/// Training protocols: "single-class" (one model per category, the default) or "multi-class"
/// (ADer's protocol: one model on the union of every category's training images, evaluated per
/// category). InputError for anything else.
void check_setting(const std::string& setting);

/// InputError unless the detector takes what the dataset holds, e.g. "detector 'variation_model' takes
/// images; dataset 'real3d_ad' holds point clouds (detectors for point clouds: fpfh_patchcore, simple3d)".
/// `options`: --split can change what a dataset holds (real_iad --split single-view: images).
void check_modality(const std::string& detector, const std::string& dataset,
                    const DatasetOptions& options = {});

/// What produced a model's maps: this adbench build, the device, the detector's spec and config
/// and weights identity, the seed.
Provenance make_provenance(const Detector& det, const CommonOptions& common);

// ---- run folders: RUN/run.json + RUN/model.safetensors ----

struct TrainRequest {
  std::string detector;
  nlohmann::json overrides = nlohmann::json::object();
  std::string dataset;
  std::filesystem::path root;
  std::string category;
  std::filesystem::path out;
  bool force = false;
  /// "multi-class": category must be "all"; the run's category is "all" and its training set the
  /// union of every category's train images.
  std::string setting = "single-class";
  /// Training detectors (video): where checkpoints are kept while fitting (empty: none), and
  /// whether to continue from the latest one there (see open_checkpoint_folder).
  std::filesystem::path checkpoint_dir;
  bool resume = false;
};

/// Trains and writes a run folder. Returns run.json's content.
nlohmann::json train(const TrainRequest& req, const CommonOptions& common);

struct LoadedRun {
  nlohmann::json info;  ///< run.json
  std::unique_ptr<Detector> detector;
};

/// Loads a run folder. InputErrors: not a run folder, another format or adbench version, unknown
/// detector, missing or mis-shaped tensors, backbone weights whose SHA-256 differs from the one
/// the run was trained with.
LoadedRun load_run(const std::filesystem::path& run);

struct InferRequest {
  std::filesystem::path run;
  std::optional<std::string> dataset;         ///< default: the run's
  std::optional<std::filesystem::path> root;  ///< default: the run's
  std::optional<std::string> category;  ///< default: the run's ("all" for a multi-class run: every category)
  std::filesystem::path out;
  bool heatmaps = false;
  bool force = false;
};

/// Writes PRED/<category>/... for the run's detector. Returns the number of maps written.
std::size_t infer(const InferRequest& req, const CommonOptions& common);

struct EvalRequest {
  std::string dataset;
  std::filesystem::path root;
  std::string category;  ///< a name or "all"
  // Exactly one source:
  std::optional<std::string> detector;  ///< train + infer in one go
  nlohmann::json overrides = nlohmann::json::object();
  std::optional<std::filesystem::path> predictions;  ///< an existing prediction folder
  std::optional<std::filesystem::path> run;          ///< an existing run folder (infer + eval)
  std::optional<std::filesystem::path> pred_out;     ///< also write the prediction folder
  /// With --detector: also keep the models it trains as run folders, RUN/<category> (single-class)
  /// or RUN/all (multi-class), as `adbench train` writes them.
  std::optional<std::filesystem::path> run_out;
  bool heatmaps = false;
  std::optional<std::filesystem::path> out;  ///< result JSON
  std::optional<std::filesystem::path> csv;  ///< leaderboard CSV (appended)
  bool force = false;
  EvalOptions eval;
  /// With --detector: "multi-class" trains one model on every category's train images, then
  /// evaluates the requested categories. With --run: taken from the run folder (a different
  /// explicit value is an error). With --pred: recorded as given.
  std::optional<std::string> setting;
};

/// Evaluates every requested category and writes the outputs. Output paths are checked before
/// any work starts, so a refused overwrite costs nothing.
ResultRecord eval(const EvalRequest& req, const CommonOptions& common);

}  // namespace adbench
