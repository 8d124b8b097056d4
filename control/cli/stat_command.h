#pragma once

#include "control/cli/command.h"

namespace weft::control::cli {

// stat service NAME | stat deploy/NAME  [-n NS] [--prometheus URL] [--window D]
//   (like `linkerd viz stat`): success rate, requests per second and latency p50/p95/p99 from
//   the callers' sidecars (direction="outbound"), per subset and route of one Service, or per
//   destination Service of one workload's pods (their app label). From Prometheus over the
//   last --window (1m); without --prometheus, from the /metrics of the proxies weft-control
//   lists, read --window (10s) apart.
int stat(CommandContext& ctx);

}  // namespace weft::control::cli
