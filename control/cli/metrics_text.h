#pragma once

// Reading the Prometheus text exposition format (version 0.0.4) that the proxies' admin port
// serves, for weftctl's own arithmetic when no Prometheus server is at hand.

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace weft::control::cli {

struct MetricSample {
  std::string name;
  std::map<std::string, std::string> labels;
  double value = 0;
};

// Every sample line (comments and blank lines skipped; a timestamp after the value ignored).
// InvalidArgument naming the line when one is malformed, or when the text exceeds 64 MiB.
absl::StatusOr<std::vector<MetricSample>> parseMetricsText(std::string_view text);

}  // namespace weft::control::cli
