#pragma once
// One typed provenance record: what produced a model, a prediction folder or a result. run.json,
// prediction.json and the result JSON hold it as "produced_by"; the CSV's detector columns come from it.
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

namespace adbench {

struct Provenance {
  std::string adbench_version, git_commit;
  std::string libtorch;     ///< LibTorch version adbench was built with
  std::string cuda;         ///< CUDA version of that LibTorch; "" without CUDA
  std::string device;       ///< "cpu", "cuda:0"
  std::string device_name;  ///< CPU model or GPU name
  std::string detector;     ///< registry name
  /// The detector and its settings in one string, e.g.
  /// "patchcore(backbone=wide_resnet50_2,coreset_ratio=0.1,...)": every setting but the weights
  /// path (which the weights' SHA-256 identifies), lists joined with '+'.
  std::string spec;
  std::string
      config_sha256;      ///< SHA-256 of the effective config with the weights path replaced by its SHA-256
  nlohmann::json config;  ///< the effective config
  std::string backbone;   ///< "" for detectors without one
  std::string weights;    ///< the weights file, "none" (random initialisation) or ""
  std::string weights_sha256;  ///< "" when no file
  /// Other weight files the detector read, by setting (anomalyclip's prompt_weights):
  /// {"prompt_weights": {"file": name, "sha256": hex}}; written only when there are some.
  nlohmann::json other_weights = nlohmann::json::object();
  std::uint64_t seed = 0;

  nlohmann::json to_json() const;
  /// Reads what to_json() wrote; fields that are absent or of another type are left empty, so a
  /// hand-edited file never stops an evaluation (its CSV columns are just empty).
  static Provenance from_json(const nlohmann::json& j);
};

/// Whether a setting names a weights file (`*_weights`: backbone_weights, prompt_weights).
bool is_weights_setting(const std::string& key);

/// Whether a setting's value names a weights file: a `*_weights` setting holding a path (a string
/// other than "" and "none", which name no file).
bool names_weights_file(const std::string& key, const nlohmann::json& value);

/// "name(k=v,...)" from a config object: keys in JSON object order (sorted), weight file paths (the
/// settings named `*_weights`: backbone_weights, prompt_weights) left out,
/// strings as is, numbers as JSON writes them, lists joined with '+'.
std::string detector_spec(const std::string& detector, const nlohmann::json& config);

/// SHA-256 of `config` with a backbone_weights path replaced by "sha256:<weights_sha256>" (and each
/// setting of `other_weights` by its file's "sha256:<hex>"), so a setting is identified by the
/// weights' content, not where the file lies.
std::string config_sha256(const nlohmann::json& config, const std::string& weights_sha256,
                          const nlohmann::json& other_weights = nlohmann::json::object());

}  // namespace adbench
