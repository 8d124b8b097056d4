#include "control/server/injection_webhook.h"

#include "common/strings.h"
#include "control/ca/refusal.h"
#include "control/server/json_api.h"
#include "net/log.h"

namespace weft::control {

namespace {
// A pod with many containers and env is large; an AdmissionReview carries it (and, on update,
// its old version too).
constexpr size_t kMaxReviewBytes = 4 << 20;
}  // namespace

void InjectionWebhook::addRoutes(http::ApiRouter& router) {
  router.route("POST", "/inject/namespace-enabled", [this](http::ApiRequest& r) {
    return handle(r, inject::Policy::kNamespaceEnabled);
  });
  router.route("POST", "/inject/annotated",
               [this](http::ApiRequest& r) { return handle(r, inject::Policy::kAnnotatedOnly); });
}

awaitable<void> InjectionWebhook::handle(http::ApiRequest& request, inject::Policy policy) {
  auto body = co_await readBody(request.stream, kMaxReviewBytes);
  if (!body.ok()) {
    co_await replyRefusal(request.stream, body.status());
    co_return;
  }
  auto doc = parseJsonObject(*body);
  if (!doc.ok()) {
    co_await replyRefusal(request.stream, doc.status());
    co_return;
  }
  auto answer = inject::review(*doc, policy, settings_);
  if (!answer.ok()) {
    const absl::Status refusal = refuse(absl::StatusCode::kInvalidArgument, "malformed_review",
                                        weft::sv(answer.status().message()));
    co_await replyRefusal(request.stream, refusal);
    co_return;
  }
  if (answer->at("response").contains("patch")) {
    const nlohmann::json& req = doc->at("request");
    log::info("injected pod ", req.value("namespace", ""), "/",
              req.value("object", nlohmann::json::object())
                  .value("metadata", nlohmann::json::object())
                  .value("generateName", req.value("name", "")));
  }
  co_await replyJson(request.stream, 200, *answer);
}

}  // namespace weft::control
