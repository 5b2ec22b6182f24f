#pragma once
// Logging goes to stderr through spdlog; stdout carries results only.
#include <spdlog/spdlog.h>

namespace adbench {

enum class Verbosity { Quiet, Normal, Verbose };

/// Sets up the stderr logger. Quiet: errors only; Normal: info; Verbose: debug.
void init_logging(Verbosity v);
Verbosity verbosity();

}  // namespace adbench
