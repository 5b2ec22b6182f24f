#include <iostream>
#include <limits>

#include "adbench/core/log.hpp"
#include "cli_common.hpp"

namespace adbench::cli {

Action setup_train(CLI::App& app, const Globals& g) {
  struct Opts {
    std::string detector, dataset = "mvtec_ad", root, category, out, config, setting = "single-class";
    DetectorSugar sugar;
    std::vector<std::string> sets;
    bool force = false;
    int batch_size = 16;
  };
  auto o = std::make_shared<Opts>();
  app.add_option("--detector", o->detector, "Detector name (adbench list detectors)");
  app.add_option("--dataset", o->dataset, "Dataset adapter (adbench list datasets)")->capture_default_str();
  app.add_option("--root", o->root, "Dataset root folder")->required();
  app.add_option("--category", o->category, "Category to train on ('all' with --setting multi-class)")
      ->required();
  app.add_option("--setting", o->setting,
                 "single-class (one model per category) | multi-class (one model on every category's train "
                 "images; --category all)")
      ->check(one_of({"single-class", "multi-class"}))
      ->capture_default_str();
  app.add_option("--out", o->out, "Run folder to write (refused if it exists, unless --force)")->required();
  app.add_option("--config", o->config, "JSON file of detector settings (configs/<detector>.json)");
  app.add_option("--set", o->sets, "Override one setting: KEY=VALUE (repeatable; VALUE parsed as JSON)");
  app.add_option("--batch-size", o->batch_size, "Images per batch")
      ->capture_default_str()
      ->check(integer_in(1, std::numeric_limits<int>::max(), "an integer >= 1"));
  app.add_flag("--force", o->force, "Replace an existing run folder");
  o->sugar.add_to(app);
  app.footer(
      "Writes RUN/run.json (effective config, adbench version, dataset, setting, backbone provenance, "
      "timings)\n"
      "and RUN/model.safetensors.\n"
      "Examples (data/synth: written by 'adbench synth --out data/synth'; categories bracket, cap, marble, "
      "weave):\n"
      "  adbench train --detector variation_model --dataset mvtec_ad --root data/synth \\\n"
      "                --category cap --out runs/vm_cap\n"
      "  adbench train --detector patchcore --backbone mobilenet_v2 \\\n"
      "                --backbone-weights mobilenet_v2.safetensors --root data/synth --category cap --out "
      "runs/pc_cap\n"
      "  adbench train --detector padim --backbone mobilenet_v2 --backbone-weights mobilenet_v2.safetensors "
      "\\\n"
      "                --setting multi-class --root data/synth --category all --out runs/padim_all");
  return [o, &g]() {
    std::string detector = o->detector;
    auto overrides = load_overrides(o->config, o->sets, &detector);
    o->sugar.apply(overrides);
    if (detector.empty())
      throw InputError("adbench train: --detector is required (or a config file naming one)");
    auto common = make_common(g, o->batch_size);
    TrainRequest req{detector, overrides, o->dataset, o->root, o->category, o->out, o->force, o->setting};
    auto info = train(req, common);
    spdlog::info("trained {} on {} images of {} in {:.2f} s", detector, info["train_count"].get<int64_t>(),
                 o->category, info["train_seconds"].get<double>());
    std::cout << o->out << "\n";
    return 0;
  };
}

}  // namespace adbench::cli
