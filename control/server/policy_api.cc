#include "control/server/policy_api.h"

#include <algorithm>
#include <chrono>

#include "common/strings.h"
#include "control/api/authorize.h"
#include "control/ca/refusal.h"
#include "control/server/admin_only.h"
#include "control/server/control_metrics.h"
#include "control/server/json_api.h"

namespace weft::control {
namespace {

using nlohmann::json;

// 8 MiB of manifests in one apply; the YAML decoder's own limit is 16 MiB.
constexpr size_t kMaxApplyBody = 8 << 20;

struct Path {
  std::string kind;
  std::string ns;
  std::string name;
};

// "KIND/NS/NAME" (any trailing part may be missing); an unknown kind is refused.
absl::StatusOr<Path> parsePath(std::string_view rest) {
  std::vector<std::string_view> parts = weft::split(rest, '/', true);
  if (parts.size() > 3) {
    return refuse(absl::StatusCode::kNotFound, "not_found",
                  "want /v1/resources[/KIND[/NAMESPACE[/NAME]]]");
  }
  Path p;
  if (!parts.empty()) p.kind = std::string(parts[0]);
  if (parts.size() > 1) p.ns = std::string(parts[1]);
  if (parts.size() > 2) p.name = std::string(parts[2]);
  const auto& kinds = policy::knownKinds();
  if (!p.kind.empty() && std::find(kinds.begin(), kinds.end(), p.kind) == kinds.end()) {
    return refuse(
        absl::StatusCode::kNotFound, "unknown_kind",
        weft::strCat("unknown kind '", p.kind, "' (known: ", weft::join(kinds, ", "), ")"));
  }
  return p;
}

json resultJson(const policy::Applied& a, bool dry_run) {
  json out = {{"kind", a.key.kind},
              {"namespace", a.key.ns},
              {"name", a.key.name},
              {"action", a.action},
              {"resourceVersion", std::to_string(a.resource_version)}};
  if (dry_run) {
    out["live"] = a.live;
    out["object"] = a.object;
  }
  return out;
}

}  // namespace

void PolicyApi::addRoutes(http::ApiRouter& router) {
  auto bind = [this](awaitable<void> (PolicyApi::*handler)(http::ApiRequest&)) {
    return adminOnly(admin_, [this, handler](http::ApiRequest& request) -> awaitable<void> {
      co_await (this->*handler)(request);
    });
  };
  router.route("POST", "/v1/apply", bind(&PolicyApi::apply));
  router.get("/v1/resources", bind(&PolicyApi::get));
  router.get("/v1/resources/*", bind(&PolicyApi::get));
  router.route("DELETE", "/v1/resources/*", bind(&PolicyApi::remove));
  router.route("POST", "/v1/authz/check", bind(&PolicyApi::authzCheck));
}

awaitable<void> PolicyApi::apply(http::ApiRequest& request) {
  const bool dry_run = http::queryParam(request.query, "dryRun").value_or("false") == "true";
  const std::string* source_header = request.stream.request().headers.get("x-weft-source");
  const std::string source = source_header != nullptr && !source_header->empty() &&
                                     source_header->size() <= 256 &&
                                     weft::isValidUtf8(*source_header)
                                 ? *source_header
                                 : std::string("request body");
  auto body = co_await readBody(request.stream, kMaxApplyBody);
  const auto started = std::chrono::steady_clock::now();
  absl::StatusOr<std::vector<policy::Manifest>> manifests =
      body.ok() ? policy::parseManifests(*body, source) : body.status();
  absl::StatusOr<std::vector<policy::Applied>> applied =
      manifests.ok() ? policies_.apply(*manifests, dry_run) : manifests.status();
  if (!applied.ok()) {
    metrics_.applied(reasonOf(applied.status()));
    co_await replyRefusal(request.stream, applied.status());
    co_return;
  }
  metrics_.applied("ok");
  if (!dry_run) metrics_.storeWrite(std::chrono::steady_clock::now() - started);
  json results = json::array();
  for (const policy::Applied& a : *applied) results.push_back(resultJson(a, dry_run));
  const json out = {{"dryRun", dry_run}, {"results", std::move(results)}};
  co_await replyJson(request.stream, 200, out);
}

awaitable<void> PolicyApi::get(http::ApiRequest& request) {
  auto path = parsePath(request.rest);
  if (!path.ok()) {
    co_await replyRefusal(request.stream, path.status());
    co_return;
  }
  if (!path->name.empty()) {
    std::optional<json> object = policies_.get({path->kind, path->ns, path->name});
    if (!object) {
      const absl::Status missing =
          refuse(absl::StatusCode::kNotFound, "not_found",
                 weft::strCat(path->kind, " ", path->ns, "/", path->name, " does not exist"));
      co_await replyRefusal(request.stream, missing);
      co_return;
    }
    co_await replyJson(request.stream, 200, *object);
    co_return;
  }
  json items = json::array();
  for (json& o : policies_.list(path->kind, path->ns)) items.push_back(std::move(o));
  const json out = {{"kind", "List"}, {"items", std::move(items)}};
  co_await replyJson(request.stream, 200, out);
}

awaitable<void> PolicyApi::remove(http::ApiRequest& request) {
  auto path = parsePath(request.rest);
  std::optional<store::Revision> rv;
  if (auto q = http::queryParam(request.query, "resourceVersion")) {
    uint64_t n = 0;
    if (!weft::parseUnsigned(*q, &n) || n > uint64_t{INT64_MAX}) {
      path = refuse(absl::StatusCode::kInvalidArgument, "invalid_field",
                    "resourceVersion: must be a number");
    }
    rv = static_cast<store::Revision>(n);
  }
  if (path.ok() && path->name.empty()) {
    path = refuse(absl::StatusCode::kNotFound, "not_found",
                  "want DELETE /v1/resources/KIND/NAMESPACE/NAME");
  }
  absl::StatusOr<store::Revision> removed =
      path.ok() ? policies_.remove({path->kind, path->ns, path->name}, rv) : path.status();
  if (!removed.ok()) {
    co_await replyRefusal(request.stream, removed.status());
    co_return;
  }
  const json out = {{"kind", path->kind},
                    {"namespace", path->ns},
                    {"name", path->name},
                    {"action", "deleted"},
                    {"revision", std::to_string(*removed)}};
  co_await replyJson(request.stream, 200, out);
}

absl::StatusOr<api::AuthorizationDecision> PolicyApi::decide(
    const absl::StatusOr<std::string>& body) {
  if (!body.ok()) return body.status();
  auto doc = parseJsonObject(*body);
  if (!doc.ok()) return doc.status();
  if (!doc->contains("from") || !doc->contains("to")) {
    return refuse(absl::StatusCode::kInvalidArgument, "invalid_field",
                  "from (a SPIFFE ID) and to (a Service) are required");
  }
  auto from = stringField(*doc, "from");
  auto to = stringField(*doc, "to");
  auto ns = stringField(*doc, "namespace", "default");
  auto method = stringField(*doc, "method", "GET");
  auto path = stringField(*doc, "path", "/");
  for (const auto* field : {&from, &to, &ns, &method, &path}) {
    if (!field->ok()) return field->status();
  }
  absl::StatusOr<api::MeshConfigConstSharedPtr> mesh = policies_.mesh();
  if (!mesh.ok()) return mesh.status();
  if ((*mesh)->findService(*to, *ns) == nullptr) {
    return refuse(absl::StatusCode::kNotFound, "not_found",
                  weft::strCat("Service ", *ns, "/", *to, " does not exist"));
  }
  return api::authorize(**mesh, *to, *ns, *from, *method, *path);
}

awaitable<void> PolicyApi::authzCheck(http::ApiRequest& request) {
  auto body = co_await readBody(request.stream, 64 * 1024);
  absl::StatusOr<api::AuthorizationDecision> d = decide(body);
  if (!d.ok()) {
    co_await replyRefusal(request.stream, d.status());
    co_return;
  }
  const json out = {{"allowed", d->allowed}, {"reason", d->reason}};
  co_await replyJson(request.stream, 200, out);
}

}  // namespace weft::control
