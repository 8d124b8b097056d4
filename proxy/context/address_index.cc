#include "proxy/context/address_index.h"

#include "control/api/address.h"

namespace weft {

AddressIndex::AddressIndex(const api::MeshConfig& mesh, const EndpointsOf& endpoints_of) {
  for (const api::Service& service : mesh.services()) {
    for (const std::string& vip : service.addresses) {
      by_address_.try_emplace(api::addressKey(vip, service.port), AddressMatch{&service, false});
    }
  }
  for (const api::Service& service : mesh.services()) {
    const EndpointListPtr endpoints = endpoints_of(service);
    for (const api::Endpoint& endpoint : *endpoints) {  // hosts canonical (parseHostPort)
      by_address_.try_emplace(api::addressKey(endpoint.host, endpoint.port),
                              AddressMatch{&service, true});
      by_ip_.try_emplace(endpoint.host, AddressMatch{&service, true});
    }
  }
}

namespace {

// The IP of an "ip:port" or "[ip]:port" key.
std::string_view ipOf(std::string_view key) {
  if (key.starts_with('[')) return key.substr(1, key.find(']') - 1);
  return key.substr(0, key.rfind(':'));
}

}  // namespace

AddressMatch AddressIndex::find(const std::string& key) const {
  if (auto it = by_address_.find(key); it != by_address_.end()) return it->second;
  auto it = by_ip_.find(std::string(ipOf(key)));
  return it == by_ip_.end() ? AddressMatch{} : it->second;
}

uint32_t memberAt(const HostSetState& hosts, const std::string& key) {
  uint32_t same_ip = balancer::kNoEndpoint;
  const std::string_view ip = ipOf(key);
  for (uint32_t i : hosts.endpoints()) {
    const api::Endpoint& e = hosts.endpoint(i);
    if (e.host != ip) continue;
    if (api::addressKey(e.host, e.port) == key) return i;
    if (same_ip == balancer::kNoEndpoint) same_ip = i;
  }
  return same_ip;
}

}  // namespace weft
