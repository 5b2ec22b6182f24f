#include <iostream>
#include <limits>

#include "adbench/core/log.hpp"
#include "cli_common.hpp"

namespace adbench::cli {

Action setup_infer(CLI::App& app, const Globals& g) {
  struct Opts {
    std::string run, out, root, dataset, category;
    bool heatmaps = false, force = false;
    int batch_size = 16;
  };
  auto o = std::make_shared<Opts>();
  app.add_option("--run", o->run, "Run folder written by adbench train")->required();
  app.add_option("--out", o->out, "Prediction folder (PRED); writes PRED/<category>/...")->required();
  app.add_option("--root", o->root, "Dataset root (default: the run's)");
  app.add_option("--dataset", o->dataset, "Dataset adapter (default: the run's)");
  app.add_option("--category", o->category, "Category (default: the run's)");
  app.add_flag("--heatmaps", o->heatmaps, "Also write PNG overlays to PRED/<category>/heatmaps/");
  app.add_option("--batch-size", o->batch_size, "Images per batch")
      ->capture_default_str()
      ->check(integer_in(1, std::numeric_limits<int>::max(), "an integer >= 1"));
  app.add_flag("--force", o->force, "Replace an existing PRED/<category>");
  app.footer(
      "Writes PRED/<category>/test/<defect>/<stem>.tiff (float32 maps), PRED/<category>/scores.csv\n"
      "(path,score) and PRED/<category>/prediction.json (provenance).\n"
      "Example (runs/vm_cap: written by the first example of 'adbench train --help'):\n"
      "  adbench infer --run runs/vm_cap --out preds --heatmaps");
  return [o, &g]() {
    auto common = make_common(g, o->batch_size);
    InferRequest req;
    req.run = o->run;
    req.out = o->out;
    if (!o->root.empty()) req.root = o->root;
    if (!o->dataset.empty()) req.dataset = o->dataset;
    if (!o->category.empty()) req.category = o->category;
    req.heatmaps = o->heatmaps;
    req.force = o->force;
    auto n = infer(req, common);
    spdlog::info("wrote {} predictions", n);
    std::cout << o->out << "\n";
    return 0;
  };
}

}  // namespace adbench::cli
