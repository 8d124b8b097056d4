#pragma once

// weftctl's everyday commands on mesh resources: apply, get, delete, diff, split.

#include "control/cli/command.h"

namespace weft::control::cli {

// apply -f FILE|- [--dry-run]
int apply(CommandContext& ctx);
// get KIND [NAME] [-n NS] [-o yaml|json]
int get(CommandContext& ctx);
// delete KIND NAME [-n NS] | delete -f FILE
int remove(CommandContext& ctx);
// diff -f FILE|-
int diff(CommandContext& ctx);
// split ROUTE SUBSET=WEIGHT... [-n NS]
int split(CommandContext& ctx);

}  // namespace weft::control::cli
