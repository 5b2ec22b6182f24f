#include <algorithm>
#include <array>
#include <iostream>

#include "adbench/core/error.hpp"
#include "adbench/datasets/dataset.hpp"
#include "adbench/detectors/detector.hpp"
#include "cli_common.hpp"

namespace adbench::cli {

namespace {

/// The JSON type of a setting as the listing names it.
std::string type_of(const nlohmann::json& v) {
  if (v.is_number_integer()) return "integer";
  if (v.is_number()) return "number";
  if (v.is_string()) return "string";
  if (v.is_array()) return "list";
  return v.type_name();
}

/// "  key  default  type, range  doc" lines, columns aligned, indented under the detector's line.
std::string settings_listing(const SettingsTable& table) {
  std::size_t wk = 0, wd = 0, wr = 0;
  std::vector<std::array<std::string, 4>> rows;
  for (const auto& s : table) {
    std::string def =
        s.default_value.is_string() ? "'" + s.default_value.get<std::string>() + "'" : s.default_value.dump();
    std::string range = s.range.text_for_error();  // "in [1, 31]", "an odd integer in [1, 31]", "one of a, b"
    if (s.range.kind == SettingRange::Kind::Integer && s.range.odd)
      range = range.substr(3);
    else if (s.range.kind == SettingRange::Kind::Integer || s.range.kind == SettingRange::Kind::Number)
      range = type_of(s.default_value) + " " + range;
    rows.push_back({s.key, def, range, s.doc});
    wk = std::max(wk, s.key.size());
    wd = std::max(wd, def.size());
    wr = std::max(wr, range.size());
  }
  std::string out;
  for (const auto& r : rows) {
    auto pad = [](const std::string& x, std::size_t w) { return x + std::string(w - x.size(), ' '); };
    out += "    " + pad(r[0], wk) + "  " + pad(r[1], wd) + "  " + pad(r[2], wr) + "  " + r[3] + "\n";
  }
  return out;
}

}  // namespace

Action setup_list(CLI::App& app, const Globals& g) {
  struct Opts {
    std::string what, dataset, root;
    bool verbose = false;
  };
  auto o = std::make_shared<Opts>();
  app.add_option("what", o->what, "datasets | detectors | categories")
      ->required()
      ->check(one_of({"datasets", "detectors", "categories"}));
  app.add_option("--dataset", o->dataset, "With 'categories': the dataset adapter");
  app.add_option("--root", o->root, "With 'categories': the dataset root");
  app.add_flag("-v,--verbose", o->verbose,
               "With 'detectors': every setting of every detector with its default, valid range and meaning");
  app.footer(
      "Examples:\n  adbench list datasets\n  adbench list detectors\n"
      "  adbench list detectors --verbose   # each setting: default, range (for --set KEY=VALUE / --config)\n"
      "  adbench list categories --dataset mvtec_ad --root data/synth");
  return [o, &g]() {
    if (o->what == "datasets") {
      for (const auto& n : dataset_registry().names())
        std::cout << n << "\t" << dataset_registry().summary(n) << "\n";
    } else if (o->what == "detectors") {
      for (const auto& n : detector_registry().names()) {
        std::cout << n << "\t[" << plural_noun(detector_modality(n)) << "] " << detector_registry().summary(n)
                  << "\n";
        if (o->verbose) std::cout << settings_listing(detector_settings(n));
      }
    } else {
      if (o->dataset.empty() || o->root.empty())
        throw InputError("adbench list categories: --dataset and --root are required");
      DatasetOptions options;
      options.split = g.split;
      auto adapter = make_dataset_adapter(o->dataset, options);
      for (const auto& c : adapter->categories(o->root)) std::cout << c << "\n";
    }
    return 0;
  };
}

}  // namespace adbench::cli
