// Benchmark driver for scripts/bench_coreset.py: greedy k-center coreset time and peak RSS, fast
// against plain (same selection), as one JSON line on stdout.
// Usage:
//   adbench_bench_coreset extract IMAGE_DIR LIMIT OUT.npy   PatchCore's mobilenet_v2 patches (shipped
//                                                           weights, 224 px, features.6 + .13, 3x3
//                                                           average) of the first LIMIT images, sorted
//   adbench_bench_coreset run BANK RATIO METHOD PROJ SEED THREADS [DEVICE=cpu]
//     BANK: FILE.npy | random:ROWS:DIMS (seeded Gaussian mixture, rows/800 components)
//     METHOD: fast | plain | both (both: also checks that the selections are identical)
#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Parallel.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>

#include "adbench/core/nearest.hpp"
#include "adbench/core/npy.hpp"
#include "adbench/core/system_info.hpp"
#include "common/features.hpp"

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

static double since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

// A seeded Gaussian mixture (rows/800 components, each a centre plus an 8-dim spread plus a little
// isotropic noise), generated in row chunks into one [rows, dims] allocation so that the peak RSS
// is the bank plus what the coreset itself needs.
static at::Tensor random_bank(int64_t rows, int64_t dims) {
  at::Generator gen = at::detail::createCPUGenerator(7);
  const int64_t comps = std::max<int64_t>(1, rows / 800);
  at::Tensor centres = at::randn({comps, dims}, gen) * 4.0;
  at::Tensor basis = at::randn({comps, 8, dims}, gen) * 0.5;
  at::Tensor x = at::empty({rows, dims});
  for (int64_t r = 0; r < rows; r += 65536) {
    const int64_t len = std::min<int64_t>(65536, rows - r);
    at::Tensor which = at::randint(comps, {len}, gen, at::kLong);
    at::Tensor coef = at::randn({len, 1, 8}, gen);
    x.narrow(0, r, len).copy_(centres.index_select(0, which) +
                              at::bmm(coef, basis.index_select(0, which)).squeeze(1) +
                              0.1 * at::randn({len, dims}, gen));
  }
  return x;
}

static int extract(const fs::path& dir, int limit, const fs::path& out) {
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.is_regular_file()) files.push_back(e.path());
  std::sort(files.begin(), files.end());
  if (static_cast<int>(files.size()) > limit) files.resize(static_cast<size_t>(limit));
  adbench::feat::FeatureExtractor fx("bench", "mobilenet_v2", adbench::feat::shipped_weights_path(), 224);
  fx.load(at::kCPU, 0);
  const std::vector<std::string> layers{"features.6", "features.13"};
  std::vector<at::Tensor> parts;
  at::NoGradGuard no_grad;
  for (size_t b = 0; b < files.size(); b += 16) {
    std::vector<adbench::Sample> batch;
    for (size_t i = b; i < std::min(files.size(), b + 16); ++i)
      batch.push_back(adbench::Sample::single(adbench::Modality::Image, files[i]));
    at::Tensor f = adbench::feat::concat_layers(fx.features(fx.images(batch, nullptr), layers), layers, 3);
    parts.push_back(f.permute({0, 2, 3, 1}).reshape({-1, f.size(1)}).contiguous());
  }
  at::Tensor bank = at::cat(parts, 0);
  adbench::write_npy(out, bank);
  std::cout << nlohmann::json{{"images", files.size()}, {"rows", bank.size(0)}, {"dims", bank.size(1)}}.dump()
            << "\n";
  return 0;
}

int main(int argc, char** argv) {
  const std::string mode = argc > 1 ? argv[1] : "";
  if (mode == "extract" && argc == 5) return extract(argv[2], std::atoi(argv[3]), argv[4]);
  if (mode != "run" || (argc != 8 && argc != 9)) {
    std::fprintf(stderr,
                 "usage: %s extract IMAGE_DIR LIMIT OUT.npy\n"
                 "       %s run BANK RATIO fast|plain|both PROJ SEED THREADS [cpu|cuda]\n",
                 argv[0], argv[0]);
    return 2;
  }
  const std::string bank_spec = argv[2], method = argv[4];
  const double ratio = std::atof(argv[3]);
  const int64_t proj = std::atoll(argv[5]);
  const std::uint64_t seed = std::strtoull(argv[6], nullptr, 10);
  const int threads = std::atoi(argv[7]);
  if (threads > 0) at::set_num_threads(threads);
  at::Tensor bank;
  if (bank_spec.rfind("random:", 0) == 0) {
    const auto a = bank_spec.find(':', 7);
    bank = random_bank(std::atoll(bank_spec.substr(7, a - 7).c_str()),
                       std::atoll(bank_spec.substr(a + 1).c_str()));
  } else {
    bank = adbench::read_npy(bank_spec).to(at::kFloat).contiguous();
  }
  const std::string device = argc == 9 ? argv[8] : "cpu";
  bank = bank.to(at::Device(device));
  const int64_t n =
      std::max<int64_t>(1, static_cast<int64_t>(std::ceil(ratio * static_cast<double>(bank.size(0)))));
  const int64_t bank_rss = adbench::peak_rss_bytes();
  nlohmann::json out = {{"bank", bank_spec},    {"rows", bank.size(0)},
                        {"dims", bank.size(1)}, {"coreset", n},
                        {"ratio", ratio},       {"projection_dim", proj},
                        {"seed", seed},         {"threads", at::get_num_threads()},
                        {"device", device}};
  at::Tensor sel_fast, sel_plain;
  auto timed = [&](adbench::CoresetMethod m) {
    const auto t = Clock::now();
    at::Tensor s = adbench::greedy_coreset(bank, n, {proj, seed, adbench::CoresetSeeding::Generator, "", m});
    return std::make_pair(s, since(t));
  };
  if (method == "fast" || method == "both") {
    auto [s, t] = timed(adbench::CoresetMethod::Fast);
    sel_fast = s, out["fast_seconds"] = t;
  }
  if (method == "plain" || method == "both") {
    auto [s, t] = timed(adbench::CoresetMethod::Plain);
    sel_plain = s, out["plain_seconds"] = t;
  }
  if (method == "both") out["identical"] = at::equal(sel_fast, sel_plain);
  out["bank_bytes"] = bank.numel() * 4;
  out["peak_rss_bytes_before_coreset"] = bank_rss;
  out["peak_rss_bytes"] = adbench::peak_rss_bytes();
  std::cout << out.dump() << "\n";
  return out.value("identical", true) ? 0 : 1;
}
