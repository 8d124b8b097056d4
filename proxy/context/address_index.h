#pragma once

#include <functional>
#include <string>
#include <unordered_map>

#include "control/api/resources.h"
#include "proxy/context/host_set_state.h"

namespace weft {

// What an intercepted connection's original destination is in the mesh.
struct AddressMatch {
  const api::Service* service = nullptr;  // null: not in the mesh
  bool endpoint = false;  // one of the Service's endpoints (a pod IP), not one of its addresses
};

// The Services of one config by the addresses an app may dial them at: "vip:port" for each of a
// Service's `addresses` on its port, each endpoint's "ip:port" (api::addressKey, canonical),
// and then an endpoint's IP on any port: a registered endpoint's address is its sidecar's
// inbound port, while the app dials the pod IP on its own port. A virtual IP wins over an
// endpoint with the same address, an exact address over an IP; between Services, the first in
// the config wins. Built on a worker when its first intercepted connection needs it, and again
// after the endpoints change.
class AddressIndex {
 public:
  using EndpointsOf = std::function<EndpointListPtr(const api::Service&)>;

  AddressIndex(const api::MeshConfig& mesh, const EndpointsOf& endpoints_of);

  // `key`: "ip:port" or "[ip]:port", canonical.
  AddressMatch find(const std::string& key) const;

 private:
  std::unordered_map<std::string, AddressMatch> by_address_;
  std::unordered_map<std::string, AddressMatch> by_ip_;  // endpoints' IPs
};

// The member of `hosts` an intercepted connection to `key` means: the one at that address, else
// the first with its IP. balancer::kNoEndpoint when none is.
uint32_t memberAt(const HostSetState& hosts, const std::string& key);

}  // namespace weft
