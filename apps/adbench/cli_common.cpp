#include "cli_common.hpp"

#include <algorithm>
#include <charconv>
#include <limits>
#include <optional>
#include <thread>

#include "adbench/core/device.hpp"
#include "adbench/core/error.hpp"
#include "adbench/core/fs.hpp"
#include "adbench/core/log.hpp"
#include "adbench/formats/json_fields.hpp"

namespace adbench::cli {

namespace {

/// The value for an error line: a number as typed, anything else quoted; capped by excerpt().
std::string shown(const std::string& text) {
  const bool plain = !text.empty() && text.find_first_not_of("0123456789+-.eE") == std::string::npos;
  return plain ? excerpt(text) : "'" + excerpt(text) + "'";
}

/// Strict decimal integer: optional '-', digits, nothing else (no spaces, no '+', no "1e3").
template <typename T>
std::optional<T> parse_integer(const std::string& text, bool* overflow) {
  *overflow = false;
  if (text.empty()) return std::nullopt;
  T v{};
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ptr != text.data() + text.size()) return std::nullopt;
  if (ec == std::errc::result_out_of_range) {
    *overflow = true;
    return std::nullopt;
  }
  if (ec != std::errc()) return std::nullopt;
  return v;
}

bool all_digits(const std::string& t, std::size_t from) {
  return t.size() > from && t.find_first_not_of("0123456789", from) == std::string::npos;
}

}  // namespace

CLI::Validator integer_in(std::int64_t lo, std::int64_t hi, const std::string& what) {
  const bool names_hi = what.find(std::to_string(hi)) != std::string::npos;
  return CLI::Validator(
      [lo, hi, what, names_hi](std::string& text) -> std::string {
        bool overflow = false;
        auto v = parse_integer<std::int64_t>(text, &overflow);
        const bool too_large = (v && *v > hi) || (overflow && text[0] != '-');
        if (v && *v >= lo && *v <= hi) return "";
        std::string msg = "expected " + what + ", got " + shown(text);
        if (too_large && !names_hi && (v || all_digits(text, 0)))
          msg += " (at most " + std::to_string(hi) + ")";
        return msg;
      },
      "INT");
}

CLI::Validator unsigned_64(const std::string& what) {
  return CLI::Validator(
      [what](std::string& text) -> std::string {
        bool overflow = false;
        // from_chars on an unsigned type refuses '-', so "-1" cannot wrap around.
        if (parse_integer<std::uint64_t>(text, &overflow)) return "";
        return "expected " + what + ", got " + shown(text);
      },
      "UINT");
}

CLI::Validator fraction_open_closed() {
  return CLI::Validator(
      [](std::string& text) -> std::string {
        double v = 0;
        auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
        const bool number = !text.empty() && ec == std::errc() && ptr == text.data() + text.size();
        if (number && v > 0.0 && v <= 1.0) return "";
        return "expected numbers in (0, 1], got " + shown(text);
      },
      "(0,1]");
}

CLI::Validator one_of(const std::vector<std::string>& choices) {
  std::string list, braces;
  for (const auto& c : choices) {
    list += (list.empty() ? "" : ", ") + c;
    braces += (braces.empty() ? "" : ",") + c;
  }
  return CLI::Validator(
      [choices, list](std::string& text) -> std::string {
        if (std::find(choices.begin(), choices.end(), text) != choices.end()) return "";
        return "expected one of " + list + ", got '" + excerpt(text) + "'";
      },
      "{" + braces + "}");
}

CLI::Validator threads_limit() {
  const std::int64_t hw = std::max(1u, std::thread::hardware_concurrency());
  return integer_in(0, 4 * hw,
                    "an integer from 0 to " + std::to_string(4 * hw) + " (0: all cores; at most 4 x " +
                        std::to_string(hw) + " hardware threads)");
}

CommonOptions make_common(const Globals& g, int batch_size) {
  CommonOptions c;
  c.device = parse_device(g.device);
  c.threads = set_threads(g.threads);
  c.seed = g.seed;
  c.batch_size = batch_size;
  c.command_line = g.command_line;
  c.dataset.split = g.split;
  c.dataset.label_mismatch = g.label_mismatch == "truncate" ? LabelMismatch::Truncate
                             : g.label_mismatch == "skip"   ? LabelMismatch::Skip
                                                            : LabelMismatch::Error;
  at::manual_seed(g.seed);
  spdlog::debug("device {}, {} threads, seed {}", device_string(c.device), c.threads, c.seed);
  return c;
}

void DetectorSugar::add_to(CLI::App& app) {
  app.add_option("--backbone", backbone,
                 "Backbone of a feature detector (setting 'backbone'): resnet18, wide_resnet50_2, "
                 "mobilenet_v2, torchscript");
  app.add_option("--backbone-weights", backbone_weights,
                 "Backbone weights (setting 'backbone_weights'): a .safetensors or TorchScript file, or "
                 "'none' for random init");
  app.add_option(
         "--shots", shots,
         "Few-shot detectors (fastrecon, winclip): number of normal training images used (setting 'shots')")
      ->check(integer_in(1, std::numeric_limits<int>::max(), "an integer >= 1"));
}

void DetectorSugar::apply(nlohmann::json& overrides) const {
  if (!backbone.empty()) overrides["backbone"] = backbone;
  if (!backbone_weights.empty()) overrides["backbone_weights"] = backbone_weights;
  if (shots > 0) overrides["shots"] = shots;
}

nlohmann::json load_overrides(const std::string& config_file, const std::vector<std::string>& sets,
                              std::string* detector) {
  nlohmann::json o = nlohmann::json::object();
  if (!config_file.empty()) {
    protect_input(config_file, "the --config file");
    // Syntax, an object of settings, "detector" a string: errors name the file and the key.
    o = formats::parse_config_json(read_file(config_file), config_file);
    if (o.contains("detector")) {
      std::string d = o["detector"].get<std::string>();
      if (detector && detector->empty())
        *detector = d;
      else if (detector && *detector != d)
        throw_file_error(config_file,
                         "is for detector '" + excerpt(d) + "' but --detector is '" + *detector + "'");
      o.erase("detector");
    }
    o.erase("_comment");
  }
  for (const auto& s : sets) {
    auto eq = s.find('=');
    if (eq == std::string::npos || eq == 0)
      throw InputError("--set: expected KEY=VALUE, got '" + excerpt(s) + "'");
    std::string key = s.substr(0, eq), value = s.substr(eq + 1);
    // The detector is not a setting: --set detector=X used to be dropped without a word.
    if (key == "detector")
      throw InputError("--set detector=" + excerpt(value) +
                       ": the detector is not a setting; use --detector " + excerpt(value));
    nlohmann::json v;
    try {
      v = nlohmann::json::parse(value);
    } catch (const nlohmann::json::exception&) {
      v = value;  // a bare word is a string
    }
    o[key] = v;
  }
  return o;
}

}  // namespace adbench::cli
