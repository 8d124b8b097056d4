#include "proxy/init/init_command.h"

#include <filesystem>
#include <iostream>
#include <string>
#include <vector>

#include "common/strings.h"
#include "proxy/init/interception_rules.h"
#include "proxy/init/iptables.h"
#include "runtime/flags.h"
#include "runtime/process.h"

namespace weft::proxy::init {
namespace {

const char* const kUsage = R"(usage: weft-proxy init --proxy-uid UID [flags]

Writes the iptables nat rules that send this pod's TCP through its sidecar; run once by the
pod's init container (NET_ADMIN, NET_RAW). Running it again replaces the rules.

  --proxy-uid UID              the UID the proxy runs as: its own connections are not redirected
  --inbound-port PORT          the proxy's inbound port (default 15006)
  --outbound-port PORT         the proxy's outbound port (default 15001)
  --admin-port PORT            the proxy's admin port, never redirected (default 15020)
  --skip-inbound-ports P,P     inbound ports left alone
  --skip-outbound-ports P,P    outbound destination ports left alone
  --skip-subnets CIDR,CIDR     outbound destinations left alone (IPv4 or IPv6)
  --iptables-mode MODE         nft, legacy or auto (default: the backend that holds rules)
  --ipv6 MODE                  on, off or auto (default: on when the kernel has IPv6)
  --dry-run                    print the iptables-restore input instead of applying it
)";

struct InitOptions {
  InterceptionSettings rules;
  bool uid_given = false;
  std::string mode = "auto";
  std::string ipv6 = "auto";
  bool dry_run = false;
};

absl::Status parse(int argc, char** argv, InitOptions& o) {
  std::vector<char*> args;
  for (int i = 0; i < argc; ++i) {
    if (std::string_view(argv[i]) == "--dry-run") {
      o.dry_run = true;
    } else {
      args.push_back(argv[i]);
    }
  }
  const runtime::flags::Flag table[] = {
      {"--proxy-uid",
       [&o](std::string_view flag, std::string_view v) {
         if (!weft::parseUnsigned(v, &o.rules.proxy_uid)) {
           return runtime::flags::bad(flag, weft::strCat("want a numeric UID, got '", v, "'"));
         }
         o.uid_given = true;
         return absl::OkStatus();
       }},
      {"--inbound-port", runtime::flags::port(&o.rules.inbound_port)},
      {"--outbound-port", runtime::flags::port(&o.rules.outbound_port)},
      {"--admin-port", runtime::flags::port(&o.rules.admin_port)},
      {"--skip-inbound-ports", runtime::flags::ports(&o.rules.skip_inbound_ports)},
      {"--skip-outbound-ports", runtime::flags::ports(&o.rules.skip_outbound_ports)},
      {"--skip-subnets",
       [&o](std::string_view, std::string_view v) {
         for (std::string_view item : weft::split(v, ',', true)) {
           const std::string cidr(weft::trim(item));
           if (auto f = cidrFamily(cidr); !f.ok()) return f.status();
           o.rules.skip_subnets.push_back(cidr);
         }
         return absl::OkStatus();
       }},
      {"--iptables-mode",
       [&o](std::string_view flag, std::string_view v) {
         if (v != "nft" && v != "legacy" && v != "auto") {
           return runtime::flags::bad(flag,
                                      weft::strCat("want nft, legacy or auto, got '", v, "'"));
         }
         o.mode = std::string(v);
         return absl::OkStatus();
       }},
      {"--ipv6",
       [&o](std::string_view flag, std::string_view v) {
         if (v != "on" && v != "off" && v != "auto") {
           return runtime::flags::bad(flag, weft::strCat("want on, off or auto, got '", v, "'"));
         }
         o.ipv6 = std::string(v);
         return absl::OkStatus();
       }},
  };
  if (auto st = runtime::flags::parse(static_cast<int>(args.size()), args.data(), table, kUsage);
      !st.ok()) {
    return st;
  }
  if (!o.uid_given) return runtime::flags::bad("--proxy-uid", "required");
  return absl::OkStatus();
}

const char* familyName(Family f) { return f == Family::kIPv4 ? "IPv4" : "IPv6"; }

}  // namespace

int runInit(int argc, char** argv) {
  InitOptions o;
  if (absl::Status st = parse(argc, argv, o); !st.ok()) {
    return runtime::commandLineExit("weft-proxy init", st, kUsage);
  }
  const Backend backend = o.mode == "nft"      ? Backend::kNft
                          : o.mode == "legacy" ? Backend::kLegacy
                                               : detectBackend();
  std::vector<Family> families{Family::kIPv4};
  if (o.ipv6 == "on" || (o.ipv6 == "auto" && std::filesystem::exists("/proc/net/if_inet6"))) {
    families.push_back(Family::kIPv6);
  }
  for (Family family : families) {
    auto current = saveNat(backend, family);
    if (!current.ok() && o.dry_run) current = std::string();  // shown as a first run
    if (!current.ok()) {
      if (family == Family::kIPv6 && o.ipv6 == "auto") {
        std::cerr << "weft-proxy init: IPv6 left alone: " << current.status().message() << "\n";
        continue;
      }
      std::cerr << "weft-proxy init: " << current.status().message() << "\n";
      return 1;
    }
    const std::string rules = natRules(o.rules, family, *current);
    if (o.dry_run) {
      std::cout << "# " << familyName(family) << ": " << tool(backend, family, "restore")
                << " --noflush\n"
                << rules;
      continue;
    }
    if (absl::Status st = restore(backend, family, rules); !st.ok()) {
      std::cerr << "weft-proxy init: " << st.message() << "\n";
      return 1;
    }
    std::cout << "weft-proxy init: " << familyName(family) << " nat rules in place ("
              << tool(backend, family, "restore") << "): inbound TCP -> :" << o.rules.inbound_port
              << ", outbound TCP -> :" << o.rules.outbound_port << ", UID " << o.rules.proxy_uid
              << " and loopback excluded\n";
  }
  return 0;
}

}  // namespace weft::proxy::init
