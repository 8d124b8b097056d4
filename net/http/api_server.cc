#include "net/http/api_server.h"

#include "common/strings.h"
#include "identity/alpn.h"
#include "identity/credentials.h"
#include "identity/x509.h"
#include "net/deadline.h"
#include "net/error_text.h"
#include "net/http/http1/server_codec.h"
#include "net/http/http2/server_codec.h"
#include "net/log.h"
#include "net/spawn_guard.h"

namespace weft::http {

// One connection's handler: the router, with the peer the connection came from.
class ApiServer::Dispatcher final : public StreamHandler {
 public:
  Dispatcher(const ApiRouter& router, tcp::endpoint peer) : router_(router), peer_(peer) {}

  awaitable<void> handle(ServerStream& stream) override {
    std::string_view target = stream.request().path;
    const size_t q = target.find('?');
    ApiRequest request{stream,
                       target.substr(0, q),
                       q == std::string_view::npos ? std::string_view() : target.substr(q + 1),
                       peer_,
                       {}};
    co_await router_.dispatch(request);
  }

 private:
  const ApiRouter& router_;
  tcp::endpoint peer_;
};

ApiServer::ApiServer(asio::io_context& io, std::string name, const ApiRouter& router,
                     http1::Settings settings)
    : io_(io),
      name_(std::move(name)),
      router_(router),
      connections_(std::make_shared<Connections>()) {
  connections_->settings = settings;
}

void ApiServer::useTls(std::shared_ptr<boost::asio::ssl::context> context, http2::Settings h2,
                       std::chrono::seconds handshake_timeout) {
  connections_->tls = std::move(context);
  connections_->h2 = h2;
  connections_->handshake_timeout = handshake_timeout;
}

ApiServer::~ApiServer() { stop(); }

http1::Settings ApiServer::defaultSettings() {
  http1::Settings s;
  s.max_header_bytes = 8 * 1024;
  s.idle_timeout = std::chrono::seconds(30);
  s.read_timeout = std::chrono::seconds(30);
  return s;
}

absl::Status ApiServer::listen(std::string_view host, uint16_t port) {
  error_code ec;
  const tcp::endpoint endpoint(asio::ip::make_address(host, ec), port);
  auto acceptor = std::make_unique<tcp::acceptor>(io_);
  if (!ec) acceptor->open(endpoint.protocol(), ec);
  if (!ec) acceptor->set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) acceptor->bind(endpoint, ec);
  if (!ec) acceptor->listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    return absl::UnavailableError(
        weft::strCat("cannot listen on ", name_, " address ", host, ":", port, ": ", ec.message()));
  }
  acceptor_ = std::move(acceptor);
  asio::co_spawn(io_, acceptLoop(), SpawnGuard({"api accept loop"}));
  return absl::OkStatus();
}

uint16_t ApiServer::port() const {
  error_code ec;
  if (!acceptor_ || !acceptor_->is_open()) return 0;
  return acceptor_->local_endpoint(ec).port();
}

void ApiServer::stop() {
  if (acceptor_) {
    error_code ignored;
    acceptor_->close(ignored);
  }
  // drain() may end a connection, which erases it from the set: iterate over a copy.
  std::vector<ServerConnection*> open(connections_->open.begin(), connections_->open.end());
  for (ServerConnection* conn : open) conn->drain();
}

awaitable<void> ApiServer::acceptLoop() {
  for (;;) {
    tcp::endpoint peer;
    auto [ec, socket] = co_await acceptor_->async_accept(io_, peer, kUseTuple);
    if (ec == asio::error::operation_aborted || !acceptor_->is_open()) co_return;
    if (ec) {
      log::error(name_, " accept failed: ", ec.message());
      asio::steady_timer pause(io_, std::chrono::milliseconds(100));
      co_await pause.async_wait(kUseTuple);
      continue;
    }
    error_code ignored;
    socket.set_option(tcp::no_delay(true), ignored);
    if (connections_->tls) {
      asio::co_spawn(io_, serveTls(std::move(socket), peer, router_, connections_),
                     SpawnGuard({"api tls connection", peer}));
    } else {
      asio::co_spawn(io_, serve(std::move(socket), peer, router_, connections_),
                     SpawnGuard({"api connection", peer}));
    }
  }
}

awaitable<void> ApiServer::serve(TcpStream stream, tcp::endpoint peer, const ApiRouter& router,
                                 std::shared_ptr<Connections> connections) {
  net::ConnectionStats stats(connections->counters);
  Dispatcher dispatcher(router, peer);
  DownstreamInfo info;
  http1::ServerConnectionImpl<TcpStream> conn(std::move(stream), info, dispatcher,
                                              connections->settings, stats);
  connections->open.insert(&conn);
  co_await conn.run();
  connections->open.erase(&conn);
}

awaitable<void> ApiServer::serveTls(Socket socket, tcp::endpoint peer, const ApiRouter& router,
                                    std::shared_ptr<Connections> connections) {
  // This connection's context: a later useTls() does not change it.
  std::shared_ptr<boost::asio::ssl::context> context = connections->tls;
  TlsStream stream(std::move(socket), *context);
  error_code ec;
  {
    Deadline deadline(beast::get_lowest_layer(stream));
    deadline.arm(connections->handshake_timeout);
    auto [hec] = co_await stream.handshake(TlsStream::Role::kServer);
    ec = timedOut(deadline, hec);
  }
  if (ec) {
    log::debug("tls handshake from ", peer.address().to_string(), ":", peer.port(),
               " refused: ", tlsErrorText(ec, stream.native_handle()));
    error_code ignored;
    beast::get_lowest_layer(stream).close(ignored);
    co_return;
  }
  DownstreamInfo info;
  info.tls = true;
  if (auto id = identity::peerIdentity(stream.native_handle()); id.ok()) {
    info.peer_identity = *id;
    info.peer_serial = identity::serialHex(SSL_get0_peer_certificate(stream.native_handle()));
  }
  info.http2 = identity::negotiatedHttp2(stream.native_handle());
  net::ConnectionStats stats(connections->counters);
  Dispatcher dispatcher(router, peer);
  if (info.http2) {
    const std::string_view none;
    http2::ServerConnectionImpl<TlsStream> conn(std::move(stream), info, dispatcher,
                                                connections->h2, stats, none);
    connections->open.insert(&conn);
    co_await conn.run();
    connections->open.erase(&conn);
  } else {
    http1::ServerConnectionImpl<TlsStream> conn(std::move(stream), info, dispatcher,
                                                connections->settings, stats);
    connections->open.insert(&conn);
    co_await conn.run();
    connections->open.erase(&conn);
  }
}

}  // namespace weft::http
