#pragma once

// The proxy's side of the control stream (docs/control-protocol.md): one long-lived HTTP/2
// stream over mTLS to weft-control's --listen, with the proxy's current certificate. It says
// hello (its workload, and what it holds, so a reconnect resumes), then applies each update the
// control plane sends — whole, through `apply` — and answers ACK, or NACK with the reason while
// the last good config stays in force. A heartbeat goes each way every 10 s. When the stream
// ends it reconnects with exponential backoff (1 s doubling to 30 s) and jitter (±50%), so a
// thousand proxies do not come back in the same instant; until then routing goes on unchanged.

#include <chrono>
#include <deque>
#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "control/api/address.h"
#include "control/api/push_protocol.h"
#include "identity/credentials.h"
#include "net/asio.h"
#include "net/http/http2/client_stream.h"

namespace weft::proxy::control {

struct ControlStreamSettings {
  api::HostPort control;
  std::string trust_domain;
  api::push::Node node;
  std::chrono::milliseconds heartbeat{10000};
  std::chrono::milliseconds backoff_base{1000};
  std::chrono::milliseconds backoff_max{30000};
};

class ControlStream {
 public:
  // Applies an update: OK, or the NACK's reason (what was there stays).
  using Apply = std::function<absl::Status(const api::push::Update&)>;
  // What the hello says is held: version and key -> version.
  using Held = std::function<std::pair<std::string, std::map<std::string, std::string>>()>;
  using Credentials = std::function<std::shared_ptr<const identity::Credentials>()>;

  ControlStream(asio::io_context& io, ControlStreamSettings settings, Credentials credentials,
                Held held, Apply apply);
  ~ControlStream();

  void start();
  void stop();
  // "connected", or why not ("connecting", "control plane unreachable: …").
  const std::string& state() const { return state_; }

 private:
  // One stream, until it ends; the error that ended it.
  awaitable<absl::Status> session();
  awaitable<void> writer(http::http2::Http2ClientStream& stream);
  void send(std::string line);
  awaitable<void> loop();

  asio::io_context& io_;
  ControlStreamSettings settings_;
  Credentials credentials_;
  Held held_;
  Apply apply_;
  std::string expected_identity_;
  std::string state_ = "connecting";
  std::deque<std::string> outbox_;
  bool stopped_ = false;
  http::http2::Http2ClientStream* current_ = nullptr;
  asio::steady_timer wake_;
  asio::steady_timer retry_;
  asio::steady_timer writer_done_;
};

}  // namespace weft::proxy::control
