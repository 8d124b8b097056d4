#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include <nghttp2/nghttp2.h>

#include "proxy/common/asio.h"
#include "proxy/http/http1/settings.h"
#include "proxy/http/http2/keepalive.h"
#include "proxy/http/http2/settings.h"
#include "proxy/common/signal.h"

namespace weft::http::http2 {

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

  const http1::Settings& settings() const { return settings_; }

 protected:
  enum class Role { kClient, kServer };

  struct Params {
    Role role;
    const nghttp2_session_callbacks* callbacks;
    void* user_data;  // what the callbacks get: the derived session
    const http1::Settings& settings;
    KeepaliveSettings keepalive;
    std::string_view log_name;  // starts the log lines: "http2 client"
    std::string_view peer;      // the other end in log lines: "upstream"
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

  Executor executor_;
  const http1::Settings& settings_;
  nghttp2_session* session_ = nullptr;
  bool closing_ = false;         // the connection is gone (abort())
  bool output_stopped_ = false;  // produce() sends nothing more
  bool fatal_ = false;

 private:
  // Sends the PING that is due, or marks the session unresponsive. False when it is.
  bool keepalive(Clock::time_point now);

  Signal output_;
  Keepalive keepalive_;
  std::string_view log_name_;
  std::string_view peer_;
  bool unresponsive_ = false;
};

}  // namespace weft::http::http2
