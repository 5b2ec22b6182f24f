#include "cli_common.hpp"

#include "adbench/formats/json_fields.hpp"
#include "adbench/core/device.hpp"
#include "adbench/core/error.hpp"
#include "adbench/core/fs.hpp"
#include "adbench/core/log.hpp"

namespace adbench::cli {

CommonOptions make_common(const Globals& g, int batch_size) {
  CommonOptions c;
  c.device = parse_device(g.device);
  c.threads = set_threads(g.threads);
  c.seed = g.seed;
  c.batch_size = batch_size;
  c.command_line = g.command_line;
  at::manual_seed(g.seed);
  spdlog::debug("device {}, {} threads, seed {}", device_string(c.device), c.threads, c.seed);
  return c;
}

void DetectorSugar::add_to(CLI::App& app) {
  app.add_option("--backbone", backbone, "Backbone of a feature detector (setting 'backbone'): resnet18, wide_resnet50_2, mobilenet_v2, torchscript");
  app.add_option("--backbone-weights", backbone_weights,
                 "Backbone weights (setting 'backbone_weights'): a .safetensors or TorchScript file, or 'none' for random init");
  app.add_option("--shots", shots, "Few-shot detectors (fastrecon): number of normal training images used (setting 'shots')")
      ->check(CLI::PositiveNumber);
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
    // Syntax, an object of settings, "detector" a string: errors name the file and the key.
    o = formats::parse_config_json(read_file(config_file), config_file);
    if (o.contains("detector")) {
      std::string d = o["detector"].get<std::string>();
      if (detector && detector->empty()) *detector = d;
      else if (detector && *detector != d)
        throw_file_error(config_file, "is for detector '" + excerpt(d) + "' but --detector is '" + *detector + "'");
      o.erase("detector");
    }
    o.erase("_comment");
  }
  for (const auto& s : sets) {
    auto eq = s.find('=');
    if (eq == std::string::npos || eq == 0) throw InputError("--set: expected KEY=VALUE, got '" + s + "'");
    std::string key = s.substr(0, eq), value = s.substr(eq + 1);
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
