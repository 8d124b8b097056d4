#pragma once

// Where `weftctl stat` gets its figures: a Prometheus server that scrapes the mesh
// (--prometheus), or the proxies' own /metrics, scraped twice a window apart.

#include <chrono>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "control/cli/api_client.h"
#include "control/cli/command.h"

namespace weft::control::cli {

// What is asked about: `stat service NAME` (the callers' view of one Service, per subset and
// route) or `stat deploy/NAME` (the Services one workload's pods call).
struct StatTarget {
  bool service = true;  // false: a workload (deploy/NAME)
  std::string name;
  std::string ns;
  std::string selector;             // PromQL label matchers, without braces
  std::vector<std::string> by;      // the row's labels
  std::vector<std::string> header;  // their column names
};

absl::StatusOr<StatTarget> statTargetOf(const std::vector<std::string>& words,
                                        const std::string& ns);

// Figures by name ("rps", "success", "p50", "p95", "p99"), each by row (the values of `by`);
// latencies in milliseconds. A row that saw no response has no success or latency entry.
using StatFigures = std::map<std::string, std::map<std::vector<std::string>, double>>;

// Five instant queries over `window` ("1m"); Unavailable says what Prometheus answered.
absl::StatusOr<StatFigures> statFromPrometheus(const ApiClient& prometheus,
                                               const StatTarget& target, const std::string& window);

// The admin addresses of the proxies in weft-control's /v1/proxies answer that `target` reads:
// every one for a Service (any may call it); for a workload, those of its namespace whose
// service or `app` label is its name.
std::vector<std::string> proxyAdmins(const std::string& proxies_json, const StatTarget& target);

// Each proxy's /metrics read at the start and the end of `window`: rates from the counters'
// growth, latency quantiles from the histogram buckets' (as histogram_quantile computes them).
// A proxy that cannot be read is named on ctx.err and left out; NotFound without proxies,
// Unavailable when none can be read.
absl::StatusOr<StatFigures> statFromProxies(CommandContext& ctx, const StatTarget& target,
                                            const std::vector<std::string>& admins,
                                            std::chrono::milliseconds window);

// The q-quantile of a histogram given as (upper bound, cumulative count) pairs, +Inf last,
// linearly interpolated within its bucket; NaN without observations.
double histogramQuantile(double q, std::vector<std::pair<double, double>> buckets);

}  // namespace weft::control::cli
