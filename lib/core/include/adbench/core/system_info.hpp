#pragma once
// Facts about the machine for provenance: CPU model, core count, peak RSS, UTC time.
#include <cstdint>
#include <string>

namespace adbench {

std::string cpu_model_name();
int cpu_cores();
/// Peak resident set size of this process in bytes (from /proc/self/status VmHWM), 0 if unknown.
std::int64_t peak_rss_bytes();
/// ISO-8601 UTC timestamp, e.g. 2026-11-25T02:20:31Z.
std::string utc_timestamp();

}  // namespace adbench
