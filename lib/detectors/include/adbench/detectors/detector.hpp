#pragma once
// The detector interface. A detector sees Samples and tensors, never metrics or writers. Every
// modality fits: image detectors return an [H,W] map at the sample's image resolution, point-cloud
// detectors an [N] per-point score vector, video detectors one map per frame (later issues).
#include <ATen/ATen.h>

#include <cmath>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "adbench/core/registry.hpp"
#include "adbench/core/sample.hpp"

namespace adbench {

/// What a detector may use while fitting and predicting.
struct RunContext {
  at::Device device = at::kCPU;
  int batch_size = 16;
  std::uint64_t seed = 0;
  /// False when the caller needs only scores (no pixel truth, no prediction folder): detectors may
  /// then skip computing maps and leave UnitOutput::map undefined.
  bool want_maps = true;
  /// Training detectors (video): where to keep checkpoints while fitting (empty: none), and
  /// whether fit() continues from the latest checkpoint there.
  std::filesystem::path checkpoint_dir;
  bool resume = false;
};

/// Receives one unit's output (unit index in Sample::units order).
using UnitSink = std::function<void(std::size_t unit, UnitOutput&& out)>;

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
  /// Video detectors: the frames at the start of each video that have no full input window. Their
  /// score is NaN and their map undefined; frame metrics leave them out (the detector's input window).
  virtual int context_frames() const { return 0; }
  /// Predicts one sample unit by unit, in order, handing each unit's output to `sink` as soon as it
  /// exists, so a long video never holds all its maps; returns the sample score. Default:
  /// predict({sample}) and hand its units out. Video detectors override this and implement predict()
  /// through it.
  virtual double predict_units(const Sample& sample, const RunContext& ctx, const UnitSink& sink);
  /// Model state as named tensors (saved as model.safetensors in the run folder).
  virtual std::map<std::string, at::Tensor> state() const = 0;
  /// Restores state(); InputError naming the missing or mis-shaped tensor.
  virtual void load_state(const std::map<std::string, at::Tensor>& tensors) = 0;
  /// Identity of external inputs (backbone, weights file and SHA-256); null when none.
  virtual nlohmann::json provenance() const { return nullptr; }
};

/// The values one detector setting accepts. Bounds are exact: `lo_open` / `hi_open` make a bound
/// exclusive, an infinite bound is absent. Integer settings are also bounded above (a JSON integer
/// beyond what the detector stores would otherwise wrap around).
struct SettingRange {
  enum class Kind {
    Integer,   ///< a JSON integer in [lo, hi] (odd: odd values only)
    Number,    ///< a JSON number between lo and hi
    Choice,    ///< one of `choices`
    Text,      ///< any string (non_empty: not "")
    Names,     ///< a non-empty list of strings (layer names)
    Integers,  ///< a list of min_items..max_items integers, each in [lo, hi]
    Boolean,   ///< true or false (a switch)
  };
  Kind kind = Kind::Text;
  double lo = -HUGE_VAL, hi = HUGE_VAL;
  bool lo_open = false, hi_open = false, odd = false, non_empty = false;
  std::vector<std::string> choices;
  std::size_t min_items = 1, max_items = 1;

  static SettingRange integer(std::int64_t lo, std::int64_t hi, bool odd = false);
  /// A number; `lo_open` / `hi_open`: exclusive bound; HUGE_VAL: no upper bound.
  static SettingRange number(double lo, bool lo_open, double hi = HUGE_VAL, bool hi_open = false);
  static SettingRange choice(std::vector<std::string> choices);
  static SettingRange text(bool non_empty = false);
  static SettingRange names();
  static SettingRange integers(std::size_t min_items, std::size_t max_items, std::int64_t lo,
                               std::int64_t hi);
  static SettingRange boolean();

  /// Whether `value` (already of the setting's JSON type) is accepted.
  bool accepts(const nlohmann::json& value) const;
  /// What is accepted, the way an error line says it: ">= 0", "in (0, 1]", "an odd integer in
  /// [1, 31]", "one of l2, cosine", "a list of 1 to 8 integers in [2, 1000]", "any string", "true or false".
  std::string text_for_error() const;
};

/// One detector setting: its key, default, accepted values and a one-line description. Each
/// detector holds a table of these; its default configuration derives from the table, so a range
/// lives beside its default (and `adbench list detectors --verbose` prints the table).
struct SettingSpec {
  std::string key;
  nlohmann::json default_value;
  SettingRange range;
  std::string doc;
};
using SettingsTable = std::vector<SettingSpec>;

/// {key: default} of a table.
nlohmann::json defaults_of(const SettingsTable& table);

/// The settings table of a registered detector; unknown name: the registry's InputError.
const SettingsTable& detector_settings(const std::string& name);
/// What a registered detector takes; unknown name: the registry's InputError.
Modality detector_modality(const std::string& name);

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

/// merge_config on the table's defaults, then every value (given or default) checked against its
/// range: InputError "detector <name>: setting 'k' must be <range>, got <value>", e.g.
/// "detector patchcore: setting 'sigma' must be in [0, 64], got -1".
nlohmann::json merge_config(const std::string& detector, const SettingsTable& table,
                            const nlohmann::json& overrides);

}  // namespace adbench
