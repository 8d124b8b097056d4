// Who may read which admin page (proxy/admin/admin_access.cc): health endpoints answer anyone,
// /config and the other debug pages only loopback clients unless --admin-debug-access any.

#include "proxy/admin/admin_access.h"

#include <gtest/gtest.h>

namespace weft::admin {
namespace {

using config::AdminDebugAccess;

asio::ip::address ip(const char* text) { return asio::ip::make_address(text); }

TEST(AdminAccessTest, Loopback) {
  for (const char* a : {"127.0.0.1", "127.1.2.3", "127.255.255.254", "::1", "::ffff:127.0.0.1",
                        "::ffff:127.9.9.9"}) {
    EXPECT_TRUE(isLoopback(ip(a))) << a;
  }
  for (const char* a : {"10.0.0.1", "192.0.2.2", "128.0.0.1", "126.255.255.255", "0.0.0.0",
                        "::", "fd00::2", "fe80::1", "::ffff:10.1.2.3", "::127.0.0.1"}) {
    EXPECT_FALSE(isLoopback(ip(a))) << a;
  }
}

TEST(AdminAccessTest, HealthEndpointsAnswerAnyone) {
  for (const char* path : {"/live", "/ready", "/metrics"}) {
    EXPECT_TRUE(mayRead(path, ip("10.0.0.7"), AdminDebugAccess::kLoopback)) << path;
    EXPECT_TRUE(mayRead(path, ip("::ffff:10.0.0.7"), AdminDebugAccess::kLoopback)) << path;
  }
}

TEST(AdminAccessTest, DebugPagesOnlyToLoopback) {
  for (const char* path : {"/config", "/unknown", "/", "/metrics/extra"}) {
    EXPECT_FALSE(mayRead(path, ip("10.0.0.7"), AdminDebugAccess::kLoopback)) << path;
    EXPECT_FALSE(mayRead(path, ip("fd00::7"), AdminDebugAccess::kLoopback)) << path;
    EXPECT_TRUE(mayRead(path, ip("127.0.0.1"), AdminDebugAccess::kLoopback)) << path;
    EXPECT_TRUE(mayRead(path, ip("::1"), AdminDebugAccess::kLoopback)) << path;
    EXPECT_TRUE(mayRead(path, ip("10.0.0.7"), AdminDebugAccess::kAny)) << path;
  }
}

}  // namespace
}  // namespace weft::admin
