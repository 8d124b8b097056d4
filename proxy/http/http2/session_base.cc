#include "proxy/http/http2/session_base.h"

#include <algorithm>

#include "proxy/common/log.h"

namespace weft::http::http2 {

SessionBase::SessionBase(const Executor& executor, const Params& params)
    : executor_(executor),
      settings_(params.settings),
      output_(executor),
      keepalive_(params.keepalive, Clock::now()),
      log_name_(params.log_name),
      peer_(params.peer) {
  nghttp2_option* option = nullptr;
  nghttp2_option_new(&option);
  nghttp2_option_set_no_auto_window_update(option, 1);
  nghttp2_option_set_no_closed_streams(option, 1);
  nghttp2_option_set_max_outbound_ack(option, kMaxOutboundAck);
  if (params.role == Role::kServer) {
    nghttp2_session_server_new2(&session_, params.callbacks, params.user_data, option);
  } else {
    nghttp2_session_client_new2(&session_, params.callbacks, params.user_data, option);
  }
  nghttp2_option_del(option);

  const nghttp2_settings_entry entries[] = {
      params.role == Role::kServer
          ? nghttp2_settings_entry{NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, kMaxConcurrentStreams}
          : nghttp2_settings_entry{NGHTTP2_SETTINGS_ENABLE_PUSH, 0},
      {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, static_cast<uint32_t>(kStreamWindow)},
      {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE,
       static_cast<uint32_t>(params.settings.max_header_bytes)},
  };
  nghttp2_submit_settings(session_, NGHTTP2_FLAG_NONE, entries, std::size(entries));
  nghttp2_session_set_local_window_size(session_, NGHTTP2_FLAG_NONE, 0, kConnectionWindow);
}

// nghttp2_session_del calls no callbacks, so the derived session's streams may go before it.
SessionBase::~SessionBase() { nghttp2_session_del(session_); }

bool SessionBase::receive(const uint8_t* data, size_t size) {
  if (keepalive_.enabled()) keepalive_.received(Clock::now());
  bool ok = true;
  in_nghttp2_ = true;
  const ssize_t rv = nghttp2_session_mem_recv(session_, data, size);
  in_nghttp2_ = false;
  if (flush_after_receive_) {
    flush_after_receive_ = false;
    if (flusher_ != nullptr && !closing_) flusher_->flushFrames();
  }
  if (rv < 0) {
    // A protocol error: the session ends with GOAWAY(PROTOCOL_ERROR), unless even that cannot
    // be queued.
    log::info("http2 connection error from ", peer_, ": ", nghttp2_strerror(static_cast<int>(rv)));
    if (nghttp2_session_terminate_session(session_, NGHTTP2_PROTOCOL_ERROR) != 0) fatal_ = true;
    ok = false;
  }
  if (!ok || nghttp2_session_want_write(session_)) wakeWriter();
  return ok && !finished() && nghttp2_session_want_read(session_);
}

bool SessionBase::produce(std::string& out, size_t limit) {
  if (fatal_ || output_stopped_) return false;
  const Clock::time_point now = Clock::now();
  if (!closing_ && !keepalive(now)) return false;
  runTimers(now);
  while (out.size() < limit) {
    const uint8_t* data = nullptr;
    in_nghttp2_ = true;
    const ssize_t n = nghttp2_session_mem_send(session_, &data);
    in_nghttp2_ = false;
    if (n < 0) {
      log::warn(log_name_, " session failed: ", nghttp2_strerror(static_cast<int>(n)));
      fatal_ = true;
      return false;
    }
    if (n == 0) break;
    out.append(reinterpret_cast<const char*>(data), static_cast<size_t>(n));
  }
  return true;
}

void SessionBase::messageQueued() {
  ++queued_messages_;
  // A message whose stream is the only one in flight has nothing to share a write with.
  const bool now = queued_messages_ >= kFlushAfterMessages || streamsInFlight() <= 1;
  if (!now || flusher_ == nullptr || closing_) {
    wakeWriter();
    return;
  }
  queued_messages_ = 0;
  if (in_nghttp2_) {
    // A stream's handler runs inside nghttp2's callback (co_spawn starts it at once), where
    // nghttp2 must not be asked for frames: receive() flushes when nghttp2 has returned.
    flush_after_receive_ = true;
    wakeWriter();
    return;
  }
  flusher_->flushFrames();
}

bool SessionBase::keepalive(Clock::time_point now) {
  switch (keepalive_.poll(now)) {
    case Keepalive::Due::kNothing:
      return true;
    case Keepalive::Due::kPing:
      nghttp2_submit_ping(session_, NGHTTP2_FLAG_NONE, nullptr);
      return true;
    case Keepalive::Due::kDead:
      break;
  }
  const auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(keepalive_.settings().timeout);
  log::info(log_name_, " connection closed: the ", peer_, " did not answer a PING within ",
            ms.count(), " ms");
  unresponsive_ = true;
  fatal_ = true;
  return false;
}

bool SessionBase::finished() const {
  return fatal_ || (!nghttp2_session_want_read(session_) && !nghttp2_session_want_write(session_));
}

awaitable<void> SessionBase::waitForOutput() {
  co_await output_.waitUntil(std::min(keepalive_.next(), nextTimer()));
}

}  // namespace weft::http::http2
