#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include <nghttp2/nghttp2.h>

#include "net/http/http2/abuse_guard.h"
#include "net/http/http2/callbacks.h"

#include "net/asio.h"
#include "net/http/codec.h"
#include "net/http/http2/server_stream.h"
#include "net/http/http2/session_base.h"
#include "net/signal.h"

namespace weft::http::http2 {

// What a session tells the connection that owns it.
class SessionListener {
 public:
  virtual ~SessionListener() = default;
  // The last open stream is gone: the connection is idle (its idle deadline starts).
  virtual void onIdle() = 0;
};

// The server side of one HTTP/2 connection without the socket: an nghttp2 session fed by
// receive() and drained by produce(), and the streams it carries. Each request, once its HEADERS
// are complete, is handed to the StreamHandler in its own coroutine on the worker, so many
// exchanges run at once. Everything runs on the worker's thread.
//
// A request's handler starts once nghttp2 has processed all that one read brought, so a stream
// the client reset in the same read (rapid reset) never reaches the pipeline: no upstream
// connection, no breaker slot. Such resets, and any before the response began, are budgeted per
// connection, as are frames that carry no request (AbuseGuard; over budget: GOAWAY
// ENHANCE_YOUR_CALM). Frames on streams nghttp2 has forgotten get the errors of RFC 9113 §5.1.
//
// Malformed requests that nghttp2 lets through but the proxy cannot forward get a local 400 /
// 405 / 431 on their stream; protocol errors nghttp2 finds are RST_STREAM or GOAWAY as RFC 9113
// says. A handler that returns without finishing its response gets RST_STREAM(INTERNAL_ERROR).
class ServerSession final : public SessionBase {
 public:
  // Queues the server preface: SETTINGS (MAX_CONCURRENT_STREAMS, INITIAL_WINDOW_SIZE,
  // MAX_HEADER_LIST_SIZE) and a larger connection window.
  ServerSession(const Executor& executor, DownstreamInfo info, StreamHandler& handler,
                const Settings& settings, SessionListener& listener);
  // The streams go before the nghttp2 session (which calls no callbacks as it goes).
  ~ServerSession() override = default;

  // Graceful shutdown: a shutdown notice now, the final GOAWAY naming the last stream taken
  // after kGoawayGrace; open streams finish, then the session is done.
  void drain();
  // The connection is gone: pending and later reads and writes of every stream fail.
  void abort();
  // Waits until every handler coroutine has returned.
  awaitable<void> waitHandlers();

  size_t openStreams() const { return streams_.size(); }
  const DownstreamInfo& downstream() const { return info_; }

 private:
  friend class ServerStreamImpl;
  static constexpr bool kOnFrameSend = true;
  static constexpr bool kOnFrameNotSend = false;
  friend struct Trampolines<ServerSession>;
  static constexpr std::string_view kLogName = "http2";

  size_t streamsInFlight() const override { return openStreams(); }
  bool needsState(const FrameHeader& frame) const override {
    return guard_.needsStreamState(frame);
  }
  FrameVerdict inspectFrame(const FrameHeader& frame) override;
  void afterReceive() override;
  int onBeginHeaders(const nghttp2_frame& frame);
  int onHeader(const nghttp2_frame& frame, std::string_view name, std::string_view value);
  int onFrameRecv(const nghttp2_frame& frame);
  int onDataChunk(int32_t stream_id, const uint8_t* data, size_t size);
  int onFrameSend(const nghttp2_frame& frame);
  int onStreamClose(int32_t stream_id, uint32_t error_code);

  // SessionBase: the drain's final GOAWAY.
  void runTimers(Clock::time_point now) override;
  Clock::time_point nextTimer() const override;

  ServerStreamImpl* find(int32_t stream_id);
  // The request's head is complete: a local reply, or its handler starts after receive().
  void prepareRequest(ServerStreamImpl& stream);
  void startHandler(ServerStreamImpl& stream);
  awaitable<void> runHandler(ServerStreamImpl& stream);
  void finishHandler(ServerStreamImpl& stream);
  void localReply(ServerStreamImpl& stream, unsigned status, std::string_view reason);
  void erase(ServerStreamImpl& stream);

  // For ServerStreamImpl.
  int submitResponse(ServerStreamImpl& stream, const ResponseFields& fields, bool with_body);
  void submitContinue(int32_t stream_id);
  // False when nghttp2 refused them: the body's last DATA frame then ends the stream.
  bool submitTrailer(int32_t stream_id, const HeaderMap& trailers);
  void resumeData(int32_t stream_id);  // the caller wakes the writer
  void consumed(int32_t stream_id, size_t size);
  void reset(int32_t stream_id, uint32_t error_code);

  DownstreamInfo info_;
  StreamHandler& handler_;
  SessionListener& listener_;
  std::unordered_map<int32_t, std::unique_ptr<ServerStreamImpl>> streams_;
  std::vector<ServerStreamImpl*> starting_;  // requests complete in this receive(), in order
  AbuseGuard guard_;
  Signal handlers_done_;
  std::optional<Clock::time_point> goaway_at_;
  size_t handlers_ = 0;
  bool draining_ = false;
};

}  // namespace weft::http::http2
