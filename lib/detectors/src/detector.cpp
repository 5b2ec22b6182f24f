#include "adbench/detectors/detector.hpp"

#include "adbench/core/error.hpp"
#include "variation_model/variation_model.hpp"
#include "fpfh_patchcore/fpfh_patchcore.hpp"
#include "simple3d/simple3d.hpp"
#include "fastrecon/fastrecon.hpp"
#include "padim/padim.hpp"
#include "patchcore/patchcore.hpp"
#include "spade/spade.hpp"

namespace adbench {

DetectorRegistry& detector_registry() {
  static DetectorRegistry registry("detector");
  return registry;
}

void register_builtin_detectors() {
  auto& r = detector_registry();
  if (r.contains("variation_model")) return;
  r.add("variation_model",
        "per-pixel Gaussian of aligned normal images; map = max |z| over channels (MVTec AD paper baseline)",
        [](const nlohmann::json& o) { return std::make_unique<VariationModel>(o); });
  r.add("simple3d",
        "point clouds: multi-scale FPFH, centre aggregation, nearest-prototype distance per point (Simple3D, AAAI 2026)",
        [](const nlohmann::json& o) { return std::make_unique<Simple3D>(o); });
  r.add("fpfh_patchcore",
        "point clouds: FPFH memory bank with greedy coreset, nearest-neighbour distance (Back to the Feature baseline)",
        [](const nlohmann::json& o) { return std::make_unique<FpfhPatchCore>(o); });
  r.add("patchcore",
        "memory bank of locally aware patch features, greedy coreset, nearest-neighbour distance (Roth et al., CVPR 2022)",
        [](const nlohmann::json& o) { return std::make_unique<PatchCore>(o); });
  r.add("padim", "per-position Gaussian of a random channel subset, Mahalanobis distance (Defard et al., ICPR 2020)",
        [](const nlohmann::json& o) { return std::make_unique<Padim>(o); });
  r.add("spade", "image kNN on pooled features, then pixel kNN on the nearest images' feature pyramids (Cohen & Hoshen, 2020)",
        [](const nlohmann::json& o) { return std::make_unique<Spade>(o); });
  r.add("fastrecon",
        "few-shot: closed-form distribution-regularised reconstruction from a coreset of K normal images (Fang et al., ICCV 2023)",
        [](const nlohmann::json& o) { return std::make_unique<FastRecon>(o); });
}

nlohmann::json detector_default_config(const std::string& name) {
  if (name == "variation_model") return VariationModel::default_config();
  if (name == "simple3d") return Simple3D::default_config();
  if (name == "fpfh_patchcore") return FpfhPatchCore::default_config();
  if (name == "patchcore") return PatchCore::default_config();
  if (name == "padim") return Padim::default_config();
  if (name == "spade") return Spade::default_config();
  if (name == "fastrecon") return FastRecon::default_config();
  // Unknown names: let the registry produce its "valid: ..." message.
  detector_registry().create(name, nlohmann::json::object());
  throw InternalError("detector '" + name + "' has no default config");
}

namespace {
std::string type_name(const nlohmann::json& j) {
  if (j.is_number()) return "number";
  return j.type_name();
}
}  // namespace

nlohmann::json merge_config(const std::string& detector, const nlohmann::json& defaults,
                            const nlohmann::json& overrides) {
  nlohmann::json out = defaults;
  if (overrides.is_null()) return out;
  if (!overrides.is_object()) throw InputError("detector " + detector + ": settings must be a JSON object");
  for (const auto& [key, value] : overrides.items()) {
    if (key == "detector" || key == "_comment") continue;
    if (!defaults.contains(key)) {
      std::string valid;
      for (const auto& [k, v] : defaults.items()) valid += (valid.empty() ? "" : ", ") + k;
      throw InputError("detector " + detector + ": unknown setting '" + key + "' (valid: " + valid + ")");
    }
    const auto& def = defaults[key];
    bool ok = type_name(def) == type_name(value) || (def.is_array() && value.is_array());
    if (!ok) {
      throw InputError("detector " + detector + ": setting '" + key + "' expects a " + type_name(def) +
                       ", got " + value.dump());
    }
    if (def.is_number_integer() && !value.is_number_integer()) {
      throw InputError("detector " + detector + ": setting '" + key + "' expects an integer, got " + value.dump());
    }
    out[key] = value;
  }
  return out;
}

}  // namespace adbench
