#include "net/stream_io.h"

#include <unistd.h>

#include <algorithm>
#include <array>

#include <boost/asio/write.hpp>

#include "net/inline_budget.h"

namespace weft::io {
namespace {

// Asio's synchronous calls then fail with would_block instead of blocking the worker.
error_code makeNonBlocking(Socket& socket) {
  error_code ec;
  if (!socket.non_blocking()) socket.non_blocking(true, ec);
  return ec;
}

}  // namespace

bool wouldBlock(const error_code& ec) {
  return ec == asio::error::would_block || ec == asio::error::try_again;
}

awaitable<std::tuple<error_code, size_t>> readSome(Socket& stream, asio::mutable_buffer buffer,
                                                   ReadStart start) {
  if (error_code ec = makeNonBlocking(stream); ec) co_return std::tuple{ec, size_t{0}};
  bool wait = start == ReadStart::kWaitFirst;  // and, once set, whether this read has waited
  for (;;) {
    if (wait) {
      auto [wec] = co_await stream.async_wait(Socket::wait_read, kUseTuple);
      if (wec) co_return std::tuple{wec, size_t{0}};
    }
    error_code ec;
    const size_t n = stream.read_some(buffer, ec);
    if (!wouldBlock(ec)) {
      if (!wait && InlineBudget::spend()) co_await yieldToScheduler();
      co_return std::tuple{ec, n};
    }
    wait = true;
  }
}

awaitable<std::tuple<error_code, size_t>> writeAll(Socket& stream,
                                                   std::span<const asio::const_buffer> buffers) {
  std::array<asio::const_buffer, 8> rest;
  if (buffers.size() > rest.size())
    co_return co_await asio::async_write(stream, buffers, kUseTuple);
  if (error_code ec = makeNonBlocking(stream); ec) co_return std::tuple{ec, size_t{0}};
  const size_t count = buffers.size();
  std::copy_n(buffers.begin(), count, rest.begin());
  size_t first = 0;
  size_t written = 0;
  bool waited = false;
  while (first < count) {
    if (rest[first].size() == 0) {
      ++first;
      continue;
    }
    error_code ec;
    size_t n = stream.write_some(std::span(rest.data() + first, count - first), ec);
    written += n;
    for (; first < count && n >= rest[first].size(); ++first) n -= rest[first].size();
    if (first < count) rest[first] += n;
    if (wouldBlock(ec)) {
      auto [wec] = co_await stream.async_wait(Socket::wait_write, kUseTuple);
      if (wec) co_return std::tuple{wec, written};
      waited = true;
    } else if (ec) {
      co_return std::tuple{ec, written};
    }
  }
  if (!waited && InlineBudget::spend()) co_await yieldToScheduler();
  co_return std::tuple{error_code{}, written};
}

size_t tryWrite(Socket& stream, asio::const_buffer buffer, error_code& ec) {
  if ((ec = makeNonBlocking(stream))) return 0;
  const size_t n = stream.write_some(buffer, ec);
  if (!ec && n < buffer.size()) ec = asio::error::would_block;
  return n;
}

error_code dropWriteInterest(Socket& socket) {
  error_code ec;
  const tcp protocol = socket.local_endpoint(ec).protocol();
  if (ec) return ec;
  const Socket::native_handle_type fd = socket.release(ec);
  if (ec) return ec;
  socket.assign(protocol, fd, ec);
  if (ec) ::close(fd);
  return ec;
}

awaitable<std::tuple<error_code, size_t>> writeAll(Socket& stream, asio::const_buffer buffer) {
  const std::array<asio::const_buffer, 1> one{buffer};
  co_return co_await writeAll(stream, one);
}

}  // namespace weft::io
