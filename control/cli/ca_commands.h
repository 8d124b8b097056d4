#pragma once

// weftctl's identity commands: token create, ca bundle, ca status.

#include <iosfwd>

#include "control/cli/args.h"
#include "control/cli/command.h"

namespace weft::control::cli {

int tokenCreate(CommandContext& ctx);
int caBundle(CommandContext& ctx);
int caStatus(CommandContext& ctx);
// ca rotate [--finish]
int caRotate(CommandContext& ctx);

}  // namespace weft::control::cli
