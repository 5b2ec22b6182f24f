// Real3D-AD / Anomaly-ShapeNet / MiniShift per-point ground truth ("x y z label" or "label" rows).
#include "adbench/formats/text_formats.hpp"
#include "fuzz_common.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  return fuzz_one(data, size,
                  [](std::string_view b) { adbench::formats::parse_point_labels(b, "fuzz_gt.txt"); });
}
