// run.json and --config files: the same bytes through both validators.
#include "adbench/formats/json_fields.hpp"
#include "fuzz_common.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  fuzz_one(data, size, [](std::string_view b) { adbench::formats::parse_run_json(b, "run.json"); });
  return fuzz_one(data, size,
                  [](std::string_view b) { adbench::formats::parse_config_json(b, "config.json"); });
}
