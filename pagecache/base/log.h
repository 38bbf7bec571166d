// Logging: one spdlog logger per layer ("blockdev", "journal", "format", "fs", ...).
//
// Loggers share one sink (stderr by default) and one level, set by
// SetLogLevel() from -o log_level=... / -d. An error is logged once, where it
// is handled. Trace level is for iterator and commit transitions.
//
// Thread safety: GetLogger and SetLogLevel may be called from any thread.
#pragma once

#include <spdlog/spdlog.h>

#include <memory>
#include <string>

#include "pagecache/base/status.h"

namespace foliofs {

// Returns the logger for a layer, creating it on first use.
std::shared_ptr<spdlog::logger> GetLogger(const std::string& layer);

// Accepts trace, debug, info, warn, error, critical, off.
Status SetLogLevel(const std::string& level);

}  // namespace foliofs
