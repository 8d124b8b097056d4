#pragma once

// HTTP/2 frames written and read byte by byte (RFC 9113 §4.1), for tests that play a peer the
// codecs cannot be made to meet otherwise: one that withholds answers, resets, or never
// acknowledges a PING.

#include <cstdint>
#include <string>
#include <vector>

#include <boost/asio/write.hpp>

#include "net/asio.h"
#include "net/http/http2/settings.h"

namespace weft::http::http2::rawframes {

inline constexpr uint8_t kHeaders = 1;
inline constexpr uint8_t kSettings = 4;
inline constexpr uint8_t kPing = 6;
inline constexpr uint8_t kAck = 0x1;

inline std::string frame(uint8_t type, uint8_t flags, uint32_t stream, const std::string& payload) {
  std::string f;
  f.push_back(static_cast<char>(payload.size() >> 16));
  f.push_back(static_cast<char>(payload.size() >> 8));
  f.push_back(static_cast<char>(payload.size()));
  f.push_back(static_cast<char>(type));
  f.push_back(static_cast<char>(flags));
  for (int shift = 24; shift >= 0; shift -= 8) f.push_back(static_cast<char>(stream >> shift));
  return f + payload;
}

inline std::string u32(uint32_t v) {
  return {static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8),
          static_cast<char>(v)};
}

struct Frame {
  uint8_t type = 0;
  uint8_t flags = 0;
  uint32_t stream = 0;
  std::string payload;
};

// Takes the whole frames off the front of `buffer`; a partial one stays.
inline std::vector<Frame> takeFrames(std::string& buffer) {
  std::vector<Frame> frames;
  size_t off = 0;
  while (buffer.size() - off >= 9) {
    const auto byte = [&](size_t i) { return static_cast<uint8_t>(buffer[off + i]); };
    const size_t length = (size_t{byte(0)} << 16) | (size_t{byte(1)} << 8) | byte(2);
    if (buffer.size() - off < 9 + length) break;
    Frame f;
    f.type = byte(3);
    f.flags = byte(4);
    f.stream = ((uint32_t{byte(5)} << 24) | (uint32_t{byte(6)} << 16) | (uint32_t{byte(7)} << 8) |
                byte(8)) &
               0x7fffffffu;
    f.payload = buffer.substr(off + 9, length);
    frames.push_back(std::move(f));
    off += 9 + length;
  }
  buffer.erase(0, off);
  return frames;
}

// What a framePeer saw.
struct PeerLog {
  int pings = 0;        // PINGs received (not ACKs)
  bool closed = false;  // the other side closed the connection (or the read failed)
};

// Plays one end of an HTTP/2 connection on `socket`: writes `hello` (the frames to start with),
// then reads frames until the other side closes, answering each PING with its ACK when
// `ack_pings`. `client_preface`: the other side is a client, whose preface comes first.
inline awaitable<void> framePeer(tcp::socket& socket, const std::string& hello, bool ack_pings,
                                 bool client_preface, PeerLog& log) {
  co_await asio::async_write(socket, asio::buffer(hello), kUseTuple);
  std::string in;
  size_t preface = client_preface ? kClientPrefaceSize : 0;
  char buffer[16384];
  for (;;) {
    auto [ec, n] = co_await socket.async_read_some(asio::buffer(buffer), kUseTuple);
    in.append(buffer, n);
    const size_t skip = std::min(preface, in.size());
    in.erase(0, skip);
    preface -= skip;
    for (const Frame& f : takeFrames(in)) {
      if (f.type != kPing || (f.flags & kAck) != 0) continue;
      ++log.pings;
      if (!ack_pings) continue;
      const std::string ack = frame(kPing, kAck, 0, f.payload);
      co_await asio::async_write(socket, asio::buffer(ack), kUseTuple);
    }
    if (ec) break;
  }
  log.closed = true;
}

}  // namespace weft::http::http2::rawframes
