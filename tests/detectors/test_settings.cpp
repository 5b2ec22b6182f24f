// Detector settings tables (issue 7): every setting of every detector has a default inside its
// range, a description, and a range that the detector's constructor enforces at merge time with
// one exact line, bounds inclusive or exclusive exactly as written.
#include <catch2/catch.hpp>
#include <cmath>

#include "adbench/core/error.hpp"
#include "adbench/detectors/detector.hpp"

using adbench::SettingRange;

namespace {

/// The message of the InputError that creating `detector` with {key: value} throws ("" if none).
std::string create_error(const std::string& detector, const std::string& key, const nlohmann::json& value) {
  try {
    adbench::detector_registry().create(detector, {{key, value}});
  } catch (const adbench::InputError& e) {
    return e.what();
  }
  return "";
}

std::string range_error(const std::string& detector, const std::string& key, const std::string& range,
                        const std::string& got) {
  return "detector " + detector + ": setting '" + key + "' must be " + range + ", got " + got;
}

}  // namespace

TEST_CASE("settings tables: defaults are in range, documented, and derive the default config",
          "[detectors][settings]") {
  adbench::register_builtin_detectors();
  for (const auto& name : adbench::detector_registry().names()) {
    const auto& table = adbench::detector_settings(name);
    REQUIRE(!table.empty());
    for (const auto& s : table) {
      INFO(name << "/" << s.key);
      CHECK(s.range.accepts(s.default_value));
      CHECK(!s.doc.empty());
      CHECK(!s.range.text_for_error().empty());
    }
    REQUIRE(adbench::defaults_of(table) == adbench::detector_default_config(name));
    REQUIRE_NOTHROW(adbench::detector_registry().create(name, nlohmann::json::object()));
  }
  REQUIRE_THROWS_WITH(adbench::detector_settings("nope"), Catch::Contains("unknown detector 'nope'"));
}

TEST_CASE("settings tables: every numeric bound is enforced by the detector, exactly",
          "[detectors][settings]") {
  adbench::register_builtin_detectors();
  for (const auto& name : adbench::detector_registry().names()) {
    for (const auto& s : adbench::detector_settings(name)) {
      const auto& r = s.range;
      if (r.kind != SettingRange::Kind::Integer && r.kind != SettingRange::Kind::Number) continue;
      INFO(name << "/" << s.key << " " << r.text_for_error());
      const std::string text = r.text_for_error();
      if (r.kind == SettingRange::Kind::Integer) {
        const auto lo = static_cast<std::int64_t>(r.lo), hi = static_cast<std::int64_t>(r.hi);
        CHECK(create_error(name, s.key, lo) == "");
        CHECK(create_error(name, s.key, hi) == "");
        CHECK(create_error(name, s.key, lo - 1) == range_error(name, s.key, text, std::to_string(lo - 1)));
        CHECK(create_error(name, s.key, hi + 1) == range_error(name, s.key, text, std::to_string(hi + 1)));
        if (r.odd)
          CHECK(create_error(name, s.key, lo + 1) == range_error(name, s.key, text, std::to_string(lo + 1)));
      } else {
        const nlohmann::json lo = r.lo;
        CHECK(create_error(name, s.key, lo) == (r.lo_open ? range_error(name, s.key, text, lo.dump()) : ""));
        const nlohmann::json below = std::nextafter(r.lo, -HUGE_VAL);
        CHECK(create_error(name, s.key, below) == range_error(name, s.key, text, below.dump()));
        if (std::isfinite(r.hi)) {
          const nlohmann::json hi = r.hi, above = std::nextafter(r.hi, HUGE_VAL);
          CHECK(create_error(name, s.key, hi) ==
                (r.hi_open ? range_error(name, s.key, text, hi.dump()) : ""));
          CHECK(create_error(name, s.key, above) == range_error(name, s.key, text, above.dump()));
        }
      }
    }
  }
}

TEST_CASE("settings: exact lines for each kind of range", "[detectors][settings]") {
  adbench::register_builtin_detectors();
  CHECK(create_error("patchcore", "sigma", -1) ==
        "detector patchcore: setting 'sigma' must be in [0, 64], got -1");
  CHECK(create_error("patchcore", "sigma", 0) == "");
  CHECK(create_error("patchcore", "coreset_ratio", 0) ==
        "detector patchcore: setting 'coreset_ratio' must be in (0, 1], got 0");
  CHECK(create_error("patchcore", "coreset_ratio", 1) == "");
  CHECK(create_error("patchcore", "coreset_ratio", 1.5) ==
        "detector patchcore: setting 'coreset_ratio' must be in (0, 1], got 1.5");
  CHECK(create_error("patchcore", "patch_size", 4) ==
        "detector patchcore: setting 'patch_size' must be an odd integer in [1, 31], got 4");
  CHECK(create_error("padim", "covariance_eps", 0) ==
        "detector padim: setting 'covariance_eps' must be > 0, got 0");
  CHECK(create_error("fastrecon", "lambda", -0.5) ==
        "detector fastrecon: setting 'lambda' must be >= 0, got -0.5");
  CHECK(create_error("spade", "image_metric", "l1") ==
        "detector spade: setting 'image_metric' must be one of l2, cosine, got 'l1'");
  CHECK(create_error("spade", "image_layer", "") ==
        "detector spade: setting 'image_layer' must be a non-empty string, got ''");
  CHECK(
      create_error("patchcore", "backbone", "vgg16") ==
      "detector patchcore: setting 'backbone' must be one of mobilenet_v2, resnet18, resnet34, torchscript, "
      "wide_resnet50_2, "
      "got 'vgg16'");
  CHECK(create_error("patchcore", "layers", nlohmann::json::array()) ==
        "detector patchcore: setting 'layers' must be a non-empty list of names, got []");
  CHECK(create_error("simple3d", "neighbour_counts", {40, 1}) ==
        "detector simple3d: setting 'neighbour_counts' must be a list of 1 to 8 integers in [2, 10000], got "
        "[40,1]");
  CHECK(create_error("simple3d", "neighbour_counts", nlohmann::json::array()) ==
        "detector simple3d: setting 'neighbour_counts' must be a list of 1 to 8 integers in [2, 10000], got "
        "[]");
  // Beyond 32 bits: refused, never wrapped around to a small value.
  CHECK(create_error("variation_model", "image_size", 4294967304LL) ==
        "detector variation_model: setting 'image_size' must be in [8, 4096], got 4294967304");
  // Types are checked first, as before.
  CHECK(create_error("patchcore", "patch_size", 3.0) ==
        "detector patchcore: setting 'patch_size' expects an integer, got 3.0");
  // The config keys of --config files are not settings of the detector itself.
  CHECK(create_error("variation_model", "_comment", "x") ==
        "detector variation_model: unknown setting '_comment' (valid: image_size, std_floor)");
}

TEST_CASE("settings: values from run.json are checked as well", "[detectors][settings]") {
  adbench::register_builtin_detectors();
  nlohmann::json cfg = adbench::detector_default_config("padim");
  cfg["channels"] = 0;
  REQUIRE_THROWS_WITH(adbench::detector_registry().create("padim", cfg),
                      "detector padim: setting 'channels' must be in [1, 65536], got 0");
}
