#include "control/server/options.h"

#include <charconv>
#include <string_view>

#include "common/strings.h"

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
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg == "--help" || arg == "-h") return absl::NotFoundError(usage());
    std::string_view value;
    if (size_t eq = arg.find('='); eq != std::string_view::npos) {
      value = arg.substr(eq + 1);
      arg = arg.substr(0, eq);
    } else if (i + 1 < argc) {
      value = argv[++i];
    } else {
      return absl::InvalidArgumentError(weft::strCat(arg, ": needs a value"));
    }
    if (arg == "--data-dir") {
      o.data_dir = std::string(value);
    } else if (arg == "--trust-domain") {
      o.trust_domain = std::string(value);
    } else if (arg == "--admin") {
      auto hp = api::parseHostPort(value);
      if (!hp.ok())
        return absl::InvalidArgumentError(weft::strCat("--admin: ", hp.status().message()));
      o.admin = *hp;
    } else if (arg == "--drain-seconds") {
      unsigned n = 0;
      auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
      if (ec != std::errc() || end != value.data() + value.size()) {
        return absl::InvalidArgumentError(
            weft::strCat("--drain-seconds: want a number of seconds, got '", value, "'"));
      }
      o.drain = std::chrono::seconds(n);
    } else if (arg == "--log-level") {
      o.log_level = std::string(value);
    } else {
      return absl::InvalidArgumentError(weft::strCat("unknown flag ", arg));
    }
  }
  if (o.data_dir.empty()) return absl::InvalidArgumentError("--data-dir is required");
  return o;
}

}  // namespace weft::control
