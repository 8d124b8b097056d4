#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <utility>

#include "net/http/http2/frame_scanner.h"

namespace weft::http::http2 {

// Per-connection budgets against HTTP/2 abuse by a client (see docs/http2-limits.md).
struct AbuseLimits {
  // Streams the client may reset before their response began (rapid reset, CVE-2023-44487).
  // Beyond it, and once such resets are more than half of the streams opened on the connection,
  // the connection ends with GOAWAY(ENHANCE_YOUR_CALM). 0: no limit.
  uint32_t max_premature_resets = 100;
  // Frames that carry no request per second: SETTINGS, PRIORITY, empty DATA without
  // END_STREAM, frames on streams the client itself reset (CVE-2019-9515/9518). PING floods
  // (CVE-2019-9512) are nghttp2's: kMaxOutboundAck.
  // Beyond it: GOAWAY(ENHANCE_YOUR_CALM). 0: no limit.
  uint32_t max_control_frames = 1000;
};

// What the server does with a frame before nghttp2 sees it.
struct FrameVerdict {
  enum class Action {
    kPass,             // nghttp2 handles it
    kStreamError,      // RST_STREAM(code) on the frame's stream; nghttp2 then ignores the frame
    kConnectionError,  // GOAWAY(code): the connection ends
  };
  Action action = Action::kPass;
  uint32_t code = 0;
};

// How a stream the client opened ended, as far as the server knows.
enum class StreamEnd : uint8_t {
  kOpen,        // still open, or ended in a way nghttp2 keeps to itself (refused)
  kPeerReset,   // the client sent RST_STREAM
  kCompleted,   // both sides sent END_STREAM
  kLocalReset,  // the server reset it: frames in flight from the client are ignored
};

// The server's checks on a client's frames that nghttp2 does not make: the rapid-reset and
// control-frame budgets, and RFC 9113 §5.1 on streams nghttp2 has forgotten (it keeps no closed
// streams, and silently ignores frames on them): a frame on a stream the client reset is a stream
// error STREAM_CLOSED; DATA or HEADERS after both sides ended the stream, a connection error
// STREAM_CLOSED; HEADERS on a stream id the client skipped (numerically smaller than one it used
// already), a connection error PROTOCOL_ERROR. Frames on streams the server reset itself are
// ignored, as RFC 9113 §5.4.2 asks: the client may have sent them before it saw the reset.
// Pure bookkeeping, fed the time by its caller. Remembers how the last kHistory streams ended.
class AbuseGuard {
 public:
  using Clock = std::chrono::steady_clock;
  static constexpr size_t kHistory = 128;

  explicit AbuseGuard(const AbuseLimits& limits) : limits_(limits) {}

  // Whether frame() needs `stream_open` to be current: the frames before it must have been
  // processed. Only DATA and HEADERS on a stream id already used need that.
  bool needsStreamState(const FrameHeader& frame) const;
  // A frame header from the client, before nghttp2 processes the frame. `stream_open`: nghttp2
  // has the frame's stream (only looked at when needsStreamState()).
  FrameVerdict frame(const FrameHeader& frame, bool stream_open, Clock::time_point now);
  // The client reset a stream before its response began. False: over the budget.
  bool prematureReset();
  void streamEnded(int32_t stream_id, StreamEnd how);

  uint32_t prematureResets() const { return premature_resets_; }
  uint32_t streamsOpened() const { return streams_opened_; }

 private:
  // False: over the control-frame budget.
  bool controlFrame(Clock::time_point now);
  // How a stream id ended: nullptr when it is older than the history, or was never opened.
  StreamEnd* find(int32_t stream_id);

  AbuseLimits limits_;
  int32_t max_stream_id_ = 0;  // the highest stream the client opened
  uint32_t streams_opened_ = 0;
  uint32_t premature_resets_ = 0;
  uint32_t control_frames_ = 0;  // in the window that started at window_start_
  Clock::time_point window_start_{};
  std::deque<std::pair<int32_t, StreamEnd>> history_;  // ascending stream ids
  int32_t forgotten_up_to_ = 0;  // how streams up to this id ended is no longer known
};

}  // namespace weft::http::http2
