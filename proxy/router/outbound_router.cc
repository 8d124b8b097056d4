#include "proxy/router/outbound_router.h"

#include <iterator>

#include "common/strings.h"

namespace weft::router {
namespace {

constexpr std::string_view kClusterDomain = "cluster.local";

}  // namespace

absl::StatusOr<const api::Service*> resolveAuthority(const api::MeshConfig& config,
                                                     std::string_view authority,
                                                     std::string_view own_namespace) {
  std::string lower = weft::toLower(authority);
  std::string_view host = lower;
  std::string_view port_text;
  if (size_t colon = host.rfind(':'); colon != std::string_view::npos) {
    port_text = host.substr(colon + 1);
    host = host.substr(0, colon);
  }
  if (host.ends_with('.')) host.remove_suffix(1);
  auto unknown = [&](std::string_view why) {
    return absl::NotFoundError(weft::strCat("unknown service: ", authority, why));
  };
  uint32_t port = 0;
  if (!port_text.empty() && (!weft::parseUnsigned(port_text, &port) || port > 65535)) {
    return unknown(" (bad port)");
  }

  // The first three labels and how many there are (no allocation: this runs per request).
  std::string_view labels[3];
  size_t count = 0;
  for (std::string_view rest = host;; ++count) {
    const size_t dot = rest.find('.');
    if (count < std::size(labels)) labels[count] = rest.substr(0, dot);
    if (dot == std::string_view::npos) break;
    rest.remove_prefix(dot + 1);
  }
  ++count;
  std::string_view name = labels[0];
  std::string_view ns = count >= 2 ? labels[1] : own_namespace;
  bool shape_ok = count <= 2;
  if (count >= 3 && labels[2] == "svc") {
    // name.ns.svc, or name.ns.svc.<cluster domain>: the domain is what follows the third label.
    size_t svc_end = name.size() + 1 + ns.size() + 1 + 3;
    shape_ok = count == 3 || host.substr(svc_end + 1) == kClusterDomain;
  }
  if (!shape_ok || name.empty()) return unknown("");
  const api::Service* svc = config.findService(name, ns);
  if (svc == nullptr) return unknown("");
  if (port != 0 && port != svc->port) {
    return unknown(
        weft::strCat(" (", svc->name, ".", svc->ns, " listens on port ", svc->port, ")"));
  }
  return svc;
}

}  // namespace weft::router
