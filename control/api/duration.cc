#include "control/api/duration.h"

#include "common/strings.h"

namespace weft::api {

std::optional<Duration> parseDuration(std::string_view text) {
  int64_t total_ms = 0;
  size_t i = 0;
  int parts = 0;
  while (i < text.size()) {
    if (++parts > 4) return std::nullopt;
    size_t digits = 0;
    int64_t value = 0;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
      value = value * 10 + (text[i] - '0');
      ++i;
      if (++digits > 5) return std::nullopt;
    }
    if (digits == 0 || i == text.size()) return std::nullopt;
    int64_t unit_ms;
    if (text[i] == 'h') {
      unit_ms = 3'600'000;
    } else if (text[i] == 'm' && i + 1 < text.size() && text[i + 1] == 's') {
      unit_ms = 1;
      ++i;
    } else if (text[i] == 'm') {
      unit_ms = 60'000;
    } else if (text[i] == 's') {
      unit_ms = 1000;
    } else {
      return std::nullopt;
    }
    ++i;
    total_ms += value * unit_ms;  // at most 4 * 99999h: no overflow
  }
  if (parts == 0 || total_ms > kMaxDuration.count()) return std::nullopt;
  return Duration(total_ms);
}

std::string formatDuration(Duration d) {
  int64_t ms = d.count();
  if (ms <= 0) return "0s";
  std::string out;
  const int64_t h = ms / 3'600'000, m = ms / 60'000 % 60, s = ms / 1000 % 60, rest = ms % 1000;
  if (h) weft::strAppend(out, h, "h");
  if (m) weft::strAppend(out, m, "m");
  if (s) weft::strAppend(out, s, "s");
  if (rest) weft::strAppend(out, rest, "ms");
  return out;
}

}  // namespace weft::api
