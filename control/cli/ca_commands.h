#pragma once

// weftctl's identity commands: token create, ca bundle, ca status.

#include <iosfwd>

#include "control/cli/api_client.h"
#include "control/cli/args.h"

namespace weft::control::cli {

struct CommandContext {
  const Args& args;
  const GlobalOptions& global;
  const ApiClient& client;
  std::ostream& out;
  std::ostream& err;
};

int tokenCreate(CommandContext& ctx);
int caBundle(CommandContext& ctx);
int caStatus(CommandContext& ctx);
// ca rotate [--finish]
int caRotate(CommandContext& ctx);

}  // namespace weft::control::cli
