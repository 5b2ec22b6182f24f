#pragma once
// Where the time of a run goes: wall seconds accumulated per named stage (decode, resize,
// backbone, knn, smooth, write, ...), process-wide. Detectors and writers wrap their work in a
// ScopedStage; infer and eval report the totals (log line, prediction.json "stage_seconds").
// Stages are meant not to nest; one stage entered from several threads adds up their wall times.
#include <string>
#include <utility>
#include <vector>

namespace adbench {

namespace stage_times {
/// Adds `seconds` to `stage` (thread-safe).
void add(const std::string& stage, double seconds);
/// The stages in first-use order with their totals.
std::vector<std::pair<std::string, double>> snapshot();
/// Forgets every total (e.g. between train and infer of one eval).
void reset();
/// "decode 1.23 s, backbone 4.56 s, ..." (empty when nothing was timed).
std::string summary();
}  // namespace stage_times

/// Times its own lifetime into stage_times under `stage`.
class ScopedStage {
 public:
  explicit ScopedStage(const char* stage);
  ~ScopedStage();
  ScopedStage(const ScopedStage&) = delete;
  ScopedStage& operator=(const ScopedStage&) = delete;

 private:
  const char* stage_;
  long long start_ns_;
};

}  // namespace adbench
