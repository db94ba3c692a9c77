// A small leveled logger writing one line per event to a sink (stderr by default). Each Emulator
// owns its own Logger, so two emulators in one process do not share state.
#pragma once

#include <atomic>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

namespace cmk {

enum class LogLevel { Debug = 0, Info = 1, Warn = 2, Error = 3, Off = 4 };
std::optional<LogLevel> parse_log_level(std::string_view name);

class Logger {
 public:
  using Sink = std::function<void(std::string_view line)>;
  explicit Logger(LogLevel level = LogLevel::Info, Sink sink = {});

  bool enabled(LogLevel l) const { return l >= level_.load(std::memory_order_relaxed); }
  void set_level(LogLevel l) { level_.store(l, std::memory_order_relaxed); }
  void log(LogLevel l, std::string_view message);
  void debug(std::string_view m) { log(LogLevel::Debug, m); }
  void info(std::string_view m) { log(LogLevel::Info, m); }
  void warn(std::string_view m) { log(LogLevel::Warn, m); }
  void error(std::string_view m) { log(LogLevel::Error, m); }

 private:
  std::atomic<LogLevel> level_;
  Sink sink_;
  std::mutex mu_;
};

}  // namespace cmk
