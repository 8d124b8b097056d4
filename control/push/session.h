#pragma once

// One proxy's control stream on weft-control: it reads the proxy's hello (who it is, what it
// holds), registers the workload, and from then on sends what changed in the proxy's scope —
// one update at a time, the next only after the ACK or NACK of the last — with a heartbeat
// both ways. A NACKed update is not sent again until the mesh changes. A proxy that does not
// read its stream fills a bounded window (HTTP/2 flow control, 64 KiB queued) and is cut off
// by the stream's read timeout; nothing else waits on it.

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "absl/status/status.h"
#include "control/api/push_protocol.h"
#include "control/push/mesh_snapshot.h"
#include "control/push/push_metrics.h"
#include "control/push/registry.h"
#include "net/asio.h"
#include "net/http/codec.h"

namespace weft::control::push {

// What a session takes from the service that owns it.
class SessionHost {
 public:
  virtual ~SessionHost() = default;
  virtual std::shared_ptr<const MeshSnapshot> snapshot() = 0;
  virtual Registry& registry() = 0;
  virtual PushMetrics& metrics() = 0;
  // Between heartbeats (and lease keep-alives).
  virtual std::chrono::milliseconds heartbeat() const = 0;
};

class ProxySession {
 public:
  ProxySession(Executor executor, SessionHost& host, http::ServerStream& stream,
               std::string identity, std::string serial, tcp::endpoint peer);
  ProxySession(const ProxySession&) = delete;
  ProxySession& operator=(const ProxySession&) = delete;

  // Until the stream ends (either side) or close().
  awaitable<void> run();
  // The mesh changed: compute what this proxy lacks.
  void wake();
  void close();

  // For `weftctl proxies`.
  nlohmann::json describe() const;
  // SYNCED, STALE (an update on its way), NACKED, or CONNECTING (no hello yet).
  std::string_view status() const;
  const std::string& identity() const { return identity_; }
  const std::string& serial() const { return serial_; }

 private:
  struct Pending {
    std::string nonce;
    std::string version;
    std::map<std::string, std::string> after;  // what the proxy holds once it applies it
    std::chrono::steady_clock::time_point sent_at;
  };

  awaitable<void> readLoop();
  awaitable<void> writeLoop();
  // One update if the proxy lacks anything; the error of the write.
  awaitable<error_code> pushIfBehind();
  absl::Status handle(std::string_view line);
  absl::Status hello(api::push::Hello h);
  void ack(const api::push::Ack& a);
  // Registers node_ under a new lease (lease_; 0 when it serves nothing or the store refused).
  void registerWorkload(std::chrono::steady_clock::time_point now);

  SessionHost& host_;
  http::ServerStream& stream_;
  std::string identity_;
  std::string serial_;
  tcp::endpoint peer_;
  std::chrono::system_clock::time_point connected_at_ = std::chrono::system_clock::now();

  std::optional<api::push::Node> node_;
  store::LeaseId lease_ = 0;
  std::map<std::string, std::string> acked_;  // key -> version the proxy holds
  std::string acked_version_;
  std::optional<Pending> pending_;
  std::optional<std::string> nack_;  // the last NACK's reason, until an ACK
  std::string nacked_version_;       // not sent again until the mesh moves on
  uint64_t next_nonce_ = 1;
  std::chrono::steady_clock::time_point last_heartbeat_ = std::chrono::steady_clock::now();

  bool dirty_ = true;
  bool closed_ = false;
  bool reader_done_ = false;
  asio::steady_timer wake_;
  asio::steady_timer reader_finished_;
};

}  // namespace weft::control::push
