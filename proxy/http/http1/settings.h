#pragma once

#include <chrono>
#include <cstddef>

namespace weft::http::http1 {

// Read buffer each HTTP/1.1 connection keeps: Beast reads at most the free capacity of its
// buffer per call, and an empty buffer means 512-byte reads (and as many writes downstream).
inline constexpr size_t kReadBufferBytes = 8 * 1024;

struct Settings {
  size_t max_header_bytes = 64 * 1024;
  std::chrono::steady_clock::duration idle_timeout = std::chrono::seconds(60);
  std::chrono::steady_clock::duration read_timeout = std::chrono::seconds(60);
};

}  // namespace weft::http::http1
