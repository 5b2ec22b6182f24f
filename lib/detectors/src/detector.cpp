#include "adbench/detectors/detector.hpp"

#include <algorithm>
#include <sstream>

#include "adbench/core/error.hpp"
#include "anomalyclip/anomalyclip.hpp"
#include "fastrecon/fastrecon.hpp"
#include "ffp/ffp.hpp"
#include "fpfh_patchcore/fpfh_patchcore.hpp"
#include "infp/infp.hpp"
#include "mvad/mvad.hpp"
#include "padim/padim.hpp"
#include "patchcore/patchcore.hpp"
#include "simple3d/simple3d.hpp"
#include "spade/spade.hpp"
#include "variation_model/variation_model.hpp"
#include "winclip/winclip.hpp"

namespace adbench {

DetectorRegistry& detector_registry() {
  static DetectorRegistry registry("detector");
  return registry;
}

namespace {
struct DetectorTraits {
  Modality modality;
  const SettingsTable* settings;
};
std::map<std::string, DetectorTraits>& traits() {
  static std::map<std::string, DetectorTraits> t;
  return t;
}
/// The one registration site of a detector: name, what it takes, summary; its settings table
/// (defaults, ranges, docs) is D::settings().
template <typename D>
void add(const std::string& name, Modality m, const std::string& summary) {
  detector_registry().add(name, summary, [](const nlohmann::json& o) { return std::make_unique<D>(o); });
  traits()[name] = DetectorTraits{m, &D::settings()};
}
const DetectorTraits& traits_of(const std::string& name) {
  register_builtin_detectors();
  auto it = traits().find(name);
  if (it == traits().end()) {
    detector_registry().create(name, nlohmann::json::object());  // the registry's "valid: ..." message
    throw InternalError("detector '" + name + "' has no registered traits");
  }
  return it->second;
}
}  // namespace

void register_builtin_detectors() {
  if (detector_registry().contains("variation_model")) return;
  const auto img = Modality::Image, pts = Modality::PointCloud;
  add<VariationModel>(
      "variation_model", img,
      "per-pixel Gaussian of aligned normal images; map = max |z| over channels (MVTec AD paper baseline)");
  add<Simple3D>(
      "simple3d", pts,
      "point clouds: multi-scale FPFH, centre aggregation, nearest-prototype distance per point (Simple3D, "
      "AAAI 2026)");
  add<FpfhPatchCore>(
      "fpfh_patchcore", pts,
      "point clouds: FPFH memory bank with greedy coreset, nearest-neighbour distance (Back to the Feature "
      "baseline)");
  add<PatchCore>(
      "patchcore", img,
      "memory bank of locally aware patch features, greedy coreset, nearest-neighbour distance (Roth et al., "
      "CVPR 2022)");
  add<Padim>(
      "padim", img,
      "per-position Gaussian of a random channel subset, Mahalanobis distance (Defard et al., ICPR 2020)");
  add<Spade>(
      "spade", img,
      "image kNN on pooled features, then pixel kNN on the nearest images' feature pyramids (Cohen & Hoshen, "
      "2020)");
  add<FastRecon>(
      "fastrecon", img,
      "few-shot: closed-form distribution-regularised reconstruction from a coreset of K normal images (Fang "
      "et al., ICCV 2023)");
  add<Ffp>(
      "ffp", Modality::Video,
      "video: U-Net future-frame prediction from 4 frames, score = inverted PSNR (Liu et al., CVPR 2018, "
      "without flow and GAN)");
  add<Mvad>(
      "mvad", Modality::MultiView,
      "multi-view: reverse distillation with top-K window cross-attention between the 5 views (MVAD, He "
      "et al., 2024)");
  add<Infp>("infp", Modality::Video,
            "video: INFP frame prediction, WRN-38 encoder + TSM/FFT/context fusion + trajectory filter "
            "(IJCAI 2025); --set fusion=false filter=false is the AstNet-style baseline");
  add<WinClip>("winclip", img,
               "zero-/few-shot CLIP: prompt ensemble, 2x2 and 3x3 window embeddings, harmonic aggregation "
               "(Jeong et al., CVPR 2023); needs converted CLIP weights");
  add<AnomalyClip>("anomalyclip", img,
                   "zero-shot CLIP with learned object-agnostic prompts and DPAM (Zhou et al., ICLR 2024); "
                   "needs converted CLIP ViT-L/14@336px and prompt weights");
}

const SettingsTable& detector_settings(const std::string& name) { return *traits_of(name).settings; }

Modality detector_modality(const std::string& name) { return traits_of(name).modality; }

nlohmann::json detector_default_config(const std::string& name) {
  return defaults_of(detector_settings(name));
}

nlohmann::json defaults_of(const SettingsTable& table) {
  nlohmann::json out = nlohmann::json::object();
  for (const auto& s : table) out[s.key] = s.default_value;
  return out;
}

// ---- setting ranges ----------------------------------------------------------------------------

namespace {

std::string type_name(const nlohmann::json& j) {
  if (j.is_number()) return "number";
  return j.type_name();
}

/// A bound as people write it: 64, 0.01, 1e-12.
std::string num(double v) {
  std::ostringstream ss;
  ss.precision(15);
  ss << v;
  return ss.str();
}

bool in_bounds(double v, const SettingRange& r) {
  if (r.lo_open ? !(v > r.lo) : !(v >= r.lo)) return false;
  if (r.hi_open ? !(v < r.hi) : !(v <= r.hi)) return false;
  return true;
}

/// ">= 0", "> 0", "in [0, 64]", "in (0, 1]" (the bounds of an Integer / Number range).
std::string bounds_text(const SettingRange& r) {
  const bool has_lo = std::isfinite(r.lo), has_hi = std::isfinite(r.hi);
  if (has_lo && has_hi)
    return "in " + std::string(r.lo_open ? "(" : "[") + num(r.lo) + ", " + num(r.hi) +
           (r.hi_open ? ")" : "]");
  if (has_lo) return (r.lo_open ? "> " : ">= ") + num(r.lo);
  if (has_hi) return (r.hi_open ? "< " : "<= ") + num(r.hi);
  return "any number";
}

/// A value for an error line: strings in quotes, anything else as JSON; user text capped.
std::string shown(const nlohmann::json& v) {
  if (v.is_string()) return "'" + excerpt(v.get<std::string>()) + "'";
  return excerpt(v.dump());
}

}  // namespace

SettingRange SettingRange::integer(std::int64_t lo, std::int64_t hi, bool odd) {
  SettingRange r;
  r.kind = Kind::Integer;
  r.lo = static_cast<double>(lo);
  r.hi = static_cast<double>(hi);
  r.odd = odd;
  return r;
}

SettingRange SettingRange::number(double lo, bool lo_open, double hi, bool hi_open) {
  SettingRange r;
  r.kind = Kind::Number;
  r.lo = lo;
  r.lo_open = lo_open;
  r.hi = hi;
  r.hi_open = hi_open;
  return r;
}

SettingRange SettingRange::choice(std::vector<std::string> choices) {
  SettingRange r;
  r.kind = Kind::Choice;
  r.choices = std::move(choices);
  return r;
}

SettingRange SettingRange::text(bool non_empty) {
  SettingRange r;
  r.kind = Kind::Text;
  r.non_empty = non_empty;
  return r;
}

SettingRange SettingRange::names() {
  SettingRange r;
  r.kind = Kind::Names;
  return r;
}

SettingRange SettingRange::integers(std::size_t min_items, std::size_t max_items, std::int64_t lo,
                                    std::int64_t hi) {
  SettingRange r = integer(lo, hi);
  r.kind = Kind::Integers;
  r.min_items = min_items;
  r.max_items = max_items;
  return r;
}

SettingRange SettingRange::boolean() {
  SettingRange r;
  r.kind = Kind::Boolean;
  return r;
}

bool SettingRange::accepts(const nlohmann::json& v) const {
  switch (kind) {
    case Kind::Integer:
      if (!v.is_number_integer() || !in_bounds(v.get<double>(), *this)) return false;
      return !odd || (v.get<std::int64_t>() % 2 != 0);
    case Kind::Number:
      return v.is_number() && in_bounds(v.get<double>(), *this);
    case Kind::Choice:
      return v.is_string() &&
             std::find(choices.begin(), choices.end(), v.get<std::string>()) != choices.end();
    case Kind::Text:
      return v.is_string() && (!non_empty || !v.get<std::string>().empty());
    case Kind::Names:
      if (!v.is_array() || v.empty()) return false;
      for (const auto& x : v)
        if (!x.is_string() || x.get<std::string>().empty()) return false;
      return true;
    case Kind::Integers:
      if (!v.is_array() || v.size() < min_items || v.size() > max_items) return false;
      for (const auto& x : v)
        if (!x.is_number_integer() || !in_bounds(x.get<double>(), *this)) return false;
      return true;
    case Kind::Boolean:
      return v.is_boolean();
  }
  return false;
}

std::string SettingRange::text_for_error() const {
  switch (kind) {
    case Kind::Integer:
      return odd ? "an odd integer " + bounds_text(*this) : bounds_text(*this);
    case Kind::Number:
      return bounds_text(*this);
    case Kind::Choice: {
      std::string s;
      for (const auto& c : choices) s += (s.empty() ? "" : ", ") + c;
      return "one of " + s;
    }
    case Kind::Text:
      return non_empty ? "a non-empty string" : "any string";
    case Kind::Names:
      return "a non-empty list of names";
    case Kind::Integers:
      return "a list of " + std::to_string(min_items) + " to " + std::to_string(max_items) + " integers " +
             bounds_text(*this);
    case Kind::Boolean:
      return "true or false";
  }
  return "";
}

nlohmann::json merge_config(const std::string& detector, const nlohmann::json& defaults,
                            const nlohmann::json& overrides) {
  nlohmann::json out = defaults;
  if (overrides.is_null()) return out;
  if (!overrides.is_object()) throw InputError("detector " + detector + ": settings must be a JSON object");
  for (const auto& [key, value] : overrides.items()) {
    if (!defaults.contains(key)) {
      std::string valid;
      for (const auto& [k, v] : defaults.items()) valid += (valid.empty() ? "" : ", ") + k;
      throw InputError("detector " + detector + ": unknown setting '" + excerpt(key) + "' (valid: " + valid +
                       ")");
    }
    const auto& def = defaults[key];
    bool ok = type_name(def) == type_name(value) || (def.is_array() && value.is_array());
    if (!ok) {
      throw InputError("detector " + detector + ": setting '" + key + "' expects a " + type_name(def) +
                       ", got " + excerpt(value.dump()));
    }
    if (def.is_number_integer() && !value.is_number_integer()) {
      throw InputError("detector " + detector + ": setting '" + key + "' expects an integer, got " +
                       excerpt(value.dump()));
    }
    out[key] = value;
  }
  return out;
}

nlohmann::json merge_config(const std::string& detector, const SettingsTable& table,
                            const nlohmann::json& overrides) {
  nlohmann::json out = merge_config(detector, defaults_of(table), overrides);
  for (const auto& spec : table) {
    const auto& v = out[spec.key];
    if (!spec.range.accepts(v))
      throw InputError("detector " + detector + ": setting '" + spec.key + "' must be " +
                       spec.range.text_for_error() + ", got " + shown(v));
  }
  return out;
}

}  // namespace adbench

namespace adbench {

double Detector::predict_units(const Sample& sample, const RunContext& ctx, const UnitSink& sink) {
  auto preds = predict({sample}, ctx);
  if (preds.size() != 1 || preds.front().units.size() != sample.units.size())
    throw InternalError("detector " + name() + " returned " + std::to_string(preds.size()) +
                        " predictions for one sample of " + std::to_string(sample.units.size()) + " units");
  for (std::size_t i = 0; i < preds.front().units.size(); ++i) sink(i, std::move(preds.front().units[i]));
  return preds.front().score;
}

}  // namespace adbench
