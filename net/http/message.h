#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace weft::http {

// Codec-neutral message heads. Header names are lowercase (as in HTTP/2); hop-by-hop headers,
// Host and framing headers never appear here: codecs translate them to and from `authority`
// and `Body`.
struct Header {
  std::string name;
  std::string value;
};

class HeaderMap {
 public:
  void add(std::string name, std::string value) {
    // Room for a typical head at once instead of growing 1, 2, 4, 8.
    if (headers_.capacity() == 0) headers_.reserve(kTypicalCount);
    headers_.push_back({std::move(name), std::move(value)});
  }
  // First value of `name` (lowercase), or nullptr.
  const std::string* get(std::string_view name) const {
    for (const auto& h : headers_) {
      if (h.name == name) return &h.value;
    }
    return nullptr;
  }
  void remove(std::string_view name) {
    std::erase_if(headers_, [&](const Header& h) { return h.name == name; });
  }
  void set(std::string name, std::string value) {
    remove(name);
    add(std::move(name), std::move(value));
  }
  auto begin() const { return headers_.begin(); }
  auto end() const { return headers_.end(); }
  size_t size() const { return headers_.size(); }
  void reserve(size_t n) { headers_.reserve(n); }

 private:
  static constexpr size_t kTypicalCount = 8;

  std::vector<Header> headers_;
};

// How a message's body is framed, independent of the wire codec.
struct Body {
  bool present = false;            // false: the message ends with its head
  std::optional<uint64_t> length;  // known length (content-length); else streamed
};

struct RequestHead {
  std::string method;
  std::string scheme = "http";
  std::string authority;  // Host or :authority, as the client sent it
  std::string path;       // origin-form target: path and query
  HeaderMap headers;
  Body body;
  // A tunnel asked for, by its protocol's lowercase name ("websocket"): an HTTP/1.1 Upgrade, or
  // an HTTP/2 extended CONNECT's :protocol (RFC 8441), then method GET. Empty for a plain
  // request. Once the upstream answers kTunnelOpen, the request and response bodies are the
  // tunnel's two directions, raw bytes until each side ends.
  std::string upgrade;
};

// The response status that opens a tunnel, whatever the codec: HTTP/1.1 101 Switching
// Protocols, HTTP/2 a 2xx to an extended CONNECT.
inline constexpr unsigned kTunnelOpen = 101;

struct ResponseHead {
  unsigned status = 0;
  HeaderMap headers;
  Body body;
};

// Headers the proxy owns: never taken from a client.
inline constexpr std::string_view kPeerIdentityHeader = "x-weft-peer-identity";
inline constexpr std::string_view kErrorHeader = "x-weft-error";
// Set by the client sidecar on a request its app sent as HTTP/1.x, which then travels to the
// server sidecar over HTTP/2: that sidecar delivers it to its app as HTTP/1.1 again (Linkerd's
// l5d-orig-proto). Value: "HTTP/1.1".
inline constexpr std::string_view kOrigProtoHeader = "x-weft-orig-proto";

}  // namespace weft::http
