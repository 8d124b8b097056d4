// weftctl: the operators' CLI for weft-control. See `weftctl --help`, docs/identity.md and
// docs/control-plane.md.

#include <iostream>

#include "common/strings.h"
#include "control/cli/api_client.h"
#include "control/cli/args.h"
#include "control/cli/ca_commands.h"
#include "control/cli/inject_command.h"
#include "control/cli/output.h"
#include "control/cli/policy_commands.h"
#include "control/cli/proxies_command.h"
#include "control/cli/stat_command.h"

namespace {

using namespace weft::control::cli;

int dispatch(CommandContext& ctx) {
  const std::vector<std::string>& w = ctx.args.words;
  if (w.size() == 2 && w[0] == "token" && w[1] == "create") return tokenCreate(ctx);
  if (w.size() == 2 && w[0] == "ca" && w[1] == "bundle") return caBundle(ctx);
  if (w.size() == 2 && w[0] == "ca" && w[1] == "status") return caStatus(ctx);
  if (w.size() == 2 && w[0] == "ca" && w[1] == "rotate") return caRotate(ctx);
  if (w.size() == 1 && w[0] == "apply") return apply(ctx);
  if (w.size() == 1 && w[0] == "diff") return diff(ctx);
  if (w.size() == 1 && w[0] == "proxies") return proxies(ctx);
  if (w.size() == 2 && w[0] == "authz" && w[1] == "check") return authzCheck(ctx);
  if (!w.empty() && w[0] == "get") return get(ctx);
  if (!w.empty() && w[0] == "delete") return remove(ctx);
  if (!w.empty() && w[0] == "split") return split(ctx);
  if (!w.empty() && w[0] == "stat") return stat(ctx);
  if (w.size() == 1 && w[0] == "inject") return inject(ctx);
  ctx.err << "weftctl: unknown command '" << weft::join(w, " ") << "'\n\n" << usage();
  return kExitUsage;
}

}  // namespace

int main(int argc, char** argv) {
  auto args = splitArgs(argc, argv);
  if (!args.ok()) return fail(std::cerr, "usage", args.status());
  if (args->flags.contains("help") || args->words.empty()) {
    (args->words.empty() && !args->flags.contains("help") ? std::cerr : std::cout) << usage();
    return args->flags.contains("help") ? kExitOk : kExitUsage;
  }
  auto global = globalOptions(*args);
  if (!global.ok()) return fail(std::cerr, "usage", global.status());
  auto client = ApiClient::create(global->server, global->token, global->timeout);
  if (!client.ok()) return fail(std::cerr, "usage", client.status());
  CommandContext ctx{*args, *global, *client, std::cout, std::cerr};
  return dispatch(ctx);
}
