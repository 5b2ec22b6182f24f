#pragma once
// The torchvision reference data of the backbone tests (made by make_reference.py on first use,
// reused while the scripts are unchanged) and the parity measure.
#include <catch2/catch.hpp>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "adbench/core/fs.hpp"
#include "adbench/core/sha256.hpp"
#include "test_util.hpp"

namespace adbench::test {

/// Folder with the reference files of `mode` ("random" or "shared"); `extra` are further
/// arguments (the shared weights file). `script` (in tests/backbones/) makes them; it and
/// scripts/export_weights.py plus `inputs` (source-relative) are hashed into the stamp.
/// REQUIREs that the Python export succeeds.
inline std::filesystem::path reference_dir(const std::string& mode, const std::string& extra = "",
                                           const std::string& script_name = "make_reference.py",
                                           const std::vector<std::string>& inputs = {}) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::path(ADBENCH_BACKBONES_REFERENCE_DIR) / mode;
  const fs::path script = source_dir() / "tests/backbones" / script_name;
  std::string hashed = read_file(script) + read_file(source_dir() / "scripts/export_weights.py");
  for (const auto& f : inputs) hashed += read_file(source_dir() / f);
  const std::string stamp = sha256_bytes(hashed + mode + "|" + extra);
  const fs::path stamp_file = dir / "stamp.txt";
  if (fs::exists(stamp_file) && read_file(stamp_file) == stamp) return dir;
  const char* env_python = std::getenv("ADBENCH_TORCH_PYTHON");  // overrides the CMake setting
  const std::string python = env_python && *env_python ? env_python : ADBENCH_TORCH_PYTHON;
  const std::string cmd = "'" + python + "' '" + script.string() + "' " + mode + " '" + dir.string() + "' " +
                          stamp + (extra.empty() ? "" : " '" + extra + "'") + " 2>&1";
  std::string output;
  FILE* p = ::popen(cmd.c_str(), "r");
  REQUIRE(p != nullptr);
  char buf[4096];
  while (size_t n = std::fread(buf, 1, sizeof buf, p)) output.append(buf, n);
  const int rc = ::pclose(p);
  INFO("reference export failed (needs "
       << python << " with torch and torchvision: scripts/install_deps.sh installs python3-torchvision)\n$ "
       << cmd << "\n"
       << output);
  REQUIRE(rc == 0);
  REQUIRE(fs::exists(stamp_file));
  REQUIRE(read_file(stamp_file) == stamp);
  return dir;
}

/// max |a - ref| / max |ref|.
inline double rel_err(const at::Tensor& a, const at::Tensor& ref) {
  auto r = ref.to(at::kCPU, at::kDouble), x = a.to(at::kCPU, at::kDouble);
  REQUIRE(x.sizes() == r.sizes());
  return (x - r).abs().max().item<double>() / std::max(r.abs().max().item<double>(), 1e-30);
}

}  // namespace adbench::test
