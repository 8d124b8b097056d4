#pragma once

#include "control/cli/command.h"

namespace weft::control::cli {

// proxies: every proxy with an open control stream — Service, labels, identity, the config
// version it runs, SYNCED / STALE / NACKED (with the reason), certificate expiry.
int proxies(CommandContext& ctx);

// authz check --from ID --to SERVICE [-n NS] [--method M] [--path P]: what the Service's
// inbound proxies would decide; exit 0 allowed, 6 denied.
int authzCheck(CommandContext& ctx);

}  // namespace weft::control::cli
