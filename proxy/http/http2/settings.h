#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>

namespace weft::http::http2 {

// What the HTTP/2 server codec advertises and how much it buffers. Deadlines and the header-list
// limit come from the connection's http1::Settings (the same command-line options).
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
// Between the drain's shutdown notice (GOAWAY with the maximum stream id) and the final GOAWAY,
// so requests already on the wire are still taken.
inline constexpr std::chrono::milliseconds kGoawayGrace{1000};

// The HTTP/2 connection preface a client sends first (RFC 9113 §3.4).
inline constexpr char kClientPreface[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
inline constexpr size_t kClientPrefaceSize = sizeof(kClientPreface) - 1;

}  // namespace weft::http::http2
