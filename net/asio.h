#pragma once

// Short names for the Asio/Beast vocabulary used across the proxy. The data path never throws:
// every asynchronous call completes with an error_code via `kUseTuple`.

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/tcp_stream.hpp>

namespace weft {

namespace asio = boost::asio;
namespace beast = boost::beast;
using tcp = asio::ip::tcp;
using error_code = boost::system::error_code;
// Everything runs on a worker's io_context: coroutines carry its concrete executor, so resuming
// one copies no type-erased any_io_executor.
using Executor = asio::io_context::executor_type;

template <typename T>
using awaitable = asio::awaitable<T, Executor>;

inline constexpr auto kUseTuple = asio::as_tuple(asio::use_awaitable_t<Executor>{});

// Streams bound to a concrete io_context executor: no type-erased executor copies per operation.
using Socket = asio::basic_stream_socket<tcp, Executor>;
// Data-path streams: bare sockets (and weft::TlsStream over them, tls_stream.h), no per-operation
// timers; codecs keep one weft::Deadline per connection instead.
using TcpStream = Socket;
// Beast's timed stream (a timer armed and cancelled around every operation), for the admin
// endpoint.
using PlainStream = beast::basic_stream<tcp, Executor, beast::unlimited_rate_policy>;

}  // namespace weft
