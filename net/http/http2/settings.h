#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>

namespace weft::http::http2 {

// What the HTTP/2 codecs advertise and how much they buffer (fixed), then the run-time Settings.
inline constexpr uint32_t kMaxConcurrentStreams = 100;
// Per-stream receive window: the most request body buffered per stream before the pipeline
// reads it (flow control holds back a faster uploader).
inline constexpr int32_t kStreamWindow = 1 << 20;
// Connection receive window: bounds what all streams of one connection buffer together.
inline constexpr int32_t kConnectionWindow = 8 << 20;
// Response body queued per stream before sendResponseBody waits for the client to take it.
inline constexpr size_t kMaxQueuedResponseBytes = 64 * 1024;
// Socket reads and the largest batch of frames gathered into one write.
inline constexpr size_t kReadChunk = 16 * 1024;
inline constexpr size_t kWriteBatch = 64 * 1024;
// Messages (a request's HEADERS, a response's end) queued before they are written at once
// rather than when the writer next runs (SessionBase::messageQueued). With one batch per round
// of the event loop, a burst on many connections crossed the sidecar hop as one batch, and
// each proxy sat idle while the other worked through it; halves of a 32-request burst keep
// both busy, and fewer writes per burst than one per message keep the cost of a request low.
// A message alone on its connection is written at once whatever the count.
inline constexpr unsigned kFlushAfterMessages = 16;
// Between the drain's shutdown notice (GOAWAY with the maximum stream id) and the final GOAWAY,
// so requests already on the wire are still taken.
inline constexpr std::chrono::milliseconds kGoawayGrace{1000};
// PING ACKs nghttp2 queues before it treats the peer as a PING flood and ends the session
// (nghttp2's own default, set explicitly so the protection stays on).
inline constexpr size_t kMaxOutboundAck = 1000;
// Entries one SETTINGS frame may carry, and CONTINUATION frames one header block may span,
// before nghttp2 ends the session (its defaults, set explicitly: the CONTINUATION bound is the
// CVE-2024-27316 fix).
inline constexpr size_t kMaxSettingsEntries = 32;
inline constexpr size_t kMaxContinuations = 8;

// PING keepalive (RFC 9113 §6.7), on client and server connections alike and whether streams
// are open or not (as Linkerd's and Envoy's HTTP/2 keepalive): after `interval` without a byte
// from the peer a PING goes out; when nothing at all (the ACK or any other frame) arrives within
// `timeout` of it, the peer is gone and the connection is closed. Defaults: 10 s, Linkerd's
// interval; 5 s to answer, longer than Linkerd's 3 s so that a peer on a busy 2-core node is
// not cut off, and a dead peer is still noticed within 15 s, well before the 60 s read and idle
// deadlines.
inline constexpr std::chrono::milliseconds kKeepaliveInterval{10000};
inline constexpr std::chrono::milliseconds kKeepaliveTimeout{5000};

struct KeepaliveSettings {
  // Zero turns keepalive off.
  std::chrono::steady_clock::duration interval = kKeepaliveInterval;
  std::chrono::steady_clock::duration timeout = kKeepaliveTimeout;
};

// What a connection's owner chooses for it: the proxy from its command line, the control plane
// for its long-lived streams.
struct Settings {
  // Header list, advertised as SETTINGS_MAX_HEADER_LIST_SIZE and enforced on both sides.
  size_t max_header_bytes = 64 * 1024;
  // A server connection without open streams is closed after this.
  std::chrono::steady_clock::duration idle_timeout = std::chrono::seconds(60);
  // How long one stream waits for the peer's progress (a response head, body bytes, window to
  // send into) before it is cancelled with `timeout`. A stream that may rightly be quiet for
  // minutes (a watch, a push stream) needs a longer one; keepalive still notices a dead peer.
  std::chrono::steady_clock::duration read_timeout = std::chrono::seconds(60);
  // Replaces read_timeout for each direction of an open tunnel (a WebSocket).
  std::chrono::steady_clock::duration tunnel_idle_timeout = std::chrono::seconds(3600);
  // Server budgets per connection (AbuseLimits; 0: no limit).
  uint32_t max_premature_resets = 100;
  uint32_t max_control_frames = 1000;  // per second
  KeepaliveSettings keepalive;
};

// The HTTP/2 connection preface a client sends first (RFC 9113 §3.4).
inline constexpr char kClientPreface[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
inline constexpr size_t kClientPrefaceSize = sizeof(kClientPreface) - 1;

}  // namespace weft::http::http2
