#include <iostream>

#include "adbench/core/error.hpp"
#include "adbench/datasets/dataset.hpp"
#include "adbench/detectors/detector.hpp"
#include "cli_common.hpp"

namespace adbench::cli {

Action setup_list(CLI::App& app, const Globals& g) {
  struct Opts {
    std::string what, dataset, root;
  };
  auto o = std::make_shared<Opts>();
  app.add_option("what", o->what, "datasets | detectors | categories")
      ->required()
      ->check(CLI::IsMember({"datasets", "detectors", "categories"}));
  app.add_option("--dataset", o->dataset, "With 'categories': the dataset adapter");
  app.add_option("--root", o->root, "With 'categories': the dataset root");
  app.footer(
      "Examples:\n  adbench list datasets\n  adbench list detectors\n"
      "  adbench list categories --dataset mvtec_ad --root data/synth");
  return [o]() {
    if (o->what == "datasets") {
      for (const auto& n : dataset_registry().names())
        std::cout << n << "\t" << dataset_registry().summary(n) << "\n";
    } else if (o->what == "detectors") {
      for (const auto& n : detector_registry().names())
        std::cout << n << "\t" << detector_registry().summary(n) << "\n";
    } else {
      if (o->dataset.empty() || o->root.empty())
        throw InputError("adbench list categories: --dataset and --root are required");
      auto adapter = dataset_registry().create(o->dataset);
      for (const auto& c : adapter->categories(o->root)) std::cout << c << "\n";
    }
    return 0;
  };
}

}  // namespace adbench::cli
