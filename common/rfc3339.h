#pragma once

// Timestamps as every weft API and CLI prints them: RFC 3339, UTC, whole seconds
// ("2026-12-04T19:06:50Z").

#include <chrono>
#include <ctime>
#include <string>

namespace weft {

inline std::string rfc3339(std::chrono::system_clock::time_point t) {
  const time_t secs = std::chrono::system_clock::to_time_t(t);
  struct tm tm {};
  gmtime_r(&secs, &tm);
  char buf[32];
  strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

}  // namespace weft
