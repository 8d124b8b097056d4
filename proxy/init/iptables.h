#pragma once

// Running iptables-save and iptables-restore (nft or legacy backend, IPv4 or IPv6).

#include <string>

#include "absl/status/statusor.h"
#include "proxy/init/interception_rules.h"

namespace weft::proxy::init {

enum class Backend { kNft, kLegacy };

// "iptables-nft-restore", "ip6tables-legacy-save", …
std::string tool(Backend backend, Family family, const char* what);

// auto: the backend that already holds rules (legacy when iptables-legacy-save shows more rules
// than iptables-nft-save, as kube-proxy's iptables wrapper decides), else nft.
Backend detectBackend();

// What `iptables-save -t nat` prints; an error says which tool failed and why.
absl::StatusOr<std::string> saveNat(Backend backend, Family family);
// Feeds `rules` to `iptables-restore --noflush`; an error carries the tool's own message.
absl::Status restore(Backend backend, Family family, const std::string& rules);

}  // namespace weft::proxy::init
