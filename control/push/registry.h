#pragma once

// The service registry: each proxy on a control stream registers its workload (Service,
// namespace, labels, inbound address, identity from its certificate) in the store under a
// lease it keeps alive while the stream lives. When the stream ends the lease runs out after
// its ttl and the registration goes with it (store::Store deletes a lease's keys), so a proxy
// that reconnects within the ttl never leaves its Service's endpoints.

#include <chrono>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "control/api/resources.h"
#include "control/store/store.h"

namespace weft::control::push {

inline constexpr std::string_view kRegistryPrefix = "/registry/";

struct Registration {
  std::string service;
  std::string ns;
  std::string address;   // HOST:PORT of its inbound port
  std::string identity;  // from its client certificate
  api::Labels labels;
};

class Registry {
 public:
  Registry(store::Store& store, std::chrono::seconds ttl) : store_(store), ttl_(ttl) {}

  std::chrono::seconds ttl() const { return ttl_; }
  // Registers under a new lease: /registry/<ns>/<service>/<address>. The same address again
  // (a restarted proxy) replaces the older registration.
  absl::StatusOr<store::LeaseId> add(const Registration& r, store::Clock::time_point now);
  absl::Status keepAlive(store::LeaseId lease, store::Clock::time_point now);
  std::vector<Registration> list() const;

 private:
  store::Store& store_;
  std::chrono::seconds ttl_;
};

}  // namespace weft::control::push
