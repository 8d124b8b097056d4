#include "control/server/identity_service.h"

#include "common/rfc3339.h"
#include "common/strings.h"
#include "control/auth/admin_token.h"
#include "control/ca/refusal.h"
#include "control/server/json_api.h"
#include "identity/spiffe.h"
#include "net/log.h"

namespace weft::control {

IdentityService::IdentityService(ca::CertificateAuthority& ca, const auth::TokenVerifier& tokens,
                                 ca::Holders& holders, ControlMetrics& metrics,
                                 std::string trust_domain, Clock clock)
    : ca_(ca),
      tokens_(tokens),
      holders_(holders),
      metrics_(metrics),
      trust_domain_(std::move(trust_domain)),
      clock_(std::move(clock)) {}

void IdentityService::addRoutes(http::ApiRouter& router) {
  router.route("POST", "/v1/certificates", [this](http::ApiRequest& r) { return issue(r); });
  router.get("/v1/trust-bundle", [this](http::ApiRequest& r) { return trustBundle(r); });
}

absl::StatusOr<std::string> IdentityService::caller(http::ApiRequest& request) const {
  const std::string* authorization = request.stream.request().headers.get("authorization");
  const std::string_view token =
      authorization != nullptr ? auth::bearerToken(*authorization) : std::string_view();
  absl::Status refusal = refuse(absl::StatusCode::kUnauthenticated, "missing_token",
                                "no join token: send 'Authorization: Bearer <token>'");
  if (!token.empty()) {
    auto who = tokens_.verify(token, clock_());
    if (who.ok()) return who->identity;
    refusal = who.status();
  }
  // A renewal may prove itself with the certificate it renews instead: the TLS handshake has
  // checked it against the trust bundle and its dates, so a join token may expire long before
  // the workload stops renewing.
  const std::string& presented = request.stream.downstream().peer_identity;
  if (!presented.empty()) {
    auto id = identity::parseSpiffeId(presented);
    if (id.ok() && id->trust_domain == trust_domain_) return presented;
  }
  return refusal;
}

awaitable<absl::StatusOr<ca::IssuedCertificate>> IdentityService::tryIssue(
    http::ApiRequest& request, uint64_t& bundle_version) {
  auto who = caller(request);
  if (!who.ok()) co_return who.status();
  auto body = co_await readBody(request.stream, kMaxCertificateRequestBytes);
  if (!body.ok()) co_return body.status();
  auto doc = parseJsonObject(*body);
  if (!doc.ok()) co_return doc.status();
  const auto csr = doc->find("csr");
  if (csr == doc->end() || !csr->is_string()) {
    co_return refuse(absl::StatusCode::kInvalidArgument, "malformed_body",
                     "the request body has no string field 'csr'");
  }
  const auto version = doc->find("bundleVersion");
  if (version != doc->end() && version->is_number_unsigned()) {
    bundle_version = version->get<uint64_t>();
  }
  co_return ca_.issue(csr->get_ref<const std::string&>(), *who);
}

awaitable<void> IdentityService::issue(http::ApiRequest& request) {
  const std::string peer =
      weft::strCat(request.peer.address().to_string(), ":", request.peer.port());
  uint64_t held_version = 0;
  auto issued = co_await tryIssue(request, held_version);
  if (!issued.ok()) {
    const std::string reason = reasonOf(issued.status());
    metrics_.rejected(reason);
    log::warn("certificate request from ", peer, " refused: ", reason, ": ",
              issued.status().message());
    co_await replyRefusal(request.stream, issued.status());
    co_return;
  }
  metrics_.issued();
  holders_.record(issued->key_id,
                  ca::Holding{issued->identity, issued->serial, issued->issuer_fingerprint, peer,
                              clock_(), issued->not_after, held_version});
  log::info("issued ", issued->identity, " serial ", issued->serial, " until ",
            weft::rfc3339(issued->not_after), " to ", peer);
  const nlohmann::json body = {{"identity", issued->identity},
                               {"certificate", issued->certificate_pem},
                               {"chain", issued->chain_pem},
                               {"trustBundle", issued->trust_bundle_pem},
                               {"bundleVersion", issued->bundle_version},
                               {"serial", issued->serial},
                               {"notBefore", weft::rfc3339(issued->not_before)},
                               {"notAfter", weft::rfc3339(issued->not_after)}};
  co_await replyJson(request.stream, 200, body);
  if (on_issued_) on_issued_();
}

awaitable<void> IdentityService::trustBundle(http::ApiRequest& request) {
  std::shared_ptr<const ca::CaMaterial> material = ca_.material();
  http::HeaderMap headers;
  headers.add("x-weft-bundle-version", std::to_string(material->bundle_version));
  // A proxy polling with its certificate: record which bundle it holds (`?held=N`), and tell it
  // to renew now when its leaf is not from the current issuer (a trust rotation moved on).
  const http::DownstreamInfo& peer = request.stream.downstream();
  ca::Holding* holding =
      peer.peer_identity.empty() ? nullptr : holders_.find(peer.peer_identity, peer.peer_serial);
  if (holding != nullptr) {
    uint64_t held = 0;
    if (request.query.starts_with("held=") && weft::parseUnsigned(request.query.substr(5), &held) &&
        held <= material->bundle_version && held > holding->bundle_version) {
      holding->bundle_version = held;
      if (on_issued_) on_issued_();
    }
    if (holding->issuer_fingerprint != material->issuer_fingerprint) {
      headers.add("x-weft-renew", "issuer-changed");
    }
  }
  const std::string bundle = material->bundle_pem;
  co_await http::reply(request.stream, 200, "application/x-pem-file", bundle, &headers);
}

}  // namespace weft::control
