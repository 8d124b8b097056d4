#pragma once

#include "control/cli/command.h"

namespace weft::control::cli {

// inject -f FILE|- [--image IMAGE] [--control HOST:PORT] [--proxy-uid UID] [--legacy-sidecar]:
// the manifests with the mesh added to every workload (control/inject/pod_injector.h), as YAML
// on stdout. Documents that are not workloads, or that opt out, come out exactly as they went
// in; what was done to each workload goes to stderr.
int inject(CommandContext& ctx);

}  // namespace weft::control::cli
