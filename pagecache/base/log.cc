#include "pagecache/base/log.h"

#include <spdlog/sinks/stdout_color_sinks.h>

#include <mutex>

namespace foliofs {
namespace {

std::mutex g_mu;  // guards creation of loggers and the level they start with
spdlog::level::level_enum g_level = spdlog::level::info;

}  // namespace

std::shared_ptr<spdlog::logger> GetLogger(const std::string& layer) {
  std::lock_guard<std::mutex> lock(g_mu);
  auto logger = spdlog::get(layer);
  if (logger) return logger;
  logger = spdlog::stderr_color_mt(layer);
  logger->set_level(g_level);
  logger->set_pattern("%Y-%m-%d %H:%M:%S.%e [%n] %^%l%$ %v");
  return logger;
}

Status SetLogLevel(const std::string& level) {
  auto lvl = spdlog::level::from_str(level);
  if (lvl == spdlog::level::off && level != "off")
    return Status::Error(EINVAL, "unknown log level '" + level + "'");
  std::lock_guard<std::mutex> lock(g_mu);
  g_level = lvl;
  spdlog::set_level(lvl);  // every registered logger
  return Status::Ok();
}

}  // namespace foliofs
