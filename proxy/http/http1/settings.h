#pragma once

#include <chrono>
#include <cstddef>

namespace weft::http::http1 {

struct Settings {
  size_t max_header_bytes = 64 * 1024;
  std::chrono::steady_clock::duration idle_timeout = std::chrono::seconds(60);
  std::chrono::steady_clock::duration read_timeout = std::chrono::seconds(60);
};

}  // namespace weft::http::http1
