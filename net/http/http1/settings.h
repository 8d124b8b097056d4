#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>

namespace weft::http::http1 {

// Read buffer each HTTP/1.1 connection keeps: Beast reads at most the free capacity of its
// buffer per call, and an empty buffer means 512-byte reads (and as many writes downstream).
inline constexpr size_t kReadBufferBytes = 8 * 1024;

// Bounds on what a chunked body makes the parser hold whole before it can take it: a chunk's
// size line (with its extensions) and the trailer section. Zero: unbounded.
struct ChunkLimits {
  size_t line_bytes = 0;
  size_t trailer_bytes = 0;
};

struct Settings {
  size_t max_header_bytes = 64 * 1024;     // a head, and a chunked body's trailers
  size_t max_chunk_line_bytes = 4 * 1024;  // a chunk's size line with its extensions
  std::chrono::steady_clock::duration idle_timeout = std::chrono::seconds(60);
  std::chrono::steady_clock::duration read_timeout = std::chrono::seconds(60);
  // Replaces read_timeout for each direction of an open tunnel (a WebSocket), which may rightly
  // be quiet for long.
  std::chrono::steady_clock::duration tunnel_idle_timeout = std::chrono::seconds(3600);

  ChunkLimits chunkLimits() const { return {max_chunk_line_bytes, max_header_bytes}; }
};

}  // namespace weft::http::http1
