#include "proxy/admin/admin_server.h"

#include "common/strings.h"
#include "control/api/config_json_writer.h"
#include "proxy/admin/admin_access.h"

namespace weft::admin {
namespace {

// /config leaves in chunks of about this size: one resource at a time is serialized into it.
constexpr size_t kConfigChunkBytes = 64 * 1024;
constexpr std::string_view kText = "text/plain";

std::string forbidden(std::string_view target, const tcp::endpoint& peer) {
  return weft::strCat(
      "admin ", target, " is served only to loopback clients (127.0.0.0/8, ::1),", " not to ",
      peer.address().to_string(),
      "; run weft-proxy with --admin-debug-access any to serve it to every client\n");
}

}  // namespace

AdminServer::AdminServer(asio::io_context& io, AdminSources sources)
    : sources_(std::move(sources)), server_(io, "admin", router_) {
  http::addHealthRoutes(
      router_, [this] { return sources_.ready(); }, sources_.not_ready_reason);
  router_.get("/config", [this](http::ApiRequest& r) { return config(r); })
      .get("/metrics", [this](http::ApiRequest& r) { return metrics(r); })
      .get("*", [this](http::ApiRequest& r) { return notFound(r); });
}

AdminServer::~AdminServer() { stop(); }

absl::Status AdminServer::listen(const api::HostPort& address) {
  return server_.listen(address.host, address.port);
}

awaitable<bool> AdminServer::allowed(http::ApiRequest& request) {
  if (mayRead(request.path, request.peer.address(), sources_.debug_access)) co_return true;
  const std::string text = forbidden(request.path, request.peer);
  co_await http::reply(request.stream, 403, kText, text);
  co_return false;
}

awaitable<void> AdminServer::metrics(http::ApiRequest& request) {
  const std::string text = sources_.metrics->serialize();
  co_await http::reply(request.stream, 200, http::kPrometheusTextType, text);
}

awaitable<void> AdminServer::notFound(http::ApiRequest& request) {
  if (!co_await allowed(request)) co_return;
  const std::string text =
      weft::strCat("no admin endpoint ", request.path, " (have /live /ready /config /metrics)\n");
  co_await http::reply(request.stream, 404, kText, text);
}

awaitable<void> AdminServer::config(http::ApiRequest& request) {
  if (!co_await allowed(request)) co_return;
  // Streamed: chunked for HTTP/1.1, to the connection's end for HTTP/1.0 (the codec's choice).
  http::ResponseHead head;
  head.status = 200;
  head.headers.add("content-type", "application/json");
  head.body = {true, std::nullopt};
  http::ServerStream& stream = request.stream;
  if (co_await stream.sendResponseHead(head, true)) co_return;
  if (stream.request().method == "HEAD") co_return;

  // The snapshot in effect now, pinned until the last chunk is out; a reload meanwhile does not
  // change what this response shows.
  api::ConfigJsonWriter writer(sources_.config());
  std::string piece;
  piece.reserve(kConfigChunkBytes + 4096);
  for (bool more = true; more;) {
    piece.clear();
    more = writer.next(piece, kConfigChunkBytes);
    if (piece.empty()) continue;
    if (co_await stream.sendResponseBody(std::span<const char>(piece.data(), piece.size()),
                                         false)) {
      co_return;
    }
  }
  co_await stream.sendResponseBody({}, true);
}

}  // namespace weft::admin
