#pragma once

// Push on weft-control: the proxies' control streams (POST /v1/stream on --listen, mTLS and
// HTTP/2 only) and `GET /v1/proxies` on --api. Every store change (an apply, a registration, a
// lease running out) marks the mesh changed; changes are coalesced — the snapshot is rebuilt
// once things are quiet for 10 ms, and never later than 100 ms after the first — and then every
// session sends its proxy what changed in its scope. Leases are expired here, once a second.

#include <chrono>
#include <memory>
#include <unordered_set>

#include <nlohmann/json.hpp>

#include "control/auth/admin_token.h"
#include "control/ca/holders.h"
#include "control/policy/policy_store.h"
#include "control/push/mesh_snapshot.h"
#include "control/push/push_metrics.h"
#include "control/push/registry.h"
#include "control/push/session.h"
#include "net/http/api_router.h"

namespace weft::control::push {

struct PushSettings {
  std::chrono::seconds registration_ttl{30};
  std::chrono::milliseconds quiet{10};
  std::chrono::milliseconds max_delay{100};
};

class PushService final : public SessionHost {
 public:
  PushService(asio::io_context& io, store::Store& store, policy::PolicyStore& policies,
              ca::Holders& holders, prometheus::Registry& metrics, PushSettings settings);
  ~PushService() override;

  void start();
  // Ends every stream (weft-control is draining).
  void stop();

  void addRoutes(http::ApiRouter& proxies);
  void addOperatorRoutes(http::ApiRouter& api, const auth::AdminToken& admin);
  // Brings control_proxies{status} up to date (before a scrape).
  void refreshStatusMetrics();

  // SessionHost
  std::shared_ptr<const MeshSnapshot> snapshot() override { return snapshot_; }
  Registry& registry() override { return registry_; }
  PushMetrics& metrics() override { return metrics_; }
  std::chrono::milliseconds heartbeat() const override;

 private:
  awaitable<void> stream(http::ApiRequest& request);
  awaitable<void> proxies(http::ApiRequest& request);
  void changed();
  void rebuild();
  awaitable<void> debounceLoop();
  awaitable<void> leaseLoop();

  asio::io_context& io_;
  store::Store& store_;
  policy::PolicyStore& policies_;
  ca::Holders& holders_;
  PushSettings settings_;
  Registry registry_;
  PushMetrics metrics_;
  std::shared_ptr<const MeshSnapshot> snapshot_;
  std::unordered_set<ProxySession*> sessions_;

  bool pending_change_ = false;
  std::chrono::steady_clock::time_point first_change_;
  std::chrono::steady_clock::time_point last_change_;
  bool stopped_ = false;
  asio::steady_timer debounce_;
  asio::steady_timer lease_timer_;
};

}  // namespace weft::control::push
