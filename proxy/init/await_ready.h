#pragma once

// `weft-proxy await-ready --admin HOST:PORT [--timeout 120s]`: waits until the proxy's /ready
// answers 200 (a legacy sidecar's postStart hook: the kubelet starts the app only after it).
// Exit 0 when ready, 1 at the timeout (saying what /ready last answered), 2 a bad flag.

namespace weft::proxy::init {

int runAwaitReady(int argc, char** argv);

}  // namespace weft::proxy::init
