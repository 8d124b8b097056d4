#pragma once

#include <string_view>

#include "net/asio.h"
#include "proxy/config/options.h"

namespace weft::admin {

// /live, /ready and /metrics: what kubelet probes and Prometheus scrapes over the pod network.
bool isHealthEndpoint(std::string_view path);

// 127.0.0.0/8, ::1, and IPv4 loopback mapped into IPv6 (::ffff:127.x.y.z, how a dual-stack
// listener sees a 127.0.0.1 client).
bool isLoopback(const asio::ip::address& address);

// Whether `peer` may read `path` on the admin port: health endpoints answer anyone, the rest
// (/config and other debug pages) only loopback clients unless --admin-debug-access any.
bool mayRead(std::string_view path, const asio::ip::address& peer, config::AdminDebugAccess access);

}  // namespace weft::admin
