#include "proxy/init/interception_rules.h"

#include <arpa/inet.h>

#include <sstream>

#include "common/strings.h"

namespace weft::proxy::init {
namespace {

// The jumps from the built-in chains into ours.
constexpr const char* kPreroutingJump = "-A PREROUTING -p tcp -j WEFT_INBOUND";
constexpr const char* kOutputJump = "-A OUTPUT -p tcp -j WEFT_OUTPUT";

}  // namespace

absl::StatusOr<Family> cidrFamily(const std::string& cidr) {
  const size_t slash = cidr.find('/');
  const std::string address = cidr.substr(0, slash);
  unsigned char buf[16];
  Family family;
  unsigned max_prefix;
  if (::inet_pton(AF_INET, address.c_str(), buf) == 1) {
    family = Family::kIPv4;
    max_prefix = 32;
  } else if (::inet_pton(AF_INET6, address.c_str(), buf) == 1) {
    family = Family::kIPv6;
    max_prefix = 128;
  } else {
    return absl::InvalidArgumentError(
        weft::strCat("--skip-subnets: '", cidr, "' is not an IPv4 or IPv6 address or CIDR"));
  }
  if (slash != std::string::npos) {
    unsigned prefix = 0;
    if (!weft::parseUnsigned(std::string_view(cidr).substr(slash + 1), &prefix) ||
        prefix > max_prefix) {
      return absl::InvalidArgumentError(weft::strCat(
          "--skip-subnets: '", cidr, "' has a bad prefix length (0 to ", max_prefix, ")"));
    }
  }
  return family;
}

std::string natRules(const InterceptionSettings& s, Family family, const std::string& current) {
  std::ostringstream out;
  out << "*nat\n";
  // Declaring a chain in iptables-restore creates it, or flushes it if it exists.
  out << ":" << kInboundChain << " - [0:0]\n";
  out << ":" << kOutputChain << " - [0:0]\n";
  // A previous run's jumps go first, however many there are.
  std::istringstream lines(current);
  for (std::string line; std::getline(lines, line);) {
    if (line == kPreroutingJump || line == kOutputJump) out << "-D" << line.substr(2) << "\n";
  }
  out << kPreroutingJump << "\n" << kOutputJump << "\n";

  // Inbound: everything but the proxy's own ports and the skipped ones goes to the proxy.
  auto inbound_return = [&](uint16_t port) {
    out << "-A " << kInboundChain << " -p tcp --dport " << port << " -j RETURN\n";
  };
  inbound_return(s.inbound_port);
  inbound_return(s.admin_port);
  for (uint16_t port : s.skip_inbound_ports) inbound_return(port);
  out << "-A " << kInboundChain << " -p tcp -j REDIRECT --to-ports " << s.inbound_port << "\n";

  // Outbound: not the proxy's own connections (no loop), not loopback, not skipped subnets or
  // ports; the rest goes to the proxy.
  out << "-A " << kOutputChain << " -m owner --uid-owner " << s.proxy_uid << " -j RETURN\n";
  out << "-A " << kOutputChain << " -o lo -j RETURN\n";
  out << "-A " << kOutputChain << " -d " << (family == Family::kIPv4 ? "127.0.0.0/8" : "::1/128")
      << " -j RETURN\n";
  for (const std::string& cidr : s.skip_subnets) {
    auto f = cidrFamily(cidr);
    if (f.ok() && *f == family) out << "-A " << kOutputChain << " -d " << cidr << " -j RETURN\n";
  }
  for (uint16_t port : s.skip_outbound_ports) {
    out << "-A " << kOutputChain << " -p tcp --dport " << port << " -j RETURN\n";
  }
  out << "-A " << kOutputChain << " -p tcp -j REDIRECT --to-ports " << s.outbound_port << "\n";
  out << "COMMIT\n";
  return out.str();
}

}  // namespace weft::proxy::init
