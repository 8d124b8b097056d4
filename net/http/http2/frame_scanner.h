#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>

#include "net/http/http2/settings.h"

namespace weft::http::http2 {

// The 9-byte header of one HTTP/2 frame (RFC 9113 §4.1).
struct FrameHeader {
  uint32_t length = 0;
  uint8_t type = 0;
  uint8_t flags = 0;
  int32_t stream_id = 0;
};

// Finds the frame boundaries in what a client sends, so the server can look at each frame's
// header before nghttp2 processes the frame: skips the client preface, then alternates between a
// header (possibly split across reads) and its payload. It only counts bytes; nghttp2 still
// parses and validates everything.
class FrameScanner {
 public:
  // The next piece of `size` bytes that lies within one step: part of the preface or of a
  // payload (`header` false), or the rest of a frame header (`header` true once it is complete).
  struct Piece {
    size_t size = 0;
    bool header = false;  // the piece completes a frame header: frame() describes it
  };

  Piece next(const uint8_t* data, size_t size) {
    if (preface_left_ > 0) {
      const size_t n = std::min(preface_left_, size);
      preface_left_ -= n;
      return {n, false};
    }
    if (payload_left_ > 0) {
      const size_t n = std::min<size_t>(payload_left_, size);
      payload_left_ -= static_cast<uint32_t>(n);
      return {n, false};
    }
    const size_t n = std::min(kHeaderSize - header_len_, size);
    std::copy_n(data, n, header_ + header_len_);
    header_len_ += n;
    if (header_len_ < kHeaderSize) return {n, false};
    header_len_ = 0;
    frame_.length = (uint32_t{header_[0]} << 16) | (uint32_t{header_[1]} << 8) | header_[2];
    frame_.type = header_[3];
    frame_.flags = header_[4];
    frame_.stream_id =
        static_cast<int32_t>(((uint32_t{header_[5]} << 24) | (uint32_t{header_[6]} << 16) |
                              (uint32_t{header_[7]} << 8) | header_[8]) &
                             0x7fffffffu);
    payload_left_ = frame_.length;
    return {n, true};
  }

  const FrameHeader& frame() const { return frame_; }

 private:
  static constexpr size_t kHeaderSize = 9;

  size_t preface_left_ = kClientPrefaceSize;
  uint32_t payload_left_ = 0;
  uint8_t header_[kHeaderSize] = {};
  size_t header_len_ = 0;
  FrameHeader frame_;
};

}  // namespace weft::http::http2
