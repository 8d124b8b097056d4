#include "net/http/http2/abuse_guard.h"

#include <algorithm>

#include <nghttp2/nghttp2.h>

namespace weft::http::http2 {
namespace {

// PING is not counted: gRPC clients send one per round trip while data flows (BDP estimation),
// thousands a second on a fast link. A PING flood costs the server one ACK each, and nghttp2
// ends a connection that lets more than kMaxOutboundAck of them pile up unread.
bool isControlFrame(const FrameHeader& frame) {
  switch (frame.type) {
    case NGHTTP2_SETTINGS:
      return (frame.flags & NGHTTP2_FLAG_ACK) == 0;
    case NGHTTP2_PRIORITY:
      return true;
    case NGHTTP2_DATA:  // empty and not the end: it moves nothing (CVE-2019-9518)
      return frame.length == 0 && (frame.flags & NGHTTP2_FLAG_END_STREAM) == 0;
    default:
      return false;
  }
}

constexpr FrameVerdict kPass{};

FrameVerdict connectionError(uint32_t code) {
  return {FrameVerdict::Action::kConnectionError, code};
}

}  // namespace

bool AbuseGuard::needsStreamState(const FrameHeader& frame) const {
  return (frame.type == NGHTTP2_DATA || frame.type == NGHTTP2_HEADERS) &&
         (frame.stream_id & 1) == 1 && frame.stream_id <= max_stream_id_;
}

FrameVerdict AbuseGuard::frame(const FrameHeader& frame, bool stream_open, Clock::time_point now) {
  if (isControlFrame(frame) && !controlFrame(now)) {
    return connectionError(NGHTTP2_ENHANCE_YOUR_CALM);
  }
  if (frame.type == NGHTTP2_HEADERS && (frame.stream_id & 1) == 1 &&
      frame.stream_id > max_stream_id_) {
    max_stream_id_ = frame.stream_id;
    ++streams_opened_;
    history_.emplace_back(frame.stream_id, StreamEnd::kOpen);
    if (history_.size() > kHistory) {
      forgotten_up_to_ = history_.front().first;
      history_.pop_front();
    }
    return kPass;
  }
  if (!needsStreamState(frame) || stream_open) return kPass;
  const bool headers = frame.type == NGHTTP2_HEADERS;
  if (frame.stream_id <= forgotten_up_to_) return kPass;
  StreamEnd* end = find(frame.stream_id);
  if (end == nullptr) {
    // Skipped: the client opened a higher stream id first, which closed this one (§5.1.1).
    return connectionError(headers ? NGHTTP2_PROTOCOL_ERROR : NGHTTP2_STREAM_CLOSED);
  }
  switch (*end) {
    case StreamEnd::kPeerReset:
      // Each answer costs a frame: they count against the control-frame budget.
      if (!controlFrame(now)) return connectionError(NGHTTP2_ENHANCE_YOUR_CALM);
      return {FrameVerdict::Action::kStreamError, NGHTTP2_STREAM_CLOSED};
    case StreamEnd::kCompleted:
      return connectionError(NGHTTP2_STREAM_CLOSED);
    case StreamEnd::kOpen:
    case StreamEnd::kLocalReset:
      break;
  }
  return kPass;
}

bool AbuseGuard::prematureReset() {
  ++premature_resets_;
  if (limits_.max_premature_resets == 0 || premature_resets_ <= limits_.max_premature_resets) {
    return true;
  }
  // A client that cancels now and then, among many completed requests, stays within budget.
  return uint64_t{premature_resets_} * 2 <= streams_opened_;
}

void AbuseGuard::streamEnded(int32_t stream_id, StreamEnd how) {
  StreamEnd* end = find(stream_id);
  if (end == nullptr) return;
  if (*end == StreamEnd::kOpen) *end = how;  // the first end seen is how it ended
}

bool AbuseGuard::controlFrame(Clock::time_point now) {
  if (limits_.max_control_frames == 0) return true;
  if (now - window_start_ >= std::chrono::seconds(1)) {
    window_start_ = now;
    control_frames_ = 0;
  }
  return ++control_frames_ <= limits_.max_control_frames;
}

StreamEnd* AbuseGuard::find(int32_t stream_id) {
  auto it = std::lower_bound(history_.begin(), history_.end(), stream_id,
                             [](const auto& entry, int32_t id) { return entry.first < id; });
  if (it == history_.end() || it->first != stream_id) return nullptr;
  return &it->second;
}

}  // namespace weft::http::http2
