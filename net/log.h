#pragma once

#include <string_view>

#include "common/strings.h"

namespace weft::log {

enum class Level { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3 };

void setLevel(Level level);
bool parseLevel(std::string_view name, Level* out);
bool enabled(Level level);

// Writes one line to stderr: `<RFC3339 time> <level> <message>`. Thread-safe (one write call).
void write(Level level, std::string_view message);

template <typename... Args>
void debug(const Args&... args) {
  if (enabled(Level::kDebug)) write(Level::kDebug, weft::strCat(args...));
}
template <typename... Args>
void info(const Args&... args) {
  if (enabled(Level::kInfo)) write(Level::kInfo, weft::strCat(args...));
}
template <typename... Args>
void warn(const Args&... args) {
  if (enabled(Level::kWarn)) write(Level::kWarn, weft::strCat(args...));
}
template <typename... Args>
void error(const Args&... args) {
  if (enabled(Level::kError)) write(Level::kError, weft::strCat(args...));
}

}  // namespace weft::log
