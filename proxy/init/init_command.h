#pragma once

// `weft-proxy init`: what the pod's init container runs before the app and the proxy start —
// the iptables rules that send the pod's TCP through its sidecar (interception_rules.h), for
// IPv4 and IPv6, on the nft or legacy backend. --dry-run prints them instead.

namespace weft::proxy::init {

// argv[0] is "init". Returns the exit code: 0 done, 1 the rules could not be applied (why is
// printed), 2 a bad command line.
int runInit(int argc, char** argv);

}  // namespace weft::proxy::init
