#include "net/http/http2/server_codec.h"

#include <type_traits>

#include "net/http/http2/frame_io.h"
#include "net/log.h"
#include "net/spawn_guard.h"
#include "net/stream_close.h"

namespace weft::http::http2 {

template <typename Stream>
ServerConnectionImpl<Stream>::ServerConnectionImpl(Stream stream, DownstreamInfo info,
                                                   StreamHandler& handler, const Settings& settings,
                                                   net::ConnectionStats& stats,
                                                   std::string_view received)
    : stream_(std::move(stream)),
      read_deadline_(beast::get_lowest_layer(stream_)),
      write_deadline_(beast::get_lowest_layer(stream_)),
      settings_(settings),
      stats_(stats),
      session_(beast::get_lowest_layer(stream_).get_executor(), std::move(info), handler, settings,
               *this),
      received_(received),
      writer_done_(beast::get_lowest_layer(stream_).get_executor()),
      idle_since_(Clock::now()) {
  session_.setFlusher(this);
}

template <typename Stream>
void ServerConnectionImpl<Stream>::onIdle() {
  idle_since_ = Clock::now();
  // A read may be in flight without a deadline (streams were open when it started).
  read_deadline_.arm(settings_.idle_timeout);
}

template <typename Stream>
void ServerConnectionImpl<Stream>::flushFrames() {
  http2::flushFrames(stream_, session_, stats_, write_state_);
}

template <typename Stream>
awaitable<void> ServerConnectionImpl<Stream>::run() {
  auto& lowest = beast::get_lowest_layer(stream_);
  writer_running_ = true;
  error_code ignored;
  asio::co_spawn(lowest.get_executor(), writeLoop(),
                 SpawnGuard({"http2 server writer", lowest.remote_endpoint(ignored)}));

  ReadEnd end;
  if (!received_.empty()) {
    stats_.read(received_.size());
    end.more =
        session_.receive(reinterpret_cast<const uint8_t*>(received_.data()), received_.size());
    received_.clear();
    received_.shrink_to_fit();
  }
  // The idle deadline counts from when the last stream closed: keepalive PINGs and their ACKs
  // do not keep an idle connection open. Open streams have their own deadlines.
  auto arm_idle = [this] {
    if (session_.openStreams() == 0) {
      read_deadline_.arm(idle_since_ + settings_.idle_timeout - Clock::now());
    } else {
      read_deadline_.disarm();
    }
  };
  if (end.more) end = co_await readFrames(stream_, session_, stats_, arm_idle);
  read_deadline_.disarm();
  // The client left or the idle deadline passed; operation_aborted: the writer is done.
  const bool peer_gone = end.ec && end.ec != asio::error::operation_aborted;
  if (peer_gone && end.ec != asio::error::eof) {
    log::debug("http2 connection read ended: ", timedOut(read_deadline_, end.ec).message());
  }
  // No more input: streams still waiting for it fail; the writer sends what is left (a GOAWAY).
  session_.abort();
  while (writer_running_) co_await writer_done_.waitUntil(Signal::Clock::time_point::max());
  co_await session_.waitHandlers();
  if (peer_gone || std::is_same_v<Stream, TlsStream>) {
    co_await io::shutdownStream(stream_, write_deadline_);
  } else {
    // The session ended (GOAWAY): frames the client still sends must not turn our close into a
    // reset that destroys the GOAWAY before the client reads it.
    beast::flat_buffer discard;
    co_await io::lingeringClose(stream_, discard, write_deadline_);
  }
}

template <typename Stream>
awaitable<void> ServerConnectionImpl<Stream>::writeLoop() {
  const bool never = false;
  co_await writeFrames(stream_, session_, write_deadline_, settings_.read_timeout, stats_, never,
                       write_state_);
  // Nothing more will be sent: stop the reader too. A client that answered no keepalive PING
  // gets no lingering close either.
  error_code ignored;
  if (session_.unresponsive()) {
    beast::get_lowest_layer(stream_).close(ignored);
  } else {
    beast::get_lowest_layer(stream_).cancel(ignored);
  }
  writer_running_ = false;
  writer_done_.notify();
}

template class ServerConnectionImpl<TcpStream>;
template class ServerConnectionImpl<TlsStream>;

}  // namespace weft::http::http2
