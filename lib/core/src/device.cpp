#include "adbench/core/device.hpp"

#include <ATen/Context.h>
#include <ATen/Parallel.h>
#include <dlfcn.h>

#include <charconv>
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
  // "cuda" or "cuda:N" with N a device index (c10::DeviceIndex is 8 bits: 0..127). Parsed by hand:
  // std::regex recursed on long input, and std::stoi threw out_of_range on long digit strings.
  constexpr int kMaxIndex = 127;
  int index = 0;
  bool ok = spec.rfind("cuda", 0) == 0;
  if (ok && spec.size() > 4) {
    const char* first = spec.data() + 5;
    const char* last = spec.data() + spec.size();
    auto [ptr, ec] = std::from_chars(first, last, index);
    ok = spec[4] == ':' && first != last && ptr == last && ec == std::errc() && spec[5] != '-' &&
         index <= kMaxIndex;
  }
  if (!ok)
    throw InputError("--device: expected auto, cpu, cuda or cuda:N (N from 0 to " +
                     std::to_string(kMaxIndex) + "), got '" + excerpt(spec) + "'");
  if (!at::hasCUDA()) {
    throw InputError("--device " + excerpt(spec, 40) +
                     ": this adbench was built against a LibTorch without CUDA or no GPU is visible");
  }
  const auto count = static_cast<int>(at::getNumGPUs());
  if (index >= count)
    throw InputError("--device " + spec + ": only " + std::to_string(count) +
                     " CUDA device(s) visible (cuda:0 to cuda:" + std::to_string(count - 1) + ")");
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
  // LibTorch sizes its OpenMP pool (and MKL's) but not OpenBLAS's own pthread pool, which keeps one
  // thread per core: with --threads 1 a second core still ran BLAS work and spun after it. Looked up
  // at run time: the BLAS behind LibTorch may be another library (reference BLAS, MKL).
  using SetBlasThreads = void (*)(int);
  if (auto* f = reinterpret_cast<SetBlasThreads>(::dlsym(RTLD_DEFAULT, "openblas_set_num_threads"))) f(n);
  return at::get_num_threads();
}

}  // namespace adbench
