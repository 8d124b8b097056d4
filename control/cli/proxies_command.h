#pragma once

#include "control/cli/command.h"

namespace weft::control::cli {

// proxies: every proxy with an open control stream — Service, labels, identity, the config
// version it runs, SYNCED / STALE / NACKED (with the reason), certificate expiry.
int proxies(CommandContext& ctx);

}  // namespace weft::control::cli
