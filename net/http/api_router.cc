#include "net/http/api_router.h"

#include <algorithm>

#include "common/strings.h"

namespace weft::http {

std::optional<std::string_view> queryParam(std::string_view query, std::string_view name) {
  while (!query.empty()) {
    const size_t amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    const size_t eq = pair.find('=');
    if (pair.substr(0, eq) != name) continue;
    return eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1);
  }
  return std::nullopt;
}

awaitable<error_code> reply(ServerStream& stream, unsigned status, std::string_view content_type,
                            std::string_view body, const HeaderMap* headers) {
  ResponseHead head;
  head.status = status;
  if (headers) head.headers = *headers;
  head.headers.set("content-type", std::string(content_type));
  head.body = {true, body.size()};
  if (error_code ec = co_await stream.sendResponseHead(head, body.empty()); ec) co_return ec;
  if (body.empty()) co_return error_code{};
  co_return co_await stream.sendResponseBody(std::span<const char>(body.data(), body.size()), true);
}

void addHealthRoutes(ApiRouter& router, std::function<bool()> ready,
                     std::function<std::string()> why_not) {
  router
      .get("/live",
           [](ApiRequest& r) -> awaitable<void> {
             co_await reply(r.stream, 200, "text/plain", "live\n");
           })
      .get("/ready",
           [ready = std::move(ready),
            why_not = std::move(why_not)](ApiRequest& r) -> awaitable<void> {
             const bool now = ready();
             const std::string reason = now || !why_not ? std::string() : why_not();
             const std::string body = now              ? "ready\n"
                                      : reason.empty() ? "not ready\n"
                                                       : "not ready: " + reason + "\n";
             co_await reply(r.stream, now ? 200 : 503, "text/plain", body);
           });
}

ApiRouter& ApiRouter::route(std::string method, std::string path, ApiHandler handler) {
  Route r;
  r.method = std::move(method);
  r.prefix = !path.empty() && path.back() == '*';
  if (r.prefix) path.pop_back();
  r.path = std::move(path);
  r.handler = std::move(handler);
  routes_.push_back(std::move(r));
  return *this;
}

bool ApiRouter::matches(const Route& route, std::string_view path) const {
  return route.prefix ? path.starts_with(route.path) : path == route.path;
}

awaitable<void> ApiRouter::dispatch(ApiRequest& request) const {
  const std::string& method = request.stream.request().method;
  const std::string_view lookup = method == "HEAD" ? std::string_view("GET") : method;
  std::vector<std::string_view> methods;  // of the routes the path matches, each once
  for (const Route& r : routes_) {
    if (!matches(r, request.path)) continue;
    if (r.method == lookup) {
      request.rest = request.path.substr(r.path.size());
      co_await r.handler(request);
      co_return;
    }
    if (std::find(methods.begin(), methods.end(), r.method) == methods.end()) {
      methods.push_back(r.method);
    }
  }
  std::string allowed;
  for (std::string_view m : methods) {
    if (!allowed.empty()) allowed += ", ";
    allowed += m == "GET" ? "GET, HEAD" : m;
  }
  if (!allowed.empty()) {
    HeaderMap headers;
    headers.add("allow", allowed);
    const std::string text =
        weft::strCat(name_, " endpoint ", request.path, " takes ", allowed, ", not ", method, "\n");
    co_await reply(request.stream, 405, "text/plain", text, &headers);
    co_return;
  }
  std::vector<std::string> paths;
  for (const Route& r : routes_) {
    std::string shown = r.prefix ? r.path + "*" : r.path;
    if (std::find(paths.begin(), paths.end(), shown) == paths.end()) paths.push_back(shown);
  }
  std::string have;
  for (const std::string& p : paths) {
    if (!have.empty()) have += ' ';
    have += p;
  }
  const std::string text =
      weft::strCat("no ", name_, " endpoint ", request.path, " (have ", have, ")\n");
  co_await reply(request.stream, 404, "text/plain", text);
}

}  // namespace weft::http
