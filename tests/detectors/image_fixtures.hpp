#pragma once
// A tiny synthetic dataset for the image-detector tests (written once per process through the
// library, so that the tests stay fast on two cores): categories cap and weave at 128 x 128,
// 8 training images, 4 normal and 2 per defect kind in the test set.
#include <filesystem>

#include "adbench/datasets/synth.hpp"
#include "test_util.hpp"

namespace adbench::test {

inline const std::filesystem::path& tiny_synth_root() {
  static TempDir dir("imgdet");
  static std::filesystem::path root = [] {
    SynthOptions o;
    o.train_good = 8;
    o.test_good = 4;
    o.per_defect = 2;
    o.categories = {"cap", "weave"};
    o.image_size = 128;
    std::filesystem::path r = dir / "synth";
    write_synthetic_dataset(r, 0, o);
    return r;
  }();
  return root;
}

inline std::string quote(const std::filesystem::path& p) { return q(p); }

/// Settings that keep a detector small and fast on the tiny dataset (mobilenet_v2, 128 px).
inline std::string fast_settings(const std::string& detector) {
  std::string s = " --backbone mobilenet_v2 --set image_size=128";
  if (detector == "spade") s += " --set top_k=3";
  if (detector == "fastrecon") s += " --shots 4";
  return s;
}

}  // namespace adbench::test
