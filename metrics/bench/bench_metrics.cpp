// adbench_bench_metrics MAPS.npy MASKS.npy [--threads N] [--engine radix|torch] [--bins N]
// Reads score maps [N,H,W] (float32/float64) and masks [N,H,W] (uint8/bool), adds them one map at a
// time to a PixelAccumulator (dropping the inputs before compute(), as a streaming caller would),
// computes AUROC, AP, F1-max and AUPRO@{0.3,0.05,0.01}, and prints one JSON object on stdout.
#include <chrono>
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>

#include "adbench/core/device.hpp"
#include "adbench/core/error.hpp"
#include "adbench/core/npy.hpp"
#include "adbench/core/system_info.hpp"
#include "adbench/metrics/metrics.hpp"

using Clock = std::chrono::steady_clock;
static double since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

int main(int argc, char** argv) try {
  if (argc < 3) {
    std::cerr << "usage: adbench_bench_metrics MAPS.npy MASKS.npy [--threads N] [--engine radix|torch] "
                 "[--bins N]\n";
    return adbench::kExitBadInput;
  }
  int threads = 0;
  adbench::metrics::Options opt;
  opt.aupro_limits = {0.3, 0.05, 0.01};
  for (int i = 3; i + 1 < argc; i += 2) {
    std::string k = argv[i], v = argv[i + 1];
    if (k == "--threads")
      threads = std::stoi(v);
    else if (k == "--engine")
      opt.engine = v == "torch" ? adbench::metrics::Engine::Torch : adbench::metrics::Engine::Radix;
    else if (k == "--bins")
      opt.aupro_bins = std::stoi(v);
    else
      throw adbench::InputError("unknown option " + k);
  }
  const int used = adbench::set_threads(threads);
  auto t0 = Clock::now();
  at::Tensor maps = adbench::read_npy(argv[1]);
  at::Tensor masks = adbench::read_npy(argv[2]);
  const double t_read = since(t0);
  adbench::check_input(maps.dim() == 3 && masks.dim() == 3, "maps and masks must be [N,H,W]");
  auto t1 = Clock::now();
  adbench::metrics::PixelAccumulator acc(opt);
  for (int64_t i = 0; i < maps.size(0); ++i) acc.add(maps[i], masks[i], "map " + std::to_string(i));
  const int64_t n_maps = maps.size(0);
  maps = at::Tensor();
  masks = at::Tensor();
  const double t_add = since(t1);
  auto t2 = Clock::now();
  auto r = acc.compute();
  const double t_compute = since(t2);
  nlohmann::json j;
  auto opt_json = [](const std::optional<double>& v) {
    return v ? nlohmann::json(*v) : nlohmann::json(nullptr);
  };
  j["maps"] = n_maps;
  j["pixels"] = r.pixels;
  j["positives"] = r.positives;
  j["regions"] = r.regions;
  j["threads"] = used;
  j["pixel_auroc"] = opt_json(r.auroc);
  j["pixel_ap"] = opt_json(r.ap);
  j["pixel_f1_max"] = opt_json(r.f1_max);
  for (const auto& [lim, v] : r.aupro) {
    char key[32];
    std::snprintf(key, sizeof key, "aupro_%g", lim);
    j[key] = opt_json(v);
  }
  j["seconds"] = {{"read", t_read}, {"add", t_add}, {"compute", t_compute}};
  j["peak_rss_bytes"] = adbench::peak_rss_bytes();
  j["warnings"] = r.warnings;
  std::cout << j.dump() << "\n";
  return 0;
} catch (const adbench::InputError& e) {
  std::cerr << "error: " << e.what() << "\n";
  return adbench::kExitBadInput;
} catch (const std::exception& e) {
  std::cerr << "error: " << e.what() << "\n";
  return adbench::kExitInternal;
}
