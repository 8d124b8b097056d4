#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include <nghttp2/nghttp2.h>

#include "net/http/http2/callbacks.h"

#include "net/asio.h"
#include "net/http/http2/client_errors.h"
#include "net/http/http2/session_base.h"
#include "net/http/message.h"
#include "net/signal.h"

namespace weft::http::http2 {

// Request body queued per stream before sendRequestBody waits for nghttp2 to take it.
inline constexpr size_t kMaxQueuedRequestBytes = 64 * 1024;

// One client stream's state, shared by the session (while nghttp2 knows the stream) and the
// caller's stream handle. Only the worker's thread touches it.
struct ClientStreamState {
  explicit ClientStreamState(const Executor& executor)
      : read_signal(executor), write_signal(executor) {}

  int32_t id = -1;
  Signal read_signal;   // head, body, end or error arrived
  Signal write_signal;  // request body queue shrank, or error
  // Response.
  unsigned status = 0;     // of the HEADERS block being received (0: none yet)
  size_t block_bytes = 0;  // its size so far, against max_header_bytes
  ResponseHead head;
  HeaderMap trailers;
  bool head_done = false;
  std::string body;
  size_t body_off = 0;
  bool ended = false;  // END_STREAM received
  // Request body not yet taken by nghttp2.
  std::string out;
  size_t out_off = 0;
  bool out_end = false;
  bool deferred = false;
  Signal::Clock::time_point body_progress{};  // when nghttp2 last took request body bytes
  bool tunnel = false;        // an extended CONNECT (RFC 8441): a 2xx opens the tunnel
  bool head_sent = false;     // HEADERS went to the connection's writer: the peer may see it
  bool request_done = false;  // END_STREAM sent
  // Life.
  bool closed = false;
  bool detached = false;  // the caller's handle is gone
  error_code error;

  size_t queued() const { return out.size() - out_off; }
  size_t buffered() const { return body.size() - body_off; }
};

// The client side of one HTTP/2 connection without the socket: an nghttp2 client session fed by
// receive() and drained by produce() (SessionBase), and the streams it carries. Responses are
// acknowledged (WINDOW_UPDATE) only as the caller reads them, so flow control is backpressure.
class ClientSession final : public SessionBase {
 public:
  // Queues the client preface's SETTINGS (no push, INITIAL_WINDOW_SIZE, MAX_HEADER_LIST_SIZE)
  // and a larger connection window. nghttp2 sends the magic before them.
  ClientSession(const Executor& executor, const Settings& settings);
  ~ClientSession() override = default;

  // The connection is gone: every stream not yet complete fails with kConnectionClosed, or with
  // `cause` when it is a TLS error (an alert from the peer says more than "closed").
  void abort(error_code cause = {});

  // A new stream; its request goes out with submitRequest().
  std::shared_ptr<ClientStreamState> open();
  // Whether the server takes a new stream now: no GOAWAY, alive, under its
  // SETTINGS_MAX_CONCURRENT_STREAMS.
  bool canOpenStream() const;
  size_t activeStreams() const { return streams_.size() + unsubmitted_; }
  bool goawayReceived() const { return goaway_; }
  uint32_t peerMaxConcurrentStreams() const;
  // Whether the server's SETTINGS frame has arrived; until then, `state`'s read signal is
  // notified when it does (or the connection ends).
  bool awaitSettings(const std::shared_ptr<ClientStreamState>& state);
  // The server's SETTINGS offered extended CONNECT (RFC 8441 §3).
  bool peerTakesExtendedConnect() const;

  // For ClientStreamImpl.
  error_code submitRequest(const std::shared_ptr<ClientStreamState>& state,
                           const RequestHead& head);
  void resumeData(ClientStreamState& state);
  void consumed(ClientStreamState& state, size_t size);
  void cancel(ClientStreamState& state);
  void forget() { --unsubmitted_; }

 private:
  static constexpr bool kOnFrameSend = true;
  static constexpr bool kOnFrameNotSend = true;
  friend struct Trampolines<ClientSession>;
  static constexpr std::string_view kLogName = "http2 client";

  size_t streamsInFlight() const override { return activeStreams(); }
  ClientStreamState* find(int32_t stream_id);
  int onBeginHeaders(const nghttp2_frame& frame);
  int onHeader(const nghttp2_frame& frame, std::string_view name, std::string_view value);
  int onFrameRecv(const nghttp2_frame& frame);
  int onDataChunk(int32_t stream_id, const uint8_t* data, size_t size);
  int onFrameSend(const nghttp2_frame& frame);
  int onFrameNotSend(const nghttp2_frame& frame);
  int onStreamClose(int32_t stream_id, uint32_t error_code);
  ssize_t readData(ClientStreamState& state, uint8_t* buf, size_t length, uint32_t* flags);
  void finishHead(ClientStreamState& state, bool end);
  void fail(ClientStreamState& state, error_code ec);

  std::unordered_map<int32_t, std::shared_ptr<ClientStreamState>> streams_;
  std::vector<std::weak_ptr<ClientStreamState>> settings_waiters_;
  bool settings_received_ = false;
  size_t unsubmitted_ = 0;  // opened, request head not yet submitted
  bool goaway_ = false;
  error_code closed_error_;  // what streams fail with once abort() ran
};

}  // namespace weft::http::http2
