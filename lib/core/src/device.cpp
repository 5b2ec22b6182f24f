#include "adbench/core/device.hpp"

#include <ATen/Parallel.h>
#include <ATen/Context.h>

#include <fstream>
#include <regex>
#include <thread>

#include "adbench/core/error.hpp"
#include "adbench/core/system_info.hpp"

namespace adbench {

at::Device parse_device(const std::string& spec) {
  if (spec == "cpu") return at::Device(at::kCPU);
  if (spec == "auto") {
    return at::hasCUDA() ? at::Device(at::kCUDA, 0) : at::Device(at::kCPU);
  }
  static const std::regex re("cuda(:([0-9]+))?");
  std::smatch m;
  if (!std::regex_match(spec, m, re)) {
    throw InputError("--device: expected auto, cpu, cuda or cuda:N, got '" + spec + "'");
  }
  int index = m[2].matched ? std::stoi(m[2].str()) : 0;
  if (!at::hasCUDA()) {
    throw InputError("--device " + spec +
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
