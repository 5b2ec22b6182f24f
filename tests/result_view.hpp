#pragma once
// The flat per-category view of an adbench.result/2 document that the tests written before metric
// levels assert on: "metrics" {image_* (the sample level), pixel_* (the pixel or point level),
// aupro_*}, "counts" {train, test, test_normal, test_anomalous, masks, empty_masks, pixels,
// anomalous_pixels, regions, resized_maps} and "level" (pixel or point). Added beside "levels",
// never replacing anything; tests of the levels themselves read "levels" (tests/bench, test_cli).
#include <nlohmann/json.hpp>

namespace adbench::test {

inline nlohmann::json with_v1_view(nlohmann::json j) {
  if (!j.is_object() || j.value("schema", "") != "adbench.result/2") return j;
  for (auto& c : j["categories"]) {
    const auto& levels = c["levels"];
    const nlohmann::json* sample = nullptr;
    const nlohmann::json* fine = nullptr;
    for (const auto& l : levels) {
      const std::string name = l["level"];
      if (name == "image" || name == "sample") sample = &l;
      if (name == "pixel" || name == "point") fine = &l;
    }
    nlohmann::json m = nlohmann::json::object(), n = nlohmann::json::object();
    for (const char* k : {"auroc", "ap", "f1_max"}) {
      m[std::string("image_") + k] = sample ? (*sample)["metrics"][k] : nlohmann::json();
      m[std::string("pixel_") + k] = fine ? (*fine)["metrics"][k] : nlohmann::json();
    }
    if (fine)
      for (const auto& [k, v] : (*fine)["metrics"].items())
        if (k.rfind("aupro_", 0) == 0) m[k] = v;
    auto count = [](const nlohmann::json* l, const char* k) -> std::int64_t {
      return l && (*l)["counts"].contains(k) ? (*l)["counts"][k].get<std::int64_t>() : 0;
    };
    n["train"] = c["counts"]["train"];
    n["test"] = c["counts"]["test"];
    n["test_normal"] = count(sample, "normal");
    n["test_anomalous"] = count(sample, "anomalous");
    n["masks"] = count(fine, "masks");
    n["empty_masks"] = count(fine, "empty_masks");
    n["pixels"] = count(fine, "units");
    n["anomalous_pixels"] = count(fine, "anomalous");
    n["regions"] = count(fine, "regions");
    n["resized_maps"] = count(fine, "resized_maps");
    c["metrics"] = m;
    c["counts"] = n;
    c["level"] = fine ? (*fine)["level"] : nlohmann::json("pixel");
    if (sample) c["image_f1_threshold"] = (*sample)["f1_threshold"];
  }
  return j;
}

}  // namespace adbench::test
