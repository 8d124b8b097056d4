#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include <nghttp2/nghttp2.h>

#include "net/asio.h"
#include "net/http/http2/abuse_guard.h"
#include "net/http/http2/frame_scanner.h"
#include "net/http/http2/keepalive.h"
#include "net/http/http2/settings.h"
#include "net/signal.h"

namespace weft::http::http2 {

// The connection's socket half, for a session that wants its frames written now.
class FrameFlusher {
 public:
  virtual ~FrameFlusher() = default;
  // Writes what the session has ready, as far as the socket takes it without waiting; the
  // writer sends the rest.
  virtual void flushFrames() = 0;
};

// What the client and server sessions share: one nghttp2 session without a socket, fed by
// receive() and drained by produce(), its preface, the writer's wakeup and the keepalive PING.
// The connection's reader and writer (frame_io.h) drive it; everything runs on the worker's
// thread.
class SessionBase {
 public:
  using Clock = std::chrono::steady_clock;

  virtual ~SessionBase();
  SessionBase(const SessionBase&) = delete;
  SessionBase& operator=(const SessionBase&) = delete;

  // Feeds bytes read from the peer. False once the session wants no more input (a connection
  // error queued a GOAWAY, or the session is done).
  bool receive(const uint8_t* data, size_t size);
  // Appends the frames nghttp2 has ready to `out`, up to about `limit` bytes, with a keepalive
  // PING when one is due. False when nothing more can be sent: a fatal error, or the peer left a
  // PING unanswered (unresponsive()).
  bool produce(std::string& out, size_t limit);
  // Nothing left to read or send: GOAWAY exchanged and no stream open, or a fatal error.
  bool finished() const;
  bool closing() const { return closing_; }
  // The peer answered no keepalive PING in time: the connection is to be closed.
  bool unresponsive() const { return unresponsive_; }
  // Waits until output may be ready, or a timer (keepalive, a deferred GOAWAY) is due.
  awaitable<void> waitForOutput();
  void wakeWriter() { output_.notify(); }
  // A request's HEADERS or a response's last frame has been queued. The writer sends it when it
  // next runs, after the handlers already queued on the worker, so a burst of requests on many
  // connections leaves together. Every kFlushAfterMessages-th message is written at once
  // instead (through the FrameFlusher), with whatever else is ready, so the peer starts on part
  // of a burst while the rest is still being read; so is a message whose stream is the only
  // one in flight, which has nothing to wait for.
  void messageQueued();
  // Null: the writer sends everything. The flusher must outlive the session or be unset.
  void setFlusher(FrameFlusher* flusher) { flusher_ = flusher; }

  const Settings& settings() const { return settings_; }

 protected:
  enum class Role { kClient, kServer };

  struct Params {
    Role role;
    const nghttp2_session_callbacks* callbacks;
    void* user_data;  // what the callbacks get: the derived session
    const Settings& settings;
    std::string_view log_name;  // starts the log lines: "http2 client"
    std::string_view peer;      // the other end in log lines: "upstream"
    // The server looks at each frame header before nghttp2 processes the frame
    // (inspectFrame()).
    bool inspect_frames = false;
  };

  // Creates the session and queues the preface's SETTINGS (the client's ENABLE_PUSH 0 or the
  // server's MAX_CONCURRENT_STREAMS, then INITIAL_WINDOW_SIZE and MAX_HEADER_LIST_SIZE) and a
  // larger connection window. Received DATA is acknowledged (WINDOW_UPDATE) only as the reader
  // takes it, so flow control is backpressure.
  SessionBase(const Executor& executor, const Params& params);

  // Work due at a time besides keepalive: runTimers() runs at the start of produce(), and the
  // writer wakes for it at nextTimer().
  virtual void runTimers(Clock::time_point) {}
  virtual Clock::time_point nextTimer() const { return Clock::time_point::max(); }
  // Streams open on the connection, the one whose message was just queued among them.
  virtual size_t streamsInFlight() const = 0;
  // With Params::inspect_frames: a frame header from the peer, before nghttp2 processes the
  // frame (needsState(): after the frames before it), and what to do with the frame: pass it
  // on, answer it with RST_STREAM, or end the session with GOAWAY.
  virtual bool needsState(const FrameHeader&) const { return false; }
  virtual FrameVerdict inspectFrame(const FrameHeader&) { return {}; }
  // What receive() fed has been processed, and nghttp2 has returned.
  virtual void afterReceive() {}
  // Ends the session with GOAWAY(code) naming the last stream processed.
  void terminate(uint32_t code);

  Executor executor_;
  const Settings& settings_;
  nghttp2_session* session_ = nullptr;
  bool closing_ = false;         // the connection is gone (abort())
  bool output_stopped_ = false;  // produce() sends nothing more
  bool fatal_ = false;
  bool terminated_ = false;  // terminate() queued the final GOAWAY

 private:
  // Sends the PING that is due, or marks the session unresponsive. False when it is.
  bool keepalive(Clock::time_point now);
  // Hands bytes to nghttp2. False: a protocol error ended the session.
  bool feed(const uint8_t* data, size_t size);
  // feed(), split at frame headers for inspectFrame().
  bool feedFrames(const uint8_t* data, size_t size);

  Signal output_;
  FrameFlusher* flusher_ = nullptr;
  unsigned queued_messages_ = 0;  // since the last flushFrames()
  bool in_nghttp2_ = false;       // in receive() or produce(): nghttp2 must not be re-entered
  bool flush_after_receive_ = false;
  Keepalive keepalive_;
  bool inspect_frames_;
  FrameScanner scanner_;
  std::string_view log_name_;
  std::string_view peer_;
  bool unresponsive_ = false;
};

}  // namespace weft::http::http2
