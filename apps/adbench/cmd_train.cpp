#include <algorithm>
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
    bool force = false, resume = false;
    int batch_size = 16;
    std::int64_t epochs = 0;
    std::string checkpoint_dir;
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
  app.add_flag("--force", o->force, "Replace an existing run folder (and an existing --checkpoint-dir)");
  app.add_option(
         "--epochs", o->epochs,
         "Training detectors (video, mvad): train N epochs (setting 'epochs'; also sets 'iterations' to 0 "
         "unless --config/--set give it)")
      ->check(integer_in(1, 1000000, "an integer in [1, 1000000]"));
  app.add_option("--checkpoint-dir", o->checkpoint_dir,
                 "Training detectors (video, mvad): keep checkpoints in this folder while training (it stays "
                 "after an interrupted run)");
  app.add_flag("--resume", o->resume, "Continue from the latest checkpoint in --checkpoint-dir");
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
    if (o->epochs > 0 || !o->checkpoint_dir.empty() || o->resume) {
      register_builtin_detectors();
      const auto& table = detector_settings(detector);
      auto has = [&table](const std::string& key) {
        return std::any_of(table.begin(), table.end(), [&key](const SettingSpec& s) { return s.key == key; });
      };
      if (o->epochs > 0) {
        if (!has("epochs"))
          throw InputError("adbench train: --epochs: detector '" + detector +
                           "' has no 'epochs' setting (it does not train in epochs)");
        overrides["epochs"] = o->epochs;
        if (has("iterations") && !overrides.contains("iterations")) overrides["iterations"] = 0;
      }
      if ((!o->checkpoint_dir.empty() || o->resume) && !has("checkpoint_every"))
        throw InputError(
            "adbench train: --checkpoint-dir and --resume are for detectors that train in epochs; '" +
            detector + "' keeps no checkpoints");
      if (o->resume && o->checkpoint_dir.empty())
        throw InputError(
            "adbench train: --resume needs --checkpoint-dir (the folder of the checkpoints to continue)");
    }
    auto common = make_common(g, o->batch_size);
    TrainRequest req{detector, overrides, o->dataset, o->root, o->category, o->out, o->force, o->setting};
    req.checkpoint_dir = o->checkpoint_dir;
    req.resume = o->resume;
    auto info = train(req, common);
    spdlog::info("trained {} on {} images of {} in {:.2f} s", detector, info["train_count"].get<int64_t>(),
                 o->category, info["train_seconds"].get<double>());
    std::cout << o->out << "\n";
    return 0;
  };
}

}  // namespace adbench::cli
