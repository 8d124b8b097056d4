#include "net/tcp_relay.h"

#include <memory>

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/beast/core/stream_traits.hpp>

#include "net/deadline.h"
#include "net/stream_io.h"

namespace weft::net {
namespace {

// Per direction, for the relay's life: 128 KiB a connection. bench/relay_netns.py: 64 KiB relays
// outside the mesh at 0.55 of a direct download, 16 KiB at 0.31 (two syscalls per chunk).
constexpr size_t kChunk = 64 * 1024;

bool cleanEnd(const error_code& ec) {
  return ec == asio::error::eof || ec == asio::ssl::error::stream_truncated;
}

// The state both directions share: the first failure, which closes both connections.
struct Shared {
  Socket& a;
  Socket& b;
  error_code error;

  void fail(const error_code& ec) {
    if (!error) error = ec;
    error_code ignored;
    a.close(ignored);
    b.close(ignored);
  }
};

template <typename From, typename To>
awaitable<void> pump(From& from, ConnectionStats& from_stats, To& to, ConnectionStats& to_stats,
                     std::chrono::steady_clock::duration idle_timeout, Shared& shared,
                     uint64_t& copied) {
  auto buffer = std::make_unique<char[]>(kChunk);
  Socket& source = beast::get_lowest_layer(from);
  Socket& sink = beast::get_lowest_layer(to);
  Deadline deadline(source);
  for (;;) {
    deadline.arm(idle_timeout);
    auto [read_ec, n] = co_await io::readSome(from, asio::buffer(buffer.get(), kChunk));
    if (n > 0) {
      from_stats.read(n);
      auto [write_ec, written] = co_await io::writeAll(to, asio::const_buffer(buffer.get(), n));
      to_stats.wrote(written);
      copied += written;
      if (write_ec) {
        shared.fail(write_ec);
        co_return;
      }
    }
    if (cleanEnd(read_ec)) {
      error_code ignored;
      sink.shutdown(tcp::socket::shutdown_send, ignored);
      co_return;
    }
    if (read_ec) {
      shared.fail(timedOut(deadline, read_ec));
      co_return;
    }
  }
}

template <typename A, typename B>
awaitable<RelayResult> relayBoth(A& a, ConnectionStats& a_stats, B& b, ConnectionStats& b_stats,
                                 std::chrono::steady_clock::duration idle_timeout) {
  using namespace asio::experimental::awaitable_operators;
  RelayResult result;
  Shared shared{beast::get_lowest_layer(a), beast::get_lowest_layer(b), {}};
  co_await (pump(a, a_stats, b, b_stats, idle_timeout, shared, result.a_to_b) &&
            pump(b, b_stats, a, a_stats, idle_timeout, shared, result.b_to_a));
  result.error = shared.error;
  error_code ignored;
  shared.a.close(ignored);
  shared.b.close(ignored);
  co_return result;
}

}  // namespace

awaitable<RelayResult> relay(TcpStream& a, ConnectionStats& a_stats, TcpStream& b,
                             ConnectionStats& b_stats,
                             std::chrono::steady_clock::duration idle_timeout) {
  return relayBoth(a, a_stats, b, b_stats, idle_timeout);
}

awaitable<RelayResult> relay(TcpStream& a, ConnectionStats& a_stats, TlsStream& b,
                             ConnectionStats& b_stats,
                             std::chrono::steady_clock::duration idle_timeout) {
  return relayBoth(a, a_stats, b, b_stats, idle_timeout);
}

awaitable<RelayResult> relay(TlsStream& a, ConnectionStats& a_stats, TcpStream& b,
                             ConnectionStats& b_stats,
                             std::chrono::steady_clock::duration idle_timeout) {
  return relayBoth(a, a_stats, b, b_stats, idle_timeout);
}

}  // namespace weft::net
