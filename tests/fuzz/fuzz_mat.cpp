// MATLAB v5 .mat: header, data element tags (long and small format), miCOMPRESSED (zlib), nested
// cell arrays, and the label-vector view of every variable.
#include "adbench/formats/mat_format.hpp"
#include "fuzz_common.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  return fuzz_one(data, size, [](std::string_view b) {
    for (const auto& v : adbench::formats::parse_mat(b, "fuzz.mat")) {
      try {
        adbench::formats::mat_label_vectors(v.array, "fuzz.mat", v.name);
      } catch (const adbench::InputError&) {
      }
    }
  });
}
