#include "control/server/options.h"

#include "runtime/flags.h"

namespace weft::control {

std::string usage() {
  return "usage: weft-control --data-dir DIR [options]\n"
         "  --data-dir DIR          durable state (created 0700 if missing)\n"
         "  --trust-domain NAME     SPIFFE trust domain (default cluster.local)\n"
         "  --admin HOST:PORT       /live, /ready, /metrics (default 127.0.0.1:15014)\n"
         "  --drain-seconds N       bound on the SIGTERM drain (default 30)\n"
         "  --log-level LEVEL       debug|info|warn|error (default info)\n";
}

absl::StatusOr<Options> parseOptions(int argc, char** argv) {
  using runtime::flags::address;
  using runtime::flags::seconds;
  using runtime::flags::text;
  Options o;
  const runtime::flags::Flag flags[] = {
      {"--data-dir", text(&o.data_dir)},   {"--trust-domain", text(&o.trust_domain)},
      {"--admin", address(&o.admin)},      {"--drain-seconds", seconds(&o.drain)},
      {"--log-level", text(&o.log_level)},
  };
  if (auto st = runtime::flags::parse(argc, argv, flags, usage()); !st.ok()) return st;
  if (o.data_dir.empty()) return runtime::flags::bad("--data-dir", "required");
  return o;
}

}  // namespace weft::control
