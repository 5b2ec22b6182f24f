#include "adbench/core/progress.hpp"

#include <unistd.h>

#include <cstdio>

#include "adbench/core/log.hpp"

namespace adbench {

Progress::Progress(std::string label, std::int64_t total)
    : label_(std::move(label)), total_(total), enabled_(::isatty(2) && verbosity() != Verbosity::Quiet) {
  start_ = last_draw_ = std::chrono::steady_clock::now();
}

Progress::~Progress() { done(); }

void Progress::tick(std::int64_t n) {
  count_ += n;
  if (!enabled_) return;
  auto now = std::chrono::steady_clock::now();
  if (now - last_draw_ > std::chrono::milliseconds(100) || count_ == total_) {
    last_draw_ = now;
    draw(false);
  }
}

void Progress::done() {
  if (finished_) return;
  finished_ = true;
  if (enabled_) draw(true);
}

void Progress::draw(bool final) {
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  int width = 30;
  int filled = total_ > 0 ? static_cast<int>(width * count_ / total_) : width;
  std::string bar(filled, '#');
  bar.append(width - filled, '.');
  double rate = secs > 0 ? count_ / secs : 0.0;
  std::fprintf(stderr, "\r%-24s [%s] %lld/%lld  %.1f/s  %.1fs%s", label_.c_str(), bar.c_str(),
               static_cast<long long>(count_), static_cast<long long>(total_), rate, secs, final ? "\n" : "");
  std::fflush(stderr);
}

}  // namespace adbench
