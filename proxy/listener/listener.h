#pragma once

#include <memory>

#include "absl/status/statusor.h"
#include "control/api/address.h"
#include "net/asio.h"
#include "net/http/codec.h"
#include "proxy/context/worker_context.h"

namespace weft::listener {

// Binds a listening socket with SO_REUSEPORT, so every worker binds its own on the same port and
// the kernel spreads connections across them. Errors name the address. With `listen` false the
// port is only claimed (a connection to it is refused) until startListening().
absl::StatusOr<std::unique_ptr<tcp::acceptor>> bindReusePort(asio::io_context& io,
                                                             const api::HostPort& address,
                                                             bool listen = true);
absl::Status startListening(tcp::acceptor& acceptor);

// Accepts until the acceptor is closed and serves each connection on this worker:
//   outbound: plain HTTP/1.1 or HTTP/2 (prior knowledge) from the local app, told apart by the
//             first bytes
//   inbound:  mTLS handshake (client certificate required), then HTTP/2 if ALPN chose h2, else
//             HTTP/1.1
awaitable<void> acceptLoop(WorkerContext& ctx, tcp::acceptor& acceptor, bool inbound,
                           http::StreamHandler& pipeline);

}  // namespace weft::listener
