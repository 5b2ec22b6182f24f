#pragma once
// Helpers shared by the test executables.
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "adbench/core/error.hpp"

namespace adbench::test {

/// The message of the InputError that f() throws; "<other exception: ...>" or "<no exception>"
/// otherwise, so that a CHECK on it shows what happened instead.
template <typename F>
std::string input_error_of(F&& f) {
  try {
    f();
  } catch (const adbench::InputError& e) {
    return e.what();
  } catch (const std::exception& e) {
    return std::string("<other exception: ") + e.what() + ">";
  }
  return "<no exception>";
}

/// Mann-Whitney AUROC with mid-ranks for ties: an independent reference for the metrics engine.
inline double rank_auroc(const std::vector<double>& s, const std::vector<int>& y) {
  std::vector<size_t> idx(s.size());
  for (size_t i = 0; i < idx.size(); ++i) idx[i] = i;
  std::sort(idx.begin(), idx.end(), [&](size_t a, size_t b) { return s[a] < s[b]; });
  std::vector<double> rank(s.size());
  for (size_t i = 0; i < idx.size();) {
    size_t j = i;
    while (j < idx.size() && s[idx[j]] == s[idx[i]]) ++j;
    for (size_t k = i; k < j; ++k) rank[idx[k]] = 0.5 * (double(i + 1) + double(j));
    i = j;
  }
  double pos = 0, sum = 0;
  for (size_t i = 0; i < s.size(); ++i)
    if (y[i]) pos++, sum += rank[i];
  const double neg = double(s.size()) - pos;
  return (sum - pos * (pos + 1) / 2) / (pos * neg);
}

/// ../shared next to the checkout (golden values, real data, weights).
inline std::filesystem::path shared_dir() { return ADBENCH_SHARED_DIR; }
inline std::filesystem::path source_dir() { return ADBENCH_SOURCE_DIR; }

/// A fresh temporary folder removed at scope exit.
class TempDir {
 public:
  explicit TempDir(const std::string& tag = "t") {
    static int counter = 0;
    path_ = std::filesystem::temp_directory_path() /
            ("adbench-" + tag + "-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::string& s) const { return path_ / s; }

 private:
  std::filesystem::path path_;
};

/// A path quoted for the shell command lines of run_adbench.
/// Built by appending: GCC 12 warns (-Wstringop-overflow, a false positive) on "'" + std::string
/// (operator+(const char*, string&&) inlines string::insert, whose length it cannot bound).
inline std::string q(const std::filesystem::path& p) {
  std::string s(1, '\'');
  s += p.string();
  s += '\'';
  return s;
}

/// A whole file as text ("" when it cannot be read).
inline std::string read_text(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

/// Changes the test process's working directory for a scope.
class WorkingDir {
 public:
  explicit WorkingDir(const std::filesystem::path& p) : old_(std::filesystem::current_path()) {
    std::filesystem::current_path(p);
  }
  ~WorkingDir() { std::filesystem::current_path(old_); }
  WorkingDir(const WorkingDir&) = delete;
  WorkingDir& operator=(const WorkingDir&) = delete;

 private:
  std::filesystem::path old_;
};

/// Path of the adbench binary (set by ctest), for end-to-end CLI tests.
inline std::string adbench_bin() {
  const char* p = std::getenv("ADBENCH_BIN");
  return p ? p : "adbench";
}

struct CommandResult {
  int exit_code;
  std::string out;  ///< stdout
  std::string err;  ///< stderr
};

/// Runs the adbench binary with `args` (a shell-quoted string), capturing stdout and stderr.
/// With `cwd`, the command runs in that folder.
CommandResult run_adbench(const std::string& args, const std::filesystem::path& cwd = {});

}  // namespace adbench::test
