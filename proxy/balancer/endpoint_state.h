#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "control/api/resources.h"

namespace weft::balancer {

using Clock = std::chrono::steady_clock;
using TimePoint = Clock::time_point;

// What one worker knows about one endpoint: its load, its latency and its outlier status. The
// worker's load balancers read it, its requests and outlier detectors write it. Only the owning
// worker thread touches it, so nothing here is atomic.
struct EndpointState {
  // Peak-EWMA latency forgets with this time constant (Linkerd's and Finagle's default).
  static constexpr std::chrono::nanoseconds kEwmaDecay = std::chrono::seconds(10);

  // ----------------------------------------------------------------------------- load
  uint32_t outstanding = 0;  // requests sent to the endpoint and not yet finished

  // Peak EWMA of the request latency, in nanoseconds, as of `ewma_stamp`; 0 until the first
  // latency is recorded. It jumps up to any slower observation at once and decays towards
  // faster ones (and, while idle, towards 0) with kEwmaDecay.
  double ewma_ns = 0;
  TimePoint ewma_stamp{};

  // ---------------------------------------------------------------- outlier detection
  uint32_t consecutive_5xx = 0;             // 5xx, gateway errors and connect failures
  uint32_t consecutive_gateway_errors = 0;  // 502, 503, 504 and connect failures
  TimePoint ejected_until{};                // ejected while now < ejected_until
  uint32_t times_ejected = 0;               // ejection multiplier; decays while healthy
  TimePoint healthy_since{};                // start of the current healthy stretch (decay clock)

  bool isEjected(TimePoint now) const { return now < ejected_until; }

  // A request to the endpoint starts / ends. `latency` is what the EWMA learns (time to the
  // response head is the usual choice); requestFinished without a latency (e.g. a connect
  // failure) only lowers the outstanding count.
  void requestStarted() { ++outstanding; }
  void requestFinished() {
    if (outstanding > 0) --outstanding;
  }
  void requestFinished(std::chrono::nanoseconds latency, TimePoint now) {
    requestFinished();
    recordLatency(latency, now);
  }

  void recordLatency(std::chrono::nanoseconds latency, TimePoint now);
  // The EWMA decayed to `now` (not stored: reading is free of side effects).
  double ewmaAt(TimePoint now) const;
};

// Every endpoint's state on one worker, keyed by address and identity, so an endpoint keeps its
// load, latency and ejection across config swaps as long as it stays in the config. Only the
// owning worker thread touches it.
//
// Lifetime: get() references stay valid until prune() drops that state. Holders that may outlive
// a config swap (a per-snapshot table that requests of the old config still use) take a
// shared_ptr with share(): prune() never drops a shared state.
class EndpointRegistry {
 public:
  EndpointState& get(const api::Endpoint& endpoint) { return *share(endpoint); }
  std::shared_ptr<EndpointState> share(const api::Endpoint& endpoint);

  // Drops the states of endpoints that `current` does not name and that nobody else holds.
  // Returns how many were dropped. Call after a config swap.
  // `replaced`: endpoint lists by "<ns>/<name>" that stand for those Services' in `current`.
  size_t prune(const api::MeshConfig& current,
               const std::unordered_map<
                   std::string, std::shared_ptr<const std::vector<api::Endpoint>>>& replaced = {});

  size_t size() const { return states_.size(); }

 private:
  static std::string key(const api::Endpoint& endpoint);

  std::unordered_map<std::string, std::shared_ptr<EndpointState>> states_;
};

}  // namespace weft::balancer
