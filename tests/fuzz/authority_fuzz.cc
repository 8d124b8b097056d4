// resolveAuthority and OutboundRouter::route on arbitrary authorities against a small mesh.

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "proxy/router/outbound_router.h"

namespace {

const weft::api::MeshConfig& mesh() {
  static const weft::api::MeshConfig* config = [] {
    using weft::api::Endpoint;
    using weft::api::Service;
    Endpoint ep{
        "127.0.0.1:15006", "127.0.0.1", 15006, "spiffe://cluster.local/ns/default/sa/b", {}};
    return new weft::api::MeshConfig(
        {.services = {Service{"backend", "default", 8080, {}, {ep, ep}},
                      Service{"backend", "other", 80, {}, {ep}},
                      Service{"api", "svc", 443, {}, {ep}},
                      Service{"empty", "default", 80, {}, {}}}},
        "fuzz", 1);
  }();
  return *config;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view authority(reinterpret_cast<const char*>(data), size);
  auto svc = weft::router::resolveAuthority(mesh(), authority, "default");
  if (svc.ok() && *svc == nullptr) __builtin_trap();
  auto other = weft::router::resolveAuthority(mesh(), authority, "other");
  if (other.ok() && *other == nullptr) __builtin_trap();
  return 0;
}
