#include "proxy/admin/admin_server.h"

#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

#include "common/strings.h"
#include "proxy/common/log.h"

namespace weft::admin {
namespace bhttp = beast::http;

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
  asio::co_spawn(io_, acceptLoop(), asio::detached);
  return absl::OkStatus();
}

void AdminServer::stop() {
  if (acceptor_) {
    error_code ignored;
    acceptor_->close(ignored);
  }
}

awaitable<void> AdminServer::acceptLoop() {
  for (;;) {
    auto [ec, socket] = co_await acceptor_->async_accept(io_, kUseTuple);
    if (ec == asio::error::operation_aborted || !acceptor_->is_open()) co_return;
    if (ec) continue;
    asio::co_spawn(io_, serve(std::move(socket)), asio::detached);
  }
}

awaitable<void> AdminServer::serve(Socket socket) {
  PlainStream stream(std::move(socket));
  beast::flat_buffer buffer;
  for (;;) {
    bhttp::request_parser<bhttp::string_body> parser;
    parser.header_limit(8 * 1024);
    parser.body_limit(64 * 1024);
    stream.expires_after(std::chrono::seconds(30));
    auto [ec, n] = co_await bhttp::async_read(stream, buffer, parser, kUseTuple);
    if (ec) break;
    const auto& req = parser.get();
    std::string_view target = req.target();
    target = target.substr(0, target.find('?'));

    bhttp::response<bhttp::string_body> res;
    res.version(11);
    res.keep_alive(req.keep_alive());
    res.set(bhttp::field::content_type, "text/plain");
    if (req.method() != bhttp::verb::get && req.method() != bhttp::verb::head) {
      res.result(bhttp::status::method_not_allowed);
      res.body() = "admin endpoints take GET\n";
    } else if (target == "/live") {
      res.result(bhttp::status::ok);
      res.body() = "live\n";
    } else if (target == "/ready") {
      bool ready = sources_.ready();
      res.result(ready ? bhttp::status::ok : bhttp::status::service_unavailable);
      res.body() = ready ? "ready\n" : "not ready\n";
    } else if (target == "/config") {
      res.result(bhttp::status::ok);
      res.set(bhttp::field::content_type, "application/json");
      res.body() = sources_.config_json();
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
    auto [wec, wn] = co_await bhttp::async_write(stream, res, kUseTuple);
    if (wec || !res.keep_alive()) break;
  }
  error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
}

}  // namespace weft::admin
