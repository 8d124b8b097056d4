#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "control/api/resources.h"

namespace weft::api {

// The longest duration accepted: 99999h59m59s999ms.
inline constexpr Duration kMaxDuration{((99'999LL * 60 + 59) * 60 + 59) * 1000 + 999};

// A Gateway API duration (GEP-2257): ^([0-9]{1,5}(h|m|s|ms)){1,4}$, e.g. "5s", "500ms",
// "1h30m". nullopt if `text` is not one, or is longer than kMaxDuration.
std::optional<Duration> parseDuration(std::string_view text);

// The canonical spelling that parseDuration reads back: "1h30m", "1s500ms", "0s".
std::string formatDuration(Duration d);

}  // namespace weft::api
