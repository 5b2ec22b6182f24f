#pragma once
// A progress line on stderr for long stages: shown only when stderr is a terminal and logging is
// not quiet, so CI logs and pipes stay clean.
#include <chrono>
#include <cstdint>
#include <string>

namespace adbench {

class Progress {
 public:
  Progress(std::string label, std::int64_t total);
  ~Progress();
  void tick(std::int64_t n = 1);
  void done();

 private:
  void draw(bool final);
  std::string label_;
  std::int64_t total_;
  std::int64_t count_ = 0;
  bool enabled_;
  bool finished_ = false;
  std::chrono::steady_clock::time_point start_, last_draw_;
};

}  // namespace adbench
