#include "control/server/admin_only.h"

#include <nlohmann/json.hpp>

#include "control/server/json_api.h"

namespace weft::control {

http::ApiHandler adminOnly(const auth::AdminToken& admin, http::ApiHandler handler) {
  return [&admin, handler = std::move(handler)](http::ApiRequest& request) -> awaitable<void> {
    const std::string* authorization = request.stream.request().headers.get("authorization");
    if (authorization == nullptr || !admin.accepts(*authorization)) {
      http::HeaderMap headers;
      headers.add("www-authenticate", "Bearer realm=\"weft-control\"");
      const nlohmann::json body = {
          {"error",
           {{"reason", authorization == nullptr ? "missing_token" : "bad_admin_token"},
            {"message", authorization == nullptr
                            ? "no admin token: send 'Authorization: Bearer <DIR/admin.token>'"
                            : "the admin token does not match this control plane's"}}}};
      co_await replyJson(request.stream, 401, body, &headers);
      co_return;
    }
    co_await handler(request);
  };
}

}  // namespace weft::control
