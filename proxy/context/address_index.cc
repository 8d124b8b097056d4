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
    for (const api::Endpoint& endpoint : *endpoints) {
      const std::string ip = api::canonicalIp(endpoint.host);
      if (ip.empty()) continue;
      by_address_.try_emplace(api::addressKey(ip, endpoint.port), AddressMatch{&service, true});
    }
  }
}

AddressMatch AddressIndex::find(const std::string& key) const {
  auto it = by_address_.find(key);
  return it == by_address_.end() ? AddressMatch{} : it->second;
}

}  // namespace weft
