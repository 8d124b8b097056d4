#include "control/push/push_service.h"

#include <algorithm>

#include "common/rfc3339.h"
#include "common/strings.h"
#include "control/ca/refusal.h"
#include "control/server/admin_only.h"
#include "control/server/json_api.h"
#include "net/log.h"
#include "net/spawn_guard.h"

namespace weft::control::push {

using nlohmann::json;

PushService::PushService(asio::io_context& io, store::Store& store, policy::PolicyStore& policies,
                         ca::Holders& holders, prometheus::Registry& metrics, PushSettings settings)
    : io_(io),
      store_(store),
      policies_(policies),
      holders_(holders),
      settings_(settings),
      registry_(store, settings.registration_ttl),
      metrics_(metrics),
      debounce_(io),
      lease_timer_(io) {
  rebuild();
  store_.onChange([this](const store::Event&) { changed(); });
}

PushService::~PushService() = default;

std::chrono::milliseconds PushService::heartbeat() const {
  // Often enough to keep a lease alive (three tries per ttl), at most every 10 s.
  return std::min<std::chrono::milliseconds>(std::chrono::seconds(10),
                                             settings_.registration_ttl / 3);
}

void PushService::start() {
  asio::co_spawn(io_, debounceLoop(), SpawnGuard({"push debounce"}));
  asio::co_spawn(io_, leaseLoop(), SpawnGuard({"lease expiry"}));
}

void PushService::stop() {
  stopped_ = true;
  debounce_.cancel();
  lease_timer_.cancel();
  for (ProxySession* s : sessions_) s->close();
}

void PushService::addRoutes(http::ApiRouter& proxies) {
  proxies.route("POST", std::string(api::push::kStreamPath),
                [this](http::ApiRequest& r) { return stream(r); });
}

void PushService::addOperatorRoutes(http::ApiRouter& api, const auth::AdminToken& admin) {
  api.get("/v1/proxies", adminOnly(admin, [this](http::ApiRequest& r) { return proxies(r); }));
}

void PushService::refreshStatusMetrics() {
  size_t synced = 0, stale = 0, nacked = 0, connecting = 0;
  for (const ProxySession* s : sessions_) {
    const std::string_view status = s->status();
    if (status == "SYNCED")
      ++synced;
    else if (status == "STALE")
      ++stale;
    else if (status == "NACKED")
      ++nacked;
    else
      ++connecting;
  }
  metrics_.setStatusCounts(synced, stale, nacked, connecting);
}

void PushService::rebuild() {
  snapshot_ =
      buildSnapshot(policies_.list("", ""), registry_.list(), std::to_string(store_.revision()));
}

void PushService::changed() {
  const auto now = std::chrono::steady_clock::now();
  last_change_ = now;
  if (!pending_change_) {
    pending_change_ = true;
    first_change_ = now;
    debounce_.cancel();
  }
}

awaitable<void> PushService::debounceLoop() {
  while (!stopped_) {
    if (!pending_change_) {
      debounce_.expires_at(std::chrono::steady_clock::time_point::max());
    } else {
      const auto due =
          std::min(last_change_ + settings_.quiet, first_change_ + settings_.max_delay);
      if (std::chrono::steady_clock::now() >= due) {
        pending_change_ = false;
        rebuild();
        for (ProxySession* s : sessions_) s->wake();
        continue;
      }
      debounce_.expires_at(due);
    }
    co_await debounce_.async_wait(kUseTuple);
  }
}

awaitable<void> PushService::leaseLoop() {
  while (!stopped_) {
    lease_timer_.expires_after(std::chrono::seconds(1));
    auto [ec] = co_await lease_timer_.async_wait(kUseTuple);
    if (ec || stopped_) co_return;
    auto expired = store_.expireLeases(std::chrono::steady_clock::now());
    if (!expired.ok()) {
      log::error("cannot expire registrations: ", expired.status().message());
    } else if (*expired > 0) {
      log::info(*expired, " registration(s) lapsed: their proxies were gone for longer than ",
                settings_.registration_ttl.count(), "s");
    }
  }
}

awaitable<void> PushService::stream(http::ApiRequest& request) {
  const http::DownstreamInfo& peer = request.stream.downstream();
  if (peer.peer_identity.empty() || !peer.http2) {
    const absl::Status refusal =
        refuse(absl::StatusCode::kUnauthenticated, "no_client_certificate",
               peer.http2 ? "the control stream needs the proxy's certificate (mTLS)"
                          : "the control stream needs HTTP/2");
    co_await replyRefusal(request.stream, refusal);
    co_return;
  }
  http::ResponseHead head;
  head.status = 200;
  head.headers.add("content-type", std::string(api::push::kContentType));
  head.body.present = true;
  if (error_code ec = co_await request.stream.sendResponseHead(head, true); ec) co_return;
  ProxySession session(io_.get_executor(), *this, request.stream, peer.peer_identity,
                       peer.peer_serial, request.peer);
  sessions_.insert(&session);
  metrics_.connected(1);
  co_await session.run();
  metrics_.connected(-1);
  sessions_.erase(&session);
}

awaitable<void> PushService::proxies(http::ApiRequest& request) {
  json items = json::array();
  const auto now = std::chrono::system_clock::now();
  for (ProxySession* s : sessions_) {
    json d = s->describe();
    if (ca::Holding* h = holders_.find(s->identity(), s->serial()); h != nullptr) {
      d["certExpiresAt"] = weft::rfc3339(h->not_after);
      d["certExpiresIn"] =
          std::chrono::duration_cast<std::chrono::seconds>(h->not_after - now).count();
    }
    items.push_back(std::move(d));
  }
  std::sort(items.begin(), items.end(), [](const json& a, const json& b) {
    return std::tuple(a.value("namespace", ""), a.value("service", ""), a.value("address", "")) <
           std::tuple(b.value("namespace", ""), b.value("service", ""), b.value("address", ""));
  });
  const json out = {{"version", snapshot_->version}, {"proxies", std::move(items)}};
  co_await replyJson(request.stream, 200, out);
}

}  // namespace weft::control::push
