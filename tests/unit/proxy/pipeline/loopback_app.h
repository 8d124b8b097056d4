#pragma once

// A test "app" for the pipeline tests: a listener on 127.0.0.1 whose connections record every
// byte the proxy sends them. The test decides what each connection does next (answer, close,
// reset), so no step depends on timing. Also: running an io_context until a condition (bounded),
// and waiting (bounded) until the proxy's own end of a connection has seen the app's reset.

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "control/api/address.h"
#include "net/asio.h"

namespace weft::testutil {

// Runs `io` until `until()` or 5 s, whichever comes first.
template <typename Until>
void runUntil(asio::io_context& io, Until until) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (!until() && std::chrono::steady_clock::now() < deadline) {
    io.restart();
    io.run_one_for(std::chrono::milliseconds(10));
  }
}

class LoopbackApp {
 public:
  struct Conn {
    explicit Conn(Socket s) : socket(std::move(s)) {}
    Socket socket;
    std::string received;
    bool ended = false;  // the proxy closed or reset its end (or the app closed this one)
  };

  explicit LoopbackApp(asio::io_context& io)
      : io_(io), acceptor_(io, tcp::endpoint(asio::ip::make_address_v4("127.0.0.1"), 0)) {
    asio::co_spawn(io_, acceptLoop(), asio::detached);
  }
  // Closes everything and lets the reading coroutines finish while the connections exist.
  ~LoopbackApp() {
    error_code ignored;
    acceptor_.close(ignored);
    for (auto& c : conns) c->socket.close(ignored);
    io_.restart();
    io_.poll();
  }
  LoopbackApp(const LoopbackApp&) = delete;
  LoopbackApp& operator=(const LoopbackApp&) = delete;

  api::HostPort address() const { return {"127.0.0.1", acceptor_.local_endpoint().port()}; }
  std::string addressText() const { return "127.0.0.1:" + std::to_string(address().port); }

  // The connection has received `bytes` (anywhere in what it got).
  bool received(size_t i, std::string_view bytes) const {
    return i < conns.size() && conns[i]->received.find(bytes) != std::string::npos;
  }
  bool ended(size_t i) const { return i < conns.size() && conns[i]->ended; }

  void reply(size_t i, std::string_view bytes) {
    error_code ec;
    asio::write(conns[i]->socket, asio::buffer(bytes), ec);
  }
  // A normal close: FIN.
  void close(size_t i) {
    error_code ignored;
    conns[i]->socket.close(ignored);
  }
  // An abortive close: RST. Returns once the proxy's end of the connection has seen it (or 5 s).
  void reset(size_t i) {
    error_code ignored;
    Socket& s = conns[i]->socket;
    const uint16_t proxy_port = s.remote_endpoint(ignored).port();
    s.set_option(asio::socket_base::linger(true, 0), ignored);
    s.close(ignored);
    waitForReset(proxy_port);
  }

  std::vector<std::unique_ptr<Conn>> conns;

 private:
  awaitable<void> acceptLoop() {
    for (;;) {
      auto [ec, socket] = co_await acceptor_.async_accept(kUseTuple);
      if (ec) co_return;
      conns.push_back(std::make_unique<Conn>(std::move(socket)));
      asio::co_spawn(io_, readLoop(conns.back().get()), asio::detached);
    }
  }

  static awaitable<void> readLoop(Conn* c) {
    char buffer[16384];
    for (;;) {
      auto [ec, n] = co_await c->socket.async_read_some(asio::buffer(buffer), kUseTuple);
      c->received.append(buffer, n);
      if (ec) {
        c->ended = true;
        co_return;
      }
    }
  }

  // The proxy's socket to us, bound to `proxy_port`: polls it until the reset has arrived, so
  // that its next write fails instead of racing the RST through loopback.
  static void waitForReset(uint16_t proxy_port) {
    for (int fd = 0; fd < 4096; ++fd) {
      sockaddr_in local{};
      socklen_t len = sizeof(local);
      if (::getsockname(fd, reinterpret_cast<sockaddr*>(&local), &len) != 0 ||
          local.sin_family != AF_INET || ntohs(local.sin_port) != proxy_port) {
        continue;
      }
      pollfd p{fd, POLLIN, 0};
      ::poll(&p, 1, 5000);
      return;
    }
  }

  asio::io_context& io_;
  asio::basic_socket_acceptor<tcp, Executor> acceptor_;
};

}  // namespace weft::testutil
