#include "net/http/http2/client_connection.h"

#include <openssl/ssl.h>

#include "net/deadline.h"
#include "net/http/http2/frame_io.h"
#include "net/log.h"
#include "net/spawn_guard.h"

namespace weft::http::http2 {

template <typename Stream>
struct Http2ClientConnectionImpl<Stream>::Core final : FrameFlusher {
  Core(Stream s, const Settings& settings, net::ConnectionCounters& counters)
      : stream(std::move(s)),
        write_deadline(beast::get_lowest_layer(stream)),
        settings(settings),
        stats(counters),
        session(std::make_shared<ClientSession>(beast::get_lowest_layer(stream).get_executor(),
                                                settings)) {
    session->setFlusher(this);
  }
  ~Core() override { session->setFlusher(nullptr); }  // streams may keep the session longer

  void flushFrames() override { http2::flushFrames(stream, *session, stats, write_state); }

  Stream stream;
  Deadline write_deadline;  // after stream: it closes its socket
  const Settings& settings;
  net::ConnectionStats stats;
  std::shared_ptr<ClientSession> session;  // streams share it
  error_code read_error;                   // why the reader stopped, when the socket failed
  error_code write_error;                  // why the writer stopped, when a write failed
  WriteState write_state;                  // .done: the writer has returned
  bool reader_done = false;

  bool open() { return beast::get_lowest_layer(stream).is_open(); }

  // Why the connection ended, for the streams on it: what the reader found (a TLS alert the peer
  // sent before it went away says more than the failed write it caused), unless that is only
  // the end of input the failed write brought on.
  error_code cause() const {
    if (read_error && !(write_error && read_error == asio::ssl::error::stream_truncated)) {
      return read_error;
    }
    return write_error ? write_error : read_error;
  }

  void shutdown() {
    session->abort(cause());
    error_code ignored;
    beast::get_lowest_layer(stream).cancel(ignored);
    beast::get_lowest_layer(stream).close(ignored);
  }

  static awaitable<void> readLoop(std::shared_ptr<Core> self) {
    auto no_deadline = [] {};  // streams have their own
    const ReadEnd end = co_await readFrames(self->stream, *self->session, self->stats, no_deadline);
    if (end.ec && end.ec != asio::error::eof && end.ec != asio::error::operation_aborted) {
      log::debug("http2 upstream read ended: ", end.ec.message());
      self->read_error = end.ec;
    }
    self->reader_done = true;
    if (!end.more && !self->write_state.done) {
      // The session queued a GOAWAY: let the writer send it before the socket goes.
      self->session->wakeWriter();
      co_return;
    }
    self->shutdown();
  }

  // Ends when the reader has, or when the peer misses a keepalive PING: the streams fail with
  // kConnectionClosed.
  static awaitable<void> writeLoop(std::shared_ptr<Core> self) {
    const error_code ec = co_await writeFrames(self->stream, *self->session, self->write_deadline,
                                               self->settings.read_timeout, self->stats,
                                               self->reader_done, self->write_state);
    if (ec && !self->reader_done) {
      // What has arrived may say why the write failed (a TLS alert): the reader reads it, finds
      // the end of input the shutdown adds after it, and ends the connection.
      self->write_error = ec;
      error_code ignored;
      beast::get_lowest_layer(self->stream).shutdown(tcp::socket::shutdown_both, ignored);
      co_return;
    }
    self->shutdown();
  }
};

template <typename Stream>
Http2ClientConnectionImpl<Stream>::Http2ClientConnectionImpl(Stream stream,
                                                             const Settings& settings,
                                                             net::ConnectionCounters& counters)
    : core_(std::make_shared<Core>(std::move(stream), settings, counters)) {
  auto executor = beast::get_lowest_layer(core_->stream).get_executor();
  error_code ignored;
  const tcp::endpoint peer = beast::get_lowest_layer(core_->stream).remote_endpoint(ignored);
  asio::co_spawn(executor, Core::writeLoop(core_), SpawnGuard({"http2 upstream writer", peer}));
  asio::co_spawn(executor, Core::readLoop(core_), SpawnGuard({"http2 upstream reader", peer}));
}

template <typename Stream>
Http2ClientConnectionImpl<Stream>::~Http2ClientConnectionImpl() {
  single_.reset();
  close();
}

template <typename Stream>
std::unique_ptr<Http2ClientStream> Http2ClientConnectionImpl<Stream>::openStream() {
  auto state = core_->session->open();
  return std::make_unique<ClientStreamImpl>(core_->session, std::move(state));
}

template <typename Stream>
bool Http2ClientConnectionImpl<Stream>::canOpenStream() const {
  return alive() && core_->session->canOpenStream();
}

template <typename Stream>
size_t Http2ClientConnectionImpl<Stream>::activeStreams() const {
  return core_->session->activeStreams();
}

template <typename Stream>
bool Http2ClientConnectionImpl<Stream>::alive() const {
  const ClientSession& s = *core_->session;
  return core_->open() && !s.closing() && !s.finished() && !core_->reader_done &&
         !core_->write_state.done;
}

template <typename Stream>
ClientStream& Http2ClientConnectionImpl<Stream>::startStream() {
  single_.reset();
  single_ = openStream();
  return *single_;
}

template <typename Stream>
bool Http2ClientConnectionImpl<Stream>::reusable() const {
  return alive() && !core_->session->goawayReceived();
}

template <typename Stream>
void Http2ClientConnectionImpl<Stream>::close() {
  core_->shutdown();
}

template <typename Stream>
const ClientSession& Http2ClientConnectionImpl<Stream>::session() const {
  return *core_->session;
}

template class Http2ClientConnectionImpl<TcpStream>;
template class Http2ClientConnectionImpl<TlsStream>;

}  // namespace weft::http::http2
