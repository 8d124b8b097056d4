#include "control/push/session.h"

#include <array>
#include <set>

#include "common/rfc3339.h"
#include "common/strings.h"
#include "identity/spiffe.h"
#include "net/log.h"
#include "net/spawn_guard.h"

namespace weft::control::push {
namespace {

using api::push::Message;
using nlohmann::json;

api::push::Update delta(const MeshSnapshot& snap, const std::set<std::string>& scope,
                        const std::map<std::string, std::string>& held) {
  api::push::Update u;
  u.version = snap.version;
  for (const std::string& key : scope) {
    const api::push::Resource& r = snap.resources.at(key);
    auto it = held.find(key);
    if (it == held.end() || it->second != r.version) u.resources.push_back(r);
  }
  for (const auto& [key, version] : held) {
    if (!scope.contains(key)) u.removed.push_back(key);
  }
  return u;
}

}  // namespace

ProxySession::ProxySession(Executor executor, SessionHost& host, http::ServerStream& stream,
                           std::string identity, std::string serial, tcp::endpoint peer)
    : host_(host),
      stream_(stream),
      identity_(std::move(identity)),
      serial_(std::move(serial)),
      peer_(peer),
      wake_(executor),
      reader_finished_(executor) {}

void ProxySession::wake() {
  dirty_ = true;
  wake_.cancel();
}

void ProxySession::close() {
  closed_ = true;
  stream_.cancelRequestBody();
  wake_.cancel();
}

awaitable<void> ProxySession::run() {
  reader_finished_.expires_at(std::chrono::steady_clock::time_point::max());
  asio::co_spawn(
      co_await asio::this_coro::executor,
      [this]() -> awaitable<void> {
        co_await readLoop();
        reader_done_ = true;
        reader_finished_.cancel();
      },
      SpawnGuard({"control stream reader"}));
  co_await writeLoop();
  // The writer is done (the proxy left, or was cut off): end the reader too, and wait for it,
  // since it refers to this session.
  stream_.cancelRequestBody();
  while (!reader_done_) co_await reader_finished_.async_wait(kUseTuple);
  if (node_) {
    log::info("control stream of ", identity_, " (", node_->service, ".", node_->ns, " at ",
              node_->address, ") ended; its registration lapses in ",
              host_.registry().ttl().count(), "s unless it reconnects");
  }
}

awaitable<void> ProxySession::readLoop() {
  api::push::LineReader lines;
  // A proxy sends small messages (hello, acks, pings): a small buffer, since thousands of
  // sessions each hold one.
  std::array<char, 2048> buffer;
  while (!closed_) {
    http::BodyRead r = co_await stream_.readRequestBody(buffer);
    if (r.ec) break;
    absl::Status st = lines.append(std::string_view(buffer.data(), r.n));
    while (st.ok()) {
      std::optional<std::string> line = lines.next();
      if (!line) break;
      st = handle(*line);
    }
    if (!st.ok()) {
      log::warn("control stream of ", identity_, " from ", peer_.address().to_string(),
                " cut off: ", st.message());
      host_.metrics().cutOff();
      break;
    }
    if (r.end) break;
  }
  closed_ = true;
  wake_.cancel();
}

absl::Status ProxySession::handle(std::string_view line) {
  auto m = api::push::decode(line);
  if (!m.ok()) return m.status();
  switch (m->type) {
    case Message::Type::kHello:
      return hello(std::move(m->hello));
    case Message::Type::kAck:
      ack(m->ack);
      return absl::OkStatus();
    case Message::Type::kPing:
      return absl::OkStatus();
    case Message::Type::kUpdate:
      return absl::InvalidArgumentError("a proxy does not send updates");
  }
  return absl::OkStatus();
}

absl::Status ProxySession::hello(api::push::Hello h) {
  if (node_) return absl::InvalidArgumentError("a second hello");
  // A proxy registers in its own namespace only: its certificate says which.
  auto id = identity::parseSpiffeId(identity_);
  if (!id.ok()) return id.status();
  std::vector<std::string_view> parts = weft::split(id->path, '/');
  if (parts.size() != 4 || parts[0] != "ns" || parts[2] != "sa") {
    return absl::PermissionDeniedError(
        weft::strCat(identity_, " is not a workload identity (ns/<ns>/sa/<sa>)"));
  }
  const std::string ns(parts[1]);
  if (h.node.ns.empty()) h.node.ns = ns;
  if (h.node.ns != ns) {
    return absl::PermissionDeniedError(
        weft::strCat(identity_, " may not register in namespace ", h.node.ns));
  }
  // ":PORT": at the address it connects from (the pod IP).
  for (std::string* address : {&h.node.address, &h.node.admin}) {
    if (address->starts_with(":")) *address = weft::strCat(peer_.address().to_string(), *address);
  }
  acked_ = std::move(h.held);
  acked_version_ = std::move(h.version);
  node_ = std::move(h.node);
  registerWorkload(std::chrono::steady_clock::now());
  log::info("control stream from ", identity_, " (", node_->service, ".", node_->ns, " at ",
            node_->address, "), holding ", acked_.size(), " resources at version '", acked_version_,
            "'");
  wake();
  return absl::OkStatus();
}

void ProxySession::registerWorkload(std::chrono::steady_clock::time_point now) {
  lease_ = 0;
  if (node_->service.empty() || node_->address.empty()) return;  // calls, serves nothing
  auto lease = host_.registry().add(
      {node_->service, node_->ns, node_->address, identity_, node_->labels}, now);
  if (!lease.ok()) {
    log::error("cannot register ", identity_, " as ", node_->service, ".", node_->ns, ": ",
               lease.status().message());
    return;
  }
  lease_ = *lease;
}

void ProxySession::ack(const api::push::Ack& a) {
  if (!pending_ || a.nonce != pending_->nonce) return;  // an answer to an older update
  if (a.error) {
    log::warn("proxy ", identity_, " refused config version ", pending_->version, ": ", *a.error);
    nack_ = a.error;
    nacked_version_ = pending_->version;
    host_.metrics().nacked();
  } else {
    acked_ = std::move(pending_->after);
    acked_version_ = pending_->version;
    nack_.reset();
    host_.metrics().acked(std::chrono::steady_clock::now() - pending_->sent_at);
  }
  pending_.reset();
  wake();
}

awaitable<error_code> ProxySession::pushIfBehind() {
  if (!node_ || pending_) co_return error_code();
  std::shared_ptr<const MeshSnapshot> snap = host_.snapshot();
  if (snap->version == nacked_version_) co_return error_code();
  const std::set<std::string> scope = snap->scope(*node_);
  api::push::Update update = delta(*snap, scope, acked_);
  // A proxy that holds no config at all gets one even when its scope is empty: it waits for a
  // first config before it says it is ready.
  if (update.resources.empty() && update.removed.empty() && !acked_version_.empty()) {
    acked_version_ = snap->version;  // nothing it lacks: in sync at this version
    co_return error_code();
  }
  update.nonce = std::to_string(next_nonce_++);
  Pending p{update.nonce, update.version, acked_, std::chrono::steady_clock::now()};
  for (const api::push::Resource& r : update.resources) p.after[r.key] = r.version;
  for (const std::string& key : update.removed) p.after.erase(key);
  const std::string line = api::push::encode(update);
  pending_ = std::move(p);
  host_.metrics().pushed(line.size());
  co_return co_await stream_.sendResponseBody(line, false);
}

awaitable<void> ProxySession::writeLoop() {
  while (!closed_) {
    if (dirty_) {
      dirty_ = false;
      if (error_code ec = co_await pushIfBehind(); ec) {
        log::warn("control stream of ", identity_, " cut off: ", ec.message(),
                  " (the proxy did not take its updates)");
        host_.metrics().cutOff();
        break;
      }
      continue;
    }
    const auto now = std::chrono::steady_clock::now();
    if (now - last_heartbeat_ >= host_.heartbeat()) {
      last_heartbeat_ = now;
      if (lease_ != 0) {
        if (absl::Status st = host_.registry().keepAlive(lease_, now); !st.ok()) {
          log::warn("registration of ", identity_, " lapsed (", st.message(),
                    "); registering again");
          registerWorkload(now);
        }
      }
      const std::string ping = api::push::encodePing();
      if (error_code ec = co_await stream_.sendResponseBody(ping, false); ec) break;
      continue;
    }
    wake_.expires_at(last_heartbeat_ + host_.heartbeat());
    co_await wake_.async_wait(kUseTuple);
  }
  closed_ = true;
}

std::string_view ProxySession::status() const {
  if (!node_) return "CONNECTING";
  return nack_ ? "NACKED" : pending_ ? "STALE" : "SYNCED";
}

json ProxySession::describe() const {
  const std::string status(this->status());
  json out = {{"identity", identity_},
              {"serial", serial_},
              {"peer", peer_.address().to_string()},
              {"connectedAt", weft::rfc3339(connected_at_)},
              {"version", acked_version_},
              {"status", status},
              {"resources", acked_.size()}};
  if (node_) {
    out["service"] = node_->service;
    out["namespace"] = node_->ns;
    out["labels"] = node_->labels;
    out["address"] = node_->address;
    if (!node_->admin.empty()) out["admin"] = node_->admin;
  }
  if (nack_) out["reason"] = *nack_;
  return out;
}

}  // namespace weft::control::push
