#include "adbench/core/device.hpp"

#include <ATen/Parallel.h>
#include <ATen/Context.h>

#include <algorithm>
#include <fstream>
#include <thread>

#include "adbench/core/error.hpp"
#include "adbench/core/system_info.hpp"

namespace adbench {

at::Device parse_device(const std::string& spec) {
  if (spec == "cpu") return at::Device(at::kCPU);
  if (spec == "auto") {
    return at::hasCUDA() ? at::Device(at::kCUDA, 0) : at::Device(at::kCPU);
  }
  // "cuda" or "cuda:N" with N of 1 to 3 digits (a device index is a small number).
  int index = 0;
  const bool plain = spec == "cuda";
  const bool indexed = spec.size() > 5 && spec.size() <= 8 && spec.compare(0, 5, "cuda:") == 0 &&
                       std::all_of(spec.begin() + 5, spec.end(), [](char c) { return c >= '0' && c <= '9'; });
  if (!plain && !indexed)
    throw InputError("--device: expected auto, cpu, cuda or cuda:N, got '" + excerpt(spec, 40) + "'");
  if (indexed) index = std::stoi(spec.substr(5));
  if (!at::hasCUDA()) {
    throw InputError("--device " + excerpt(spec, 40) +
                     ": this adbench was built against a LibTorch without CUDA or no GPU is visible");
  }
  return at::Device(at::kCUDA, static_cast<c10::DeviceIndex>(index));
}

std::string device_string(const at::Device& device) { return device.str(); }

std::string device_description(const at::Device& device) {
  if (device.is_cpu()) return cpu_model_name();
  return "CUDA device " + std::to_string(device.index());
}

int set_threads(int n) {
  if (n <= 0) n = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  at::set_num_threads(n);
  return at::get_num_threads();
}

}  // namespace adbench
