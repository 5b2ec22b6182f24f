#pragma once
// Shared by the libFuzzer targets: run a parser on the input; an InputError (bad input, reported
// by name) is the expected outcome for most inputs. Anything else escaping — another exception
// type, a crash, a sanitizer report, a leak, a hang — is a finding.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "adbench/core/error.hpp"

template <class F>
int fuzz_one(const std::uint8_t* data, std::size_t size, F&& parse) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  try {
    parse(bytes);
  } catch (const adbench::InputError&) {
  }
  return 0;
}
