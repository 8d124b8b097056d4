#pragma once

#include <memory>
#include <string>
#include <unordered_set>

#include <boost/asio/ssl/context.hpp>

#include "absl/status/status.h"
#include "net/asio.h"
#include "net/connection_stats.h"
#include "net/http/api_router.h"
#include "net/http/codec.h"
#include "net/http/http1/settings.h"
#include "net/http/http2/settings.h"

namespace weft::http {

// Weft's own HTTP/1.1 endpoints (the proxy's admin port; weft-control's API and admin ports):
// a listener on the main thread whose connections run the shared HTTP/1.1 server codec (or, over
// TLS, HTTP/2 when ALPN picks it), each request answered by an ApiRouter. What the codec guarantees
// holds here too: malformed requests get a 4xx, heads and chunk lines are bounded, every read has a
// deadline, HEAD gets no body.
class ApiServer {
 public:
  // `name` says which port in errors and logs ("admin"); `router` must outlive the server.
  ApiServer(asio::io_context& io, std::string name, const ApiRouter& router,
            http1::Settings settings = defaultSettings());
  ~ApiServer();
  ApiServer(const ApiServer&) = delete;
  ApiServer& operator=(const ApiServer&) = delete;

  // Serves TLS from now on (before listen(), or later to swap certificates: connections keep the
  // context they were accepted with): HTTP/2 when the client offers h2 by ALPN, else HTTP/1.1.
  // A client certificate, when the context asks for one, shows as the stream's
  // DownstreamInfo::peer_identity. The handshake must finish within `handshake_timeout`.
  void useTls(std::shared_ptr<boost::asio::ssl::context> context, http2::Settings h2 = {},
              std::chrono::seconds handshake_timeout = std::chrono::seconds(10));

  // `host` is an IP address. "cannot listen on admin address 127.0.0.1:15000: Address already
  // in use".
  absl::Status listen(std::string_view host, uint16_t port);
  // The bound port (the kernel's pick for port 0); 0 before listen() or after stop().
  uint16_t port() const;
  // Stops accepting; connections finish the request in flight, idle ones close now.
  void stop();

  // Small heads (8 KiB), 30 s to send one and between requests.
  static http1::Settings defaultSettings();

 private:
  class Dispatcher;
  // What connections use in their destructors too: it outlives the server while a connection's
  // coroutine frame is still on the io_context.
  struct Connections {
    http1::Settings settings;
    http2::Settings h2;
    std::shared_ptr<boost::asio::ssl::context> tls;
    std::chrono::seconds handshake_timeout{10};
    net::ConnectionTally counters;
    std::unordered_set<ServerConnection*> open;
  };

  awaitable<void> acceptLoop();
  static awaitable<void> serve(TcpStream stream, tcp::endpoint peer, const ApiRouter& router,
                               std::shared_ptr<Connections> connections);
  static awaitable<void> serveTls(Socket socket, tcp::endpoint peer, const ApiRouter& router,
                                  std::shared_ptr<Connections> connections);

  asio::io_context& io_;
  std::string name_;
  const ApiRouter& router_;
  std::unique_ptr<tcp::acceptor> acceptor_;
  std::shared_ptr<Connections> connections_;
};

}  // namespace weft::http
