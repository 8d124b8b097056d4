#pragma once

// Shared by the HTTP/2 client codec tests: an io_context fixture that runs coroutines to
// completion with a bound, and one whole exchange on a stream.

#include <openssl/evp.h>

#include <chrono>
#include <random>
#include <string>

#include <gtest/gtest.h>

#include "net/http/http2/client_connection.h"

namespace weft::http::http2::clienttest {

using namespace std::chrono_literals;  // NOLINT: test helpers
using TcpConnection = Http2ClientConnectionImpl<TcpStream>;

inline std::string sha256(const std::string& data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), md, &len, EVP_sha256(), nullptr);
  return std::string(reinterpret_cast<char*>(md), len);
}

inline std::string randomBytes(size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::string s(n, '\0');
  for (auto& c : s) c = static_cast<char>(rng());
  return s;
}

inline awaitable<void> sleepFor(std::chrono::milliseconds d) {
  asio::basic_waitable_timer<std::chrono::steady_clock,
                             asio::wait_traits<std::chrono::steady_clock>, Executor>
      timer(co_await asio::this_coro::executor, d);
  co_await timer.async_wait(kUseTuple);
}

inline const std::string kNoBody;

struct Fetched {
  error_code ec;
  unsigned status = 0;
  HeaderMap headers;  // of the response head
  std::string body;
  bool done = false;
  bool sent = false;  // the stream's requestSent() once the exchange was over
};

inline RequestHead request(std::string method, std::string path) {
  RequestHead head;
  head.method = std::move(method);
  head.authority = "localhost";
  head.path = std::move(path);
  head.headers.add("te", "trailers");
  head.headers.add("connection", "keep-alive");  // must be dropped, or nghttpd resets the stream
  return head;
}

// One exchange: the head, `body` in 16 KiB pieces, then the whole response.
inline awaitable<void> exchange(Http2ClientStream& stream, const RequestHead& head,
                                const std::string& body, Fetched& out) {
  out.ec = co_await stream.sendRequestHead(head, true);
  for (size_t off = 0; !out.ec && head.body.present;) {
    const size_t n = std::min<size_t>(16384, body.size() - off);
    std::span<const char> piece(body.data() + off, n);
    off += n;
    out.ec = co_await stream.sendRequestBody(piece, off == body.size());
    if (off == body.size()) break;
  }
  ResponseHead response;
  if (!out.ec) out.ec = co_await stream.readResponseHead(response);
  out.status = response.status;
  out.headers = response.headers;
  char buffer[16384];
  while (!out.ec && response.body.present) {
    std::span<char> into(buffer, sizeof(buffer));
    BodyRead r = co_await stream.readResponseBody(into);
    out.body.append(buffer, r.n);
    out.ec = r.ec;
    if (r.end) break;
  }
  out.done = true;
}

class ClientFixture : public ::testing::Test {
 protected:
  // Runs `task` on the io_context until it completes, at most 30 s.
  void run(awaitable<void> task) {
    bool done = false;
    asio::co_spawn(io_.get_executor(), std::move(task), [&](std::exception_ptr e) {
      done = true;
      if (e) ADD_FAILURE() << "coroutine threw";
    });
    const auto until = std::chrono::steady_clock::now() + 30s;
    while (!done && std::chrono::steady_clock::now() < until) io_.run_one_for(100ms);
    ASSERT_TRUE(done) << "timed out";
  }

  awaitable<void> connectH2c(unsigned short port, std::unique_ptr<TcpConnection>& out) {
    TcpStream socket(co_await asio::this_coro::executor);
    tcp::endpoint endpoint(asio::ip::make_address_v4("127.0.0.1"), port);
    auto [ec] = co_await socket.async_connect(endpoint, kUseTuple);
    if (!ec) {
      out = std::make_unique<TcpConnection>(std::move(socket), settings_, counters_);
    }
  }

  // Polls `cond` every 10 ms for up to 5 s.
  template <typename Cond>
  awaitable<bool> eventually(Cond cond) {
    for (int i = 0; i < 500 && !cond(); ++i) co_await sleepFor(10ms);
    co_return cond();
  }

  // Before io_: connections whose reader is still suspended on io_ end (and count their close)
  // when io_ is destroyed.
  Settings settings_;
  net::ConnectionTally counters_;
  asio::io_context io_;
};

}  // namespace weft::http::http2::clienttest
