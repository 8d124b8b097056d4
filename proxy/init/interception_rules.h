#pragma once

// The iptables rules that send a pod's TCP through its sidecar (what linkerd2-proxy-init and
// istio-iptables write), as iptables-restore input for the nat table:
//
//   PREROUTING -> WEFT_INBOUND: inbound TCP is redirected to the proxy's inbound port, except
//     the proxy's own ports (inbound, admin) and --skip-inbound-ports;
//   OUTPUT -> WEFT_OUTPUT: outbound TCP is redirected to the proxy's outbound port, except the
//     proxy's own traffic (its UID: no loop), loopback, --skip-subnets and
//     --skip-outbound-ports.
//
// The rules live in chains of their own. Re-running replaces them (the chains are declared,
// which flushes them, and the jumps into them from PREROUTING and OUTPUT that are there already
// are deleted first), all in one iptables-restore transaction: a second run leaves the same
// rules, never "chain already exists".

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace weft::proxy::init {

enum class Family { kIPv4, kIPv6 };

struct InterceptionSettings {
  uint32_t proxy_uid = 0;
  uint16_t inbound_port = 15006;
  uint16_t outbound_port = 15001;
  uint16_t admin_port = 15020;
  std::vector<uint16_t> skip_inbound_ports;
  std::vector<uint16_t> skip_outbound_ports;
  std::vector<std::string> skip_subnets;  // CIDRs, either family
};

// The chains this writes.
inline constexpr const char* kInboundChain = "WEFT_INBOUND";
inline constexpr const char* kOutputChain = "WEFT_OUTPUT";

// "10.0.0.0/8" or "fd00::/8" (a bare address is a /32 or /128); InvalidArgument naming the
// entry otherwise.
absl::StatusOr<Family> cidrFamily(const std::string& cidr);

// iptables-restore input (to run with --noflush) for `family`. `current` is what
// iptables-save -t nat prints now: jumps into our chains found there are deleted first.
std::string natRules(const InterceptionSettings& settings, Family family,
                     const std::string& current);

}  // namespace weft::proxy::init
