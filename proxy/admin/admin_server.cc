#include "proxy/admin/admin_server.h"

#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/chunk_encode.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

#include "common/strings.h"
#include "control/api/config_json_writer.h"
#include "net/log.h"
#include "net/spawn_guard.h"
#include "proxy/admin/admin_access.h"

namespace weft::admin {
namespace bhttp = beast::http;
namespace {

constexpr auto kTimeout = std::chrono::seconds(30);
// /config leaves in chunks of about this size: one resource at a time is serialized into it.
constexpr size_t kConfigChunkBytes = 64 * 1024;

std::string forbidden(std::string_view target, const tcp::endpoint& peer) {
  return weft::strCat(
      "admin ", target, " is served only to loopback clients (127.0.0.0/8, ::1),", " not to ",
      peer.address().to_string(),
      "; run weft-proxy with --admin-debug-access any to serve it to every client\n");
}

}  // namespace

AdminServer::AdminServer(asio::io_context& io, AdminSources sources)
    : io_(io), sources_(std::move(sources)) {}

AdminServer::~AdminServer() { stop(); }

absl::Status AdminServer::listen(const api::HostPort& address) {
  error_code ec;
  tcp::endpoint endpoint(asio::ip::make_address(address.host, ec), address.port);
  auto acceptor = std::make_unique<tcp::acceptor>(io_);
  if (!ec) acceptor->open(endpoint.protocol(), ec);
  if (!ec) acceptor->set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) acceptor->bind(endpoint, ec);
  if (!ec) acceptor->listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    return absl::UnavailableError(weft::strCat("cannot listen on admin address ", address.host, ":",
                                               address.port, ": ", ec.message()));
  }
  acceptor_ = std::move(acceptor);
  asio::co_spawn(io_, acceptLoop(), SpawnGuard({"admin accept loop"}));
  return absl::OkStatus();
}

uint16_t AdminServer::port() const {
  error_code ec;
  return acceptor_ ? acceptor_->local_endpoint(ec).port() : 0;
}

void AdminServer::stop() {
  if (acceptor_) {
    error_code ignored;
    acceptor_->close(ignored);
  }
}

awaitable<void> AdminServer::acceptLoop() {
  for (;;) {
    tcp::endpoint peer;
    auto [ec, socket] = co_await acceptor_->async_accept(io_, peer, kUseTuple);
    if (ec == asio::error::operation_aborted || !acceptor_->is_open()) co_return;
    if (ec) continue;
    asio::co_spawn(io_, serve(std::move(socket), peer), SpawnGuard({"admin connection", peer}));
  }
}

awaitable<void> AdminServer::serve(Socket socket, tcp::endpoint peer) {
  PlainStream stream(std::move(socket));
  beast::flat_buffer buffer;
  for (;;) {
    bhttp::request_parser<bhttp::string_body> parser;
    parser.header_limit(8 * 1024);
    parser.body_limit(64 * 1024);
    stream.expires_after(kTimeout);
    auto [ec, n] = co_await bhttp::async_read(stream, buffer, parser, kUseTuple);
    if (ec) break;
    const auto& req = parser.get();
    std::string_view target = req.target();
    target = target.substr(0, target.find('?'));
    const bool get = req.method() == bhttp::verb::get || req.method() == bhttp::verb::head;

    if (get && target == "/config" && mayRead(target, peer.address(), sources_.debug_access)) {
      error_code wec = co_await sendConfig(stream, req.version(), req.keep_alive(),
                                           req.method() == bhttp::verb::head);
      if (wec || !req.keep_alive() || req.version() < 11) break;
      continue;
    }

    bhttp::response<bhttp::string_body> res;
    res.version(11);
    res.keep_alive(req.keep_alive());
    res.set(bhttp::field::content_type, "text/plain");
    if (!get) {
      res.result(bhttp::status::method_not_allowed);
      res.body() = "admin endpoints take GET\n";
    } else if (!mayRead(target, peer.address(), sources_.debug_access)) {
      res.result(bhttp::status::forbidden);
      res.body() = forbidden(target, peer);
    } else if (target == "/live") {
      res.result(bhttp::status::ok);
      res.body() = "live\n";
    } else if (target == "/ready") {
      bool ready = sources_.ready();
      res.result(ready ? bhttp::status::ok : bhttp::status::service_unavailable);
      res.body() = ready ? "ready\n" : "not ready\n";
    } else if (target == "/metrics") {
      res.result(bhttp::status::ok);
      res.set(bhttp::field::content_type, "text/plain; version=0.0.4; charset=utf-8");
      res.body() = sources_.metrics->serialize();
    } else {
      res.result(bhttp::status::not_found);
      res.body() =
          weft::strCat("no admin endpoint ", target, " (have /live /ready /config /metrics)\n");
    }
    res.prepare_payload();
    // A HEAD answer has the Content-Length a GET would get, and no body (RFC 9110 §9.3.2).
    if (req.method() == bhttp::verb::head) res.body().clear();
    stream.expires_after(kTimeout);
    auto [wec, wn] = co_await bhttp::async_write(stream, res, kUseTuple);
    if (wec || !res.keep_alive()) break;
  }
  error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
}

awaitable<error_code> AdminServer::sendConfig(PlainStream& stream, unsigned version,
                                              bool keep_alive, bool head) {
  // Chunked for HTTP/1.1; an HTTP/1.0 client reads until the connection closes.
  const bool chunked = version >= 11;
  bhttp::response<bhttp::empty_body> res{bhttp::status::ok, 11};
  res.set(bhttp::field::content_type, "application/json");
  res.keep_alive(keep_alive && chunked);
  res.chunked(chunked);
  bhttp::response_serializer<bhttp::empty_body> serializer(res);
  stream.expires_after(kTimeout);
  auto [ec, n] = co_await bhttp::async_write_header(stream, serializer, kUseTuple);
  if (ec || head) co_return ec;

  // The snapshot in effect now, pinned until the last chunk is out; a reload meanwhile does not
  // change what this response shows.
  api::ConfigJsonWriter writer(sources_.config());
  std::string piece;
  piece.reserve(kConfigChunkBytes + 4096);
  for (bool more = true; more;) {
    piece.clear();
    more = writer.next(piece, kConfigChunkBytes);
    if (piece.empty()) continue;
    stream.expires_after(kTimeout);
    error_code wec;
    if (chunked) {
      std::tie(wec, n) =
          co_await asio::async_write(stream, bhttp::make_chunk(asio::buffer(piece)), kUseTuple);
    } else {
      std::tie(wec, n) = co_await asio::async_write(stream, asio::buffer(piece), kUseTuple);
    }
    if (wec) co_return wec;
  }
  if (!chunked) co_return error_code{};
  stream.expires_after(kTimeout);
  std::tie(ec, n) = co_await asio::async_write(stream, bhttp::make_chunk_last(), kUseTuple);
  co_return ec;
}

}  // namespace weft::admin
