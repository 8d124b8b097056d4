#include "proxy/http/http2/server_codec.h"

#include <type_traits>

#include <boost/asio/write.hpp>

#include "proxy/common/log.h"
#include "proxy/http/http1/stream_ops.h"
#include "proxy/http/http2/settings.h"

namespace weft::http::http2 {

template <typename Stream>
ServerConnectionImpl<Stream>::ServerConnectionImpl(Stream stream, DownstreamInfo info,
                                                   StreamHandler& handler,
                                                   const http1::Settings& settings,
                                                   metrics::ConnectionStats& stats,
                                                   std::string_view received)
    : stream_(std::move(stream)),
      read_deadline_(beast::get_lowest_layer(stream_)),
      write_deadline_(beast::get_lowest_layer(stream_)),
      settings_(settings),
      stats_(stats),
      session_(beast::get_lowest_layer(stream_).get_executor(), std::move(info), handler, settings,
               *this),
      received_(received),
      writer_done_(beast::get_lowest_layer(stream_).get_executor()) {}

template <typename Stream>
void ServerConnectionImpl<Stream>::onIdle() {
  // A read may be in flight without a deadline (streams were open when it started).
  if (reading_) read_deadline_.arm(settings_.idle_timeout);
}

template <typename Stream>
awaitable<void> ServerConnectionImpl<Stream>::run() {
  auto& lowest = beast::get_lowest_layer(stream_);
  writer_running_ = true;
  asio::co_spawn(lowest.get_executor(), writeLoop(), asio::detached);

  bool more = true;
  if (!received_.empty()) {
    stats_.read(received_.size());
    more = session_.receive(reinterpret_cast<const uint8_t*>(received_.data()), received_.size());
    received_.clear();
    received_.shrink_to_fit();
  }
  std::unique_ptr<uint8_t[]> buffer(new uint8_t[kReadChunk]);
  bool peer_gone = false;
  while (more && !session_.finished()) {
    if (session_.openStreams() == 0) {
      read_deadline_.arm(settings_.idle_timeout);
    } else {
      read_deadline_.disarm();  // open streams have their own deadlines
    }
    reading_ = true;
    auto [read_ec, n] =
        co_await stream_.async_read_some(asio::buffer(buffer.get(), kReadChunk), kUseTuple);
    reading_ = false;
    read_deadline_.disarm();
    stats_.read(n);
    if (n > 0) more = session_.receive(buffer.get(), n);
    if (read_ec) {
      // The client left or the idle deadline passed; operation_aborted: the writer is done.
      peer_gone = read_ec != asio::error::operation_aborted;
      if (peer_gone && read_ec != asio::error::eof) {
        log::debug("http2 connection read ended: ", timedOut(read_deadline_, read_ec).message());
      }
      break;
    }
  }
  // No more input: streams still waiting for it fail; the writer sends what is left (a GOAWAY).
  session_.abort();
  while (writer_running_) co_await writer_done_.waitUntil(Signal::Clock::time_point::max());
  co_await session_.waitHandlers();
  if (peer_gone || std::is_same_v<Stream, TlsStream>) {
    co_await http1::shutdownStream(stream_, write_deadline_);
  } else {
    // The session ended (GOAWAY): frames the client still sends must not turn our close into a
    // reset that destroys the GOAWAY before the client reads it.
    beast::flat_buffer discard;
    co_await http1::lingeringClose(stream_, discard, write_deadline_);
  }
}

template <typename Stream>
awaitable<void> ServerConnectionImpl<Stream>::writeLoop() {
  std::string out;
  for (;;) {
    out.clear();
    const bool ok = session_.produce(out, kWriteBatch);
    if (!out.empty()) {
      write_deadline_.arm(settings_.read_timeout);
      auto [ec, n] = co_await asio::async_write(stream_, asio::buffer(out), kUseTuple);
      write_deadline_.disarm();
      stats_.wrote(n);
      if (ec) break;
      continue;
    }
    if (!ok || session_.finished() || session_.closing()) break;
    co_await session_.waitForOutput();
  }
  // Nothing more will be sent: stop the reader too.
  error_code ignored;
  beast::get_lowest_layer(stream_).cancel(ignored);
  writer_running_ = false;
  writer_done_.notify();
}

template class ServerConnectionImpl<TcpStream>;
template class ServerConnectionImpl<TlsStream>;

}  // namespace weft::http::http2
