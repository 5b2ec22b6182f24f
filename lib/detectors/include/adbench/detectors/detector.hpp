#pragma once
// The detector interface. A detector sees Samples and tensors, never metrics or writers. Every
// modality fits: image detectors return an [H,W] map at the sample's image resolution, point-cloud
// detectors an [N] per-point score vector, video detectors one map per frame (later issues).
#include <ATen/ATen.h>

#include <cstdint>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "adbench/core/registry.hpp"
#include "adbench/datasets/dataset.hpp"

namespace adbench {

/// One sample's output.
struct Prediction {
  at::Tensor map;  ///< float32 CPU: [H,W] at the image's resolution (Image), [N] per point (PointCloud)
  double score = 0.0;  ///< sample-level anomaly score (higher = more anomalous)
  std::string origin;  ///< file the map was read from (prediction folders); empty when computed
};

/// What a detector may use while fitting and predicting.
struct RunContext {
  at::Device device = at::kCPU;
  int batch_size = 16;
  std::uint64_t seed = 0;
};

class Detector {
 public:
  virtual ~Detector() = default;
  virtual std::string name() const = 0;
  virtual Modality modality() const { return Modality::Image; }
  /// The effective configuration: defaults merged with the user's overrides.
  virtual nlohmann::json config() const = 0;
  /// Learns from normal samples. InputError "no training images ..." when `train` is empty.
  virtual void fit(const std::vector<Sample>& train, const RunContext& ctx) = 0;
  /// Predicts a batch of test samples (same order).
  virtual std::vector<Prediction> predict(const std::vector<Sample>& batch, const RunContext& ctx) = 0;
  /// Model state as named tensors (saved as model.safetensors in the run folder).
  virtual std::map<std::string, at::Tensor> state() const = 0;
  /// Restores state(); InputError naming the missing or mis-shaped tensor.
  virtual void load_state(const std::map<std::string, at::Tensor>& tensors) = 0;
  /// Identity of external inputs (backbone, weights file and SHA-256); null when none.
  virtual nlohmann::json provenance() const { return nullptr; }
};

/// Factories take the user's overrides (a JSON object) and merge them into their defaults.
using DetectorRegistry = Registry<Detector, const nlohmann::json&>;

DetectorRegistry& detector_registry();
/// Fills the registry (idempotent).
void register_builtin_detectors();
/// The default configuration of a registered detector (what configs/<name>.json holds).
nlohmann::json detector_default_config(const std::string& name);

/// Merges `overrides` into `defaults`: every override key must exist in defaults with the same JSON
/// type (numbers interchangeable); InputError "detector <name>: unknown setting 'k' (valid: ...)"
/// or "detector <name>: setting 'k' expects a <type>, got <value>".
nlohmann::json merge_config(const std::string& detector, const nlohmann::json& defaults,
                            const nlohmann::json& overrides);

}  // namespace adbench
