#pragma once

// A test's HTTP/1.1 client on 127.0.0.1 (Beast over one io_context), and running that io_context
// until a condition holds or 5 s pass: for tests of the listeners, workers and the admin port,
// whether the server runs on the same io_context or on threads of its own.

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <tuple>

#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

#include "net/asio.h"

namespace weft::testutil {

namespace bhttp = beast::http;
using Request = bhttp::request<bhttp::string_body>;
using Response = bhttp::response<bhttp::string_body>;

inline constexpr std::chrono::seconds kWaitLimit{5};

// Runs `io` until `done()` holds or `limit` passes; returns done().
inline bool runUntil(asio::io_context& io, const std::function<bool()>& done,
                     std::chrono::steady_clock::duration limit = kWaitLimit) {
  io.restart();
  const auto until = std::chrono::steady_clock::now() + limit;
  for (;;) {
    if (done()) return true;  // `done` is called once per round: it may have side effects
    if (std::chrono::steady_clock::now() >= until) return false;
    io.run_one_for(std::chrono::milliseconds(20));
  }
}

// Runs `task` on `io` until it returns (nullopt if it has not within 5 s).
template <typename T>
std::optional<T> runTask(asio::io_context& io, awaitable<T> task) {
  auto result = std::make_shared<std::optional<T>>();
  asio::co_spawn(io, std::move(task), [result](std::exception_ptr e, T value) {
    if (e) std::rethrow_exception(e);
    *result = std::move(value);
  });
  runUntil(io, [&] { return result->has_value(); });
  return std::move(*result);
}

// Holds a port on 127.0.0.1 for a server under test that binds it by number (a Worker, a Server:
// they have no accessor for a port the kernel picked). The socket is bound, never listening, with
// SO_REUSEADDR and (`reuse_port`) SO_REUSEPORT, so that server can bind and listen on the port
// too while no other test process gets it; close() it once the server is bound.
class PortReservation {
 public:
  PortReservation(asio::io_context& io, bool reuse_port) : socket_(io) {
    socket_.open(tcp::v4());
    socket_.set_option(tcp::acceptor::reuse_address(true));
    if (reuse_port) {
      socket_.set_option(asio::detail::socket_option::boolean<SOL_SOCKET, SO_REUSEPORT>(true));
    }
    socket_.bind(tcp::endpoint(asio::ip::make_address_v4("127.0.0.1"), 0));
  }
  uint16_t port() const { return socket_.local_endpoint().port(); }
  void close() { socket_.close(); }

 private:
  tcp::acceptor socket_;
};

// A GET (or any `method`) for `target` with Host `host`; keep-alive unless `close`.
inline Request makeRequest(bhttp::verb method, std::string target, std::string host = "localhost",
                           bool close = false) {
  Request req{method, target, 11};
  req.set(bhttp::field::host, host);
  if (close) req.keep_alive(false);
  req.prepare_payload();
  return req;
}

// `req` as it goes on the wire.
inline std::string requestText(const Request& req) {
  std::ostringstream out;
  out << req;
  return out.str();
}

// One client connection; requests go one after another on it.
class HttpConnection {
 public:
  explicit HttpConnection(asio::io_context& io) : stream_(io.get_executor()) {}

  awaitable<error_code> connect(uint16_t port) {
    stream_.expires_after(kWaitLimit);
    auto [ec] = co_await stream_.async_connect(
        tcp::endpoint(asio::ip::make_address_v4("127.0.0.1"), port), kUseTuple);
    co_return ec;
  }

  // Writes `req` and reads its response (a HEAD's without a body). Arguments of a co_await are
  // named locals: GCC 12 destroys temporaries in a co_await full-expression twice.
  awaitable<std::tuple<error_code, Response>> roundTrip(const Request& req) {
    stream_.expires_after(kWaitLimit);
    auto [wec, wn] = co_await bhttp::async_write(stream_, req, kUseTuple);
    if (wec) co_return std::tuple{wec, Response{}};
    co_return co_await readResponse(req.method() == bhttp::verb::head);
  }

  // Writes raw bytes (a malformed request, say).
  awaitable<error_code> writeRaw(const std::string& bytes) {
    stream_.expires_after(kWaitLimit);
    auto [ec, n] = co_await asio::async_write(stream_, asio::buffer(bytes), kUseTuple);
    co_return ec;
  }

  awaitable<std::tuple<error_code, Response>> readResponse(bool head = false) {
    bhttp::response_parser<bhttp::string_body> parser;
    parser.skip(head);
    stream_.expires_after(kWaitLimit);
    auto [ec, n] = co_await bhttp::async_read(stream_, buffer_, parser, kUseTuple);
    co_return std::tuple{ec, parser.release()};
  }

  // Reads until the server closes the connection: what is left is beast's end_of_stream (or
  // eof) when it did, and no bytes came before it.
  awaitable<std::tuple<error_code, std::string>> readToEnd() {
    std::string got(static_cast<const char*>(buffer_.data().data()), buffer_.size());
    buffer_.consume(buffer_.size());
    char chunk[4096];
    for (;;) {
      stream_.expires_after(kWaitLimit);
      auto [ec, n] = co_await stream_.async_read_some(asio::buffer(chunk), kUseTuple);
      got.append(chunk, n);
      if (ec) co_return std::tuple{ec, got};
    }
  }

  PlainStream& stream() { return stream_; }

 private:
  PlainStream stream_;
  beast::flat_buffer buffer_;
};

// One request on a fresh connection to 127.0.0.1:`port`. A failed connect or exchange gives a
// response with result 0 and the error's text in its body.
inline awaitable<Response> fetchTask(asio::io_context& io, uint16_t port, Request req) {
  HttpConnection conn(io);
  Response res;
  if (error_code ec = co_await conn.connect(port)) {
    res.result(0);
    res.body() = "connect: " + ec.message();
    co_return res;
  }
  error_code ec;
  std::tie(ec, res) = co_await conn.roundTrip(req);
  if (ec) {
    res.result(0);
    res.body() = "exchange: " + ec.message();
  }
  co_return res;
}

// fetchTask run on `io` to its end (5 s at most).
inline Response fetch(asio::io_context& io, uint16_t port, Request req) {
  std::optional<Response> res = runTask(io, fetchTask(io, port, std::move(req)));
  if (res) return *res;
  Response timed_out;
  timed_out.result(0);
  timed_out.body() = "no response within 5 s";
  return timed_out;
}

inline Response fetch(asio::io_context& io, uint16_t port, std::string target,
                      std::string host = "localhost") {
  return fetch(io, port, makeRequest(bhttp::verb::get, std::move(target), std::move(host), true));
}

}  // namespace weft::testutil
