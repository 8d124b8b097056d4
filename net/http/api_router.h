#pragma once

// The small router of Weft's own HTTP endpoints (the proxy's admin port, weft-control's API and
// admin ports): a method and a path (exact, or a prefix ending in '*') to a handler. Requests
// arrive through the shared HTTP/1.1 server codec (ApiServer), so framing, limits, timeouts,
// keep-alive and HEAD are the codec's; a handler only answers.

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "net/asio.h"
#include "net/http/codec.h"

namespace weft::http {

struct ApiRequest {
  ServerStream& stream;
  std::string_view path;   // without the query
  std::string_view query;  // after '?', or empty
  tcp::endpoint peer;      // the TCP peer, from accept
  // With a prefix route: what the path has after the prefix.
  std::string_view rest;
};

using ApiHandler = std::function<awaitable<void>(ApiRequest&)>;

// Sends one complete response with a known length (a HEAD request gets the head only, which
// the codec sees to). Returns the write's error. The arguments are views: GCC 12 destroys a
// temporary in a co_await full-expression twice, so callers pass named strings, never
// temporaries that own memory.
awaitable<error_code> reply(ServerStream& stream, unsigned status, std::string_view content_type,
                            std::string_view body, const HeaderMap* headers = nullptr);

// The content type of Prometheus's text exposition format, for every /metrics.
inline constexpr std::string_view kPrometheusTextType = "text/plain; version=0.0.4; charset=utf-8";

class ApiRouter;

// The value of `name` in a query string ("a=1&b=2"), undecoded; nullopt when absent.
std::optional<std::string_view> queryParam(std::string_view query, std::string_view name);

// GET /live (200 "live") and GET /ready (200 "ready", or 503 "not ready" while `ready` says
// no, followed by ": <why>" when `why_not` gives a reason): the probes kubelet sends to every
// weft admin port.
void addHealthRoutes(ApiRouter& router, std::function<bool()> ready,
                     std::function<std::string()> why_not = {});

class ApiRouter {
 public:
  // `name` starts the router's own answers: "no admin endpoint /x (have /live /ready)".
  explicit ApiRouter(std::string name) : name_(std::move(name)) {}

  // GET routes answer HEAD too. A path ending in '*' matches every path with that prefix.
  ApiRouter& route(std::string method, std::string path, ApiHandler handler);
  ApiRouter& get(std::string path, ApiHandler handler) {
    return route("GET", std::move(path), std::move(handler));
  }

  // Answers with the matching route's handler; otherwise 405 (the path exists with other
  // methods; `Allow` lists them) or 404 (naming the paths there are).
  awaitable<void> dispatch(ApiRequest& request) const;

 private:
  struct Route {
    std::string method;
    std::string path;  // without the '*' of a prefix route
    bool prefix = false;
    ApiHandler handler;
  };

  bool matches(const Route& route, std::string_view path) const;

  std::string name_;
  std::vector<Route> routes_;  // in registration order, the first match wins
};

}  // namespace weft::http
