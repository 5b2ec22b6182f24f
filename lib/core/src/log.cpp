#include "adbench/core/log.hpp"

#include <spdlog/sinks/stdout_color_sinks.h>

namespace adbench {

namespace {
Verbosity g_verbosity = Verbosity::Normal;
}

void init_logging(Verbosity v) {
  g_verbosity = v;
  auto logger = spdlog::get("adbench");
  if (!logger) {
    logger = spdlog::stderr_color_mt("adbench");
    logger->set_pattern("[%^%l%$] %v");
    spdlog::set_default_logger(logger);
  }
  switch (v) {
    case Verbosity::Quiet:
      spdlog::set_level(spdlog::level::err);
      break;
    case Verbosity::Normal:
      spdlog::set_level(spdlog::level::info);
      break;
    case Verbosity::Verbose:
      spdlog::set_level(spdlog::level::debug);
      break;
  }
}

Verbosity verbosity() { return g_verbosity; }

}  // namespace adbench
