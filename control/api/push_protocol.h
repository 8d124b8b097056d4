#pragma once

// The control stream between weft-proxy and weft-control (docs/control-protocol.md): one
// long-lived HTTP/2 stream (POST /v1/stream over mTLS to --listen) whose request body carries
// the proxy's messages and whose response body carries the control plane's, each one line of
// JSON. Both sides use these types, so what one writes the other reads.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "absl/status/statusor.h"
#include "control/api/resources.h"

namespace weft::api::push {

inline constexpr std::string_view kStreamPath = "/v1/stream";
inline constexpr std::string_view kContentType = "application/x-ndjson";
// One message, a line; a config push of a proxy's whole scope fits easily.
inline constexpr size_t kMaxMessageBytes = 16 << 20;

// Who the proxy is and what it serves: its registration in the Service's endpoints.
struct Node {
  std::string service;
  std::string ns;
  Labels labels;
  // Where peers reach its inbound port: "HOST:PORT", or ":PORT" for "the address I connect
  // from" (the pod IP).
  std::string address;
  // Services outside its namespace it calls ("NS/NAME"); its own namespace is always in scope.
  std::vector<std::string> egress;
  // Where its admin port serves /metrics, as `address` is written ("" when it did not say).
  std::string admin = {};
};

// A resource as pushed: "Kind/ns/name", a version that changes with its content, the object.
struct Resource {
  std::string key;
  std::string version;
  nlohmann::json object;
};

// proxy -> control, first: who it is and what it already holds (from before a reconnect, or
// its cache), so only the difference is sent.
struct Hello {
  Node node;
  std::string version;                      // of the config held; "" for none
  std::map<std::string, std::string> held;  // key -> version
};

// control -> proxy: the changes since what the proxy holds. Applied whole or not at all.
struct Update {
  std::string version;
  std::string nonce;
  std::vector<Resource> resources;   // added or changed
  std::vector<std::string> removed;  // keys
};

// proxy -> control: the update with `nonce` is in force (ACK) or was refused (NACK, `error` set;
// the proxy keeps what it had).
struct Ack {
  std::string nonce;
  std::string version;
  std::optional<std::string> error;
};

// One line each (with its '\n').
std::string encode(const Hello& m);
std::string encode(const Update& m);
std::string encode(const Ack& m);
std::string encodePing();

// What one line held. A line that is not one of these is InvalidArgument naming why.
struct Message {
  enum class Type { kHello, kUpdate, kAck, kPing };
  Type type = Type::kPing;
  Hello hello;
  Update update;
  Ack ack;
};
absl::StatusOr<Message> decode(std::string_view line);

// A version for an object's content (hex of a 64-bit hash of its JSON).
std::string contentVersion(const nlohmann::json& object);

// Bytes in, whole lines out, at most kMaxMessageBytes pending.
class LineReader {
 public:
  // Appends; ResourceExhausted once a line grows past the limit.
  absl::Status append(std::string_view bytes);
  // The next whole line, without its '\n'.
  std::optional<std::string> next();

 private:
  std::string buffer_;
  size_t scanned_ = 0;
};

}  // namespace weft::api::push
