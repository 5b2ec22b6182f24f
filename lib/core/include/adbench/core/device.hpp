#pragma once
// Device choice: "auto" (CUDA when LibTorch has it and a GPU is visible, else CPU), "cpu",
// "cuda" or "cuda:N". Every tensor computation in adbench takes a device.
#include <ATen/ATen.h>

#include <string>

namespace adbench {

/// Parses a --device value; InputError for an unknown spelling or an unavailable CUDA device.
at::Device parse_device(const std::string& spec);

/// "cpu" or "cuda:0".
std::string device_string(const at::Device& device);

/// A human description: CPU model name, or the GPU's name.
std::string device_description(const at::Device& device);

/// Sets LibTorch's intra-op thread count (it defaults to 1 in Debian's build); n <= 0: all cores.
/// Returns the count in effect.
int set_threads(int n);

}  // namespace adbench
