#include "net/http/http2/session_base.h"

#include <algorithm>

#include "net/log.h"

namespace weft::http::http2 {

SessionBase::SessionBase(const Executor& executor, const Params& params)
    : executor_(executor),
      settings_(params.settings),
      output_(executor),
      keepalive_(params.settings.keepalive, Clock::now()),
      inspect_frames_(params.inspect_frames),
      log_name_(params.log_name),
      peer_(params.peer) {
  nghttp2_option* option = nullptr;
  nghttp2_option_new(&option);
  nghttp2_option_set_no_auto_window_update(option, 1);
  nghttp2_option_set_no_closed_streams(option, 1);
  nghttp2_option_set_max_outbound_ack(option, kMaxOutboundAck);
  nghttp2_option_set_max_settings(option, kMaxSettingsEntries);
  nghttp2_option_set_max_continuations(option, kMaxContinuations);
  if (params.role == Role::kServer) {
    nghttp2_session_server_new2(&session_, params.callbacks, params.user_data, option);
  } else {
    nghttp2_session_client_new2(&session_, params.callbacks, params.user_data, option);
  }
  nghttp2_option_del(option);

  const bool server = params.role == Role::kServer;
  const nghttp2_settings_entry entries[] = {
      server
          ? nghttp2_settings_entry{NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, kMaxConcurrentStreams}
          : nghttp2_settings_entry{NGHTTP2_SETTINGS_ENABLE_PUSH, 0},
      {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, static_cast<uint32_t>(kStreamWindow)},
      {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE,
       static_cast<uint32_t>(params.settings.max_header_bytes)},
      // WebSockets over HTTP/2 (RFC 8441): a server takes extended CONNECT. Last, so that a
      // client, which must not send it, leaves it out by count.
      {NGHTTP2_SETTINGS_ENABLE_CONNECT_PROTOCOL, 1},
  };
  nghttp2_submit_settings(session_, NGHTTP2_FLAG_NONE, entries,
                          std::size(entries) - (server ? 0 : 1));
  nghttp2_session_set_local_window_size(session_, NGHTTP2_FLAG_NONE, 0, kConnectionWindow);
}

// nghttp2_session_del calls no callbacks, so the derived session's streams may go before it.
SessionBase::~SessionBase() { nghttp2_session_del(session_); }

bool SessionBase::receive(const uint8_t* data, size_t size) {
  if (keepalive_.enabled()) keepalive_.received(Clock::now());
  in_nghttp2_ = true;
  const bool ok = inspect_frames_ ? feedFrames(data, size) : feed(data, size);
  in_nghttp2_ = false;
  afterReceive();
  if (flush_after_receive_) {
    flush_after_receive_ = false;
    if (flusher_ != nullptr && !closing_) flusher_->flushFrames();
  }
  if (!ok || nghttp2_session_want_write(session_)) wakeWriter();
  return ok && !terminated_ && !finished() && nghttp2_session_want_read(session_);
}

bool SessionBase::feed(const uint8_t* data, size_t size) {
  if (size == 0) return true;
  const ssize_t rv = nghttp2_session_mem_recv(session_, data, size);
  if (rv >= 0) return true;
  // A protocol error: the session ends with GOAWAY(PROTOCOL_ERROR), unless even that cannot be
  // queued.
  log::info("http2 connection error from ", peer_, ": ", nghttp2_strerror(static_cast<int>(rv)));
  terminate(NGHTTP2_PROTOCOL_ERROR);
  return false;
}

bool SessionBase::feedFrames(const uint8_t* data, size_t size) {
  // Bytes are handed to nghttp2 in runs; a run ends only before a frame whose inspection needs
  // the frames before it processed, or that the inspection answers.
  const uint8_t* run = data;
  const uint8_t* const end = data + size;
  for (const uint8_t* pos = data; pos < end;) {
    const FrameScanner::Piece piece = scanner_.next(pos, static_cast<size_t>(end - pos));
    if (!piece.header) {
      pos += piece.size;
      continue;
    }
    // The piece is the rest of a frame header: what came before it (earlier frames; the
    // header's first bytes, from an earlier read, nghttp2 only buffers) may go to nghttp2 now.
    const FrameHeader& frame = scanner_.frame();
    if (needsState(frame)) {
      if (!feed(run, static_cast<size_t>(pos - run))) return false;
      run = pos;
    }
    const FrameVerdict verdict = inspectFrame(frame);
    if (verdict.action != FrameVerdict::Action::kPass) {
      if (!feed(run, static_cast<size_t>(pos - run))) return false;
      run = pos;
      if (verdict.action == FrameVerdict::Action::kConnectionError) {
        log::info(log_name_, " connection error from ", peer_, ": ",
                  nghttp2_http2_strerror(verdict.code), " (frame type ", int{frame.type},
                  " on stream ", frame.stream_id, ")");
        terminate(verdict.code);
        return false;
      }
      // A stream error: nghttp2 has forgotten the stream and ignores the frame itself.
      nghttp2_submit_rst_stream(session_, NGHTTP2_FLAG_NONE, frame.stream_id, verdict.code);
    }
    pos += piece.size;
  }
  return feed(run, static_cast<size_t>(end - run));
}

void SessionBase::terminate(uint32_t code) {
  terminated_ = true;
  if (nghttp2_session_terminate_session(session_, code) != 0) fatal_ = true;
  wakeWriter();
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
