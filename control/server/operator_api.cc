#include "control/server/operator_api.h"

#include "common/rfc3339.h"
#include "common/strings.h"
#include "control/api/duration.h"
#include "control/ca/cert_builder.h"
#include "control/ca/refusal.h"
#include "control/server/admin_only.h"
#include "control/server/json_api.h"

namespace weft::control {
namespace {

constexpr size_t kMaxApiBody = 64 * 1024;

std::string subjectOf(X509* cert) {
  char buf[256];
  X509_NAME_oneline(X509_get_subject_name(cert), buf, sizeof(buf));
  return buf;
}

nlohmann::json describe(X509* cert) {
  return {{"subject", subjectOf(cert)},
          {"serial", identity::serialHex(cert)},
          {"fingerprint", ca::fingerprint(cert)},
          {"notBefore", weft::rfc3339(identity::toTimePoint(X509_get0_notBefore(cert)))},
          {"notAfter", weft::rfc3339(identity::toTimePoint(X509_get0_notAfter(cert)))}};
}

absl::Status badField(std::string_view field, std::string_view why) {
  return refuse(absl::StatusCode::kInvalidArgument, "invalid_field",
                weft::strCat(field, ": ", why));
}

}  // namespace

OperatorApi::OperatorApi(const auth::AdminToken& admin, const auth::JoinTokens& tokens,
                         ca::CertificateAuthority& ca, ca::Holders& holders,
                         RotationControl* rotation, std::string trust_domain,
                         std::chrono::seconds cert_ttl, Clock clock)
    : admin_(admin),
      tokens_(tokens),
      ca_(ca),
      holders_(holders),
      rotation_(rotation),
      trust_domain_(std::move(trust_domain)),
      cert_ttl_(cert_ttl),
      clock_(std::move(clock)) {}

void OperatorApi::addRoutes(http::ApiRouter& router) {
  router.route("POST", "/v1/tokens", authorized(&OperatorApi::createToken));
  router.get("/v1/ca/bundle", authorized(&OperatorApi::bundle));
  router.get("/v1/ca/status", authorized(&OperatorApi::status));
  router.route("POST", "/v1/ca/rotate", authorized(&OperatorApi::rotate));
  router.route("POST", "/v1/ca/rotate/finish", authorized(&OperatorApi::finishRotation));
}

http::ApiHandler OperatorApi::authorized(
    awaitable<void> (OperatorApi::*handler)(http::ApiRequest&)) {
  return adminOnly(admin_, [this, handler](http::ApiRequest& request) -> awaitable<void> {
    co_await (this->*handler)(request);
  });
}

absl::StatusOr<auth::JoinTokens::Created> OperatorApi::tokenFor(
    const absl::StatusOr<std::string>& body) const {
  if (!body.ok()) return body.status();
  auto doc = parseJsonObject(*body);
  if (!doc.ok()) return doc.status();
  auto ttl_text = stringField(*doc, "ttl", "24h");
  auto ns = stringField(*doc, "namespace");
  auto sa = stringField(*doc, "serviceAccount");
  for (const auto* field : {&ttl_text, &ns, &sa}) {
    if (!field->ok()) return field->status();
  }
  const std::optional<api::Duration> ttl = api::parseDuration(*ttl_text);
  if (!ttl) return badField("ttl", weft::strCat("'", *ttl_text, "' is not a duration such as 24h"));
  auto created =
      tokens_.create(*ns, *sa, std::chrono::duration_cast<std::chrono::seconds>(*ttl), clock_());
  if (!created.ok()) {
    return refuse(created.status().code(), "invalid_field",
                  weft::strCat(created.status().message()));
  }
  return created;
}

awaitable<void> OperatorApi::createToken(http::ApiRequest& request) {
  auto body = co_await readBody(request.stream, kMaxApiBody);
  auto created = tokenFor(body);
  if (!created.ok()) {
    co_await replyRefusal(request.stream, created.status());
    co_return;
  }
  const nlohmann::json out = {{"token", created->token},
                              {"identity", created->identity},
                              {"expiresAt", weft::rfc3339(created->expires)}};
  co_await replyJson(request.stream, 201, out);
}

awaitable<void> OperatorApi::bundle(http::ApiRequest& request) {
  const std::string pem = ca_.material()->bundle_pem;
  co_await http::reply(request.stream, 200, "application/x-pem-file", pem);
}

awaitable<void> OperatorApi::status(http::ApiRequest& request) {
  std::shared_ptr<const ca::CaMaterial> m = ca_.material();
  nlohmann::json roots = nlohmann::json::array();
  for (const identity::X509Ptr& root : m->roots) roots.push_back(describe(root.get()));
  nlohmann::json issuer = describe(m->issuer.get());
  issuer["operatorSupplied"] = m->operator_supplied;
  nlohmann::json holders = nlohmann::json::array();
  for (const ca::Holding& h : holders_.current(clock_())) {
    holders.push_back({{"identity", h.identity},
                       {"serial", h.serial},
                       {"issuer", h.issuer_fingerprint},
                       {"peer", h.peer},
                       {"bundleVersion", h.bundle_version},
                       {"issuedAt", weft::rfc3339(h.issued_at)},
                       {"notAfter", weft::rfc3339(h.not_after)}});
  }
  const nlohmann::json rotation =
      rotation_ != nullptr
          ? rotation_->rotationStatus()
          : nlohmann::json{
                {"phase", "steady"}, {"bundleVersion", m->bundle_version}, {"operatorCa", true}};
  const nlohmann::json out = {{"trustDomain", trust_domain_},
                              {"phase", rotation.value("phase", "steady")},
                              {"rotation", rotation},
                              {"certTtl", api::formatDuration(cert_ttl_)},
                              {"roots", roots},
                              {"issuer", issuer},
                              {"holders", holders}};
  co_await replyJson(request.stream, 200, out);
}

awaitable<void> OperatorApi::rotate(http::ApiRequest& request) {
  co_await rotationStep(request, false);
}

awaitable<void> OperatorApi::finishRotation(http::ApiRequest& request) {
  co_await rotationStep(request, true);
}

awaitable<void> OperatorApi::rotationStep(http::ApiRequest& request, bool finish) {
  absl::Status st = refuse(absl::StatusCode::kFailedPrecondition, "operator_ca",
                           "this control plane signs with the operator's CA (--ca-cert): rotate "
                           "it by restarting with the new --ca-cert/--ca-key and a --root-cert "
                           "holding both roots");
  if (rotation_ != nullptr) st = finish ? rotation_->finishRotation() : rotation_->beginRotation();
  if (!st.ok()) {
    co_await replyRefusal(request.stream, st);
    co_return;
  }
  const nlohmann::json out = rotation_->rotationStatus();
  co_await replyJson(request.stream, 200, out);
}

}  // namespace weft::control
