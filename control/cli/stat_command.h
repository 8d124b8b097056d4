#pragma once

#include "control/cli/command.h"

namespace weft::control::cli {

// stat service NAME | stat deploy/NAME  [-n NS] --prometheus URL [--window 1m]
//   (like `linkerd viz stat`): success rate, requests per second and latency p50/p95/p99 from
//   the callers' sidecars (direction="outbound"), per subset and route of one Service, or per
//   destination Service of one workload's callers (its pods' app label), from Prometheus.
int stat(CommandContext& ctx);

}  // namespace weft::control::cli
