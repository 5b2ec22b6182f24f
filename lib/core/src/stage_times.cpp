#include "adbench/core/stage_times.hpp"

#include <chrono>
#include <cstdio>
#include <mutex>

namespace adbench {

namespace {
std::mutex& mutex() {
  static std::mutex m;
  return m;
}
std::vector<std::pair<std::string, double>>& totals() {
  static std::vector<std::pair<std::string, double>> t;
  return t;
}
long long now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}
}  // namespace

namespace stage_times {

void add(const std::string& stage, double seconds) {
  std::lock_guard<std::mutex> lock(mutex());
  for (auto& [name, s] : totals())
    if (name == stage) {
      s += seconds;
      return;
    }
  totals().emplace_back(stage, seconds);
}

std::vector<std::pair<std::string, double>> snapshot() {
  std::lock_guard<std::mutex> lock(mutex());
  return totals();
}

void reset() {
  std::lock_guard<std::mutex> lock(mutex());
  totals().clear();
}

std::string summary() {
  std::string out;
  char buf[64];
  for (const auto& [name, s] : snapshot()) {
    std::snprintf(buf, sizeof buf, "%.2f s", s);
    out += (out.empty() ? "" : ", ") + name + " " + buf;
  }
  return out;
}

}  // namespace stage_times

ScopedStage::ScopedStage(const char* stage) : stage_(stage), start_ns_(now_ns()) {}

ScopedStage::~ScopedStage() { stage_times::add(stage_, static_cast<double>(now_ns() - start_ns_) * 1e-9); }

}  // namespace adbench
