#include "proxy/certificates/certificate_client.h"

#include <array>

#include <nlohmann/json.hpp>

#include "common/strings.h"
#include "identity/alpn.h"
#include "identity/spiffe.h"
#include "net/connection_stats.h"
#include "net/dial.h"
#include "net/http/http2/client_connection.h"
#include "net/log.h"

namespace weft::proxy::certificates {
namespace ssl = boost::asio::ssl;
namespace {

constexpr size_t kMaxAnswerBytes = 256 * 1024;

absl::StatusOr<std::shared_ptr<ssl::context>> bootstrapContext(const std::string& bundle) {
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_client);
  SSL_CTX_set_min_proto_version(ctx->native_handle(), TLS1_3_VERSION);
  error_code ec;
  ctx->add_certificate_authority(asio::buffer(bundle), ec);
  if (ec) {
    return absl::InvalidArgumentError(
        weft::strCat("the trust bundle cannot be loaded: ", ec.message()));
  }
  ctx->set_verify_mode(ssl::verify_peer);
  return ctx;
}

// What a connection's reader and writer refer to. They may outlive a request, and even the
// client, when the process ends with a request in flight (their coroutine frames go with the
// io_context): so these live as long as the process.
const http::http2::Settings& connectionSettings() {
  static const http::http2::Settings settings = [] {
    http::http2::Settings s;
    s.read_timeout = std::chrono::seconds(10);
    s.keepalive.interval = std::chrono::seconds(0);
    return s;
  }();
  return settings;
}

net::ConnectionTally& connectionCounters() {
  static net::ConnectionTally counters;  // main thread only
  return counters;
}

absl::Status unreachable(std::string_view why) {
  return absl::UnavailableError(weft::strCat("control plane unreachable: ", why));
}

// The answer's error, as the control plane put it.
absl::Status refusal(unsigned status, const std::string& body) {
  std::string reason = "error";
  std::string message = body.substr(0, 200);
  const nlohmann::json doc = nlohmann::json::parse(body, nullptr, false);
  if (doc.is_object() && doc.contains("error") && doc["error"].is_object()) {
    reason = doc["error"].value("reason", reason);
    message = doc["error"].value("message", message);
  }
  const std::string text =
      weft::strCat("control plane refused the request (", status, " ", reason, "): ", message);
  return status >= 500 ? absl::UnavailableError(text) : absl::PermissionDeniedError(text);
}

}  // namespace

absl::StatusOr<api::HostPort> parseControlUrl(std::string_view url) {
  std::string_view rest = url;
  if (!rest.starts_with("https://")) {
    return absl::InvalidArgumentError(
        weft::strCat("'", url, "': want https://HOST:PORT (the control plane speaks TLS)"));
  }
  rest.remove_prefix(8);
  while (rest.ends_with('/')) rest.remove_suffix(1);
  auto hp = api::parseHostPort(rest);
  if (!hp.ok())
    return absl::InvalidArgumentError(weft::strCat("'", url, "': ", hp.status().message()));
  return hp;
}

CertificateClientImpl::CertificateClientImpl(Executor executor, api::HostPort control,
                                             std::string trust_domain,
                                             std::chrono::milliseconds timeout)
    : executor_(executor),
      control_(std::move(control)),
      expected_identity_(
          weft::identity::workloadIdentity(trust_domain, "weft-system", "weft-control")),
      timeout_(timeout) {}

awaitable<absl::StatusOr<TlsStream>> dialControl(Executor executor, const api::HostPort& control,
                                                 const std::string& expected_identity,
                                                 ssl::context& context,
                                                 std::chrono::milliseconds timeout) {
  error_code ec;
  const tcp::endpoint endpoint(asio::ip::make_address(control.host, ec), control.port);
  if (ec) co_return absl::InvalidArgumentError(weft::strCat("control address: ", ec.message()));
  auto tcp = co_await net::dialTcp(executor, endpoint, timeout);
  if (!tcp.ok()) co_return unreachable(weft::sv(tcp.status().message()));
  auto tls = co_await net::handshakeMtls(std::move(*tcp), context, expected_identity,
                                         net::MeshAlpn::kHttp, timeout);
  if (!tls.ok()) co_return unreachable(weft::sv(tls.status().message()));
  if (!weft::identity::negotiatedHttp2(tls->native_handle())) {
    co_return unreachable("the control plane did not agree to HTTP/2 (ALPN)");
  }
  co_return std::move(*tls);
}

awaitable<absl::StatusOr<TlsStream>> CertificateClientImpl::connect(ssl::context& context) {
  co_return co_await dialControl(executor_, control_, expected_identity_, context, timeout_);
}

awaitable<absl::StatusOr<CertificateClientImpl::Answer>> CertificateClientImpl::exchange(
    TlsStream tls, http::RequestHead head, std::string body) {
  auto conn = std::make_unique<http::http2::Http2ClientConnectionImpl<TlsStream>>(
      std::move(tls), connectionSettings(), connectionCounters());
  std::unique_ptr<http::http2::Http2ClientStream> stream = conn->openStream();
  head.scheme = "https";
  head.authority = weft::strCat(control_.host, ":", control_.port);
  head.body.present = !body.empty();
  head.body.length = body.size();
  if (error_code wec = co_await stream->sendRequestHead(head, body.empty()); wec) {
    co_return unreachable(weft::strCat("sending the request: ", wec.message()));
  }
  if (!body.empty()) {
    if (error_code wec = co_await stream->sendRequestBody(body, true); wec) {
      co_return unreachable(weft::strCat("sending the request: ", wec.message()));
    }
  }
  Answer answer;
  if (error_code rec = co_await stream->readResponseHead(answer.head); rec) {
    co_return unreachable(weft::strCat("reading the answer: ", rec.message()));
  }
  std::array<char, 16 * 1024> buffer;
  while (answer.head.body.present) {
    http::BodyRead r = co_await stream->readResponseBody(buffer);
    if (r.ec) co_return unreachable(weft::strCat("reading the answer: ", r.ec.message()));
    answer.body.append(buffer.data(), r.n);
    if (answer.body.size() > kMaxAnswerBytes) co_return unreachable("answer over 256 KiB");
    if (r.end) break;
  }
  stream.reset();
  conn->close();
  co_return answer;
}

awaitable<absl::StatusOr<IssuedPem>> CertificateClientImpl::request(CertificateRequest req) {
  absl::StatusOr<TlsStream> tls = absl::UnavailableError("not connected");
  if (req.current) {
    tls = co_await connect(req.current->clientContext());
    if (!tls.ok()) {
      log::debug("renewing with the current certificate failed (", tls.status().message(),
                 "); trying with the join token alone");
    }
  }
  if (!tls.ok()) {
    auto ctx = bootstrapContext(req.trust_bundle_pem);
    if (!ctx.ok()) co_return ctx.status();
    tls = co_await connect(**ctx);
  }
  if (!tls.ok()) co_return tls.status();
  http::RequestHead head;
  head.method = "POST";
  head.path = "/v1/certificates";
  if (!req.token.empty()) head.headers.add("authorization", "Bearer " + req.token);
  head.headers.add("content-type", "application/json");
  std::string body =
      nlohmann::json({{"csr", req.csr_pem}, {"bundleVersion", req.held_bundle_version}}).dump();
  auto answer = co_await exchange(std::move(*tls), std::move(head), std::move(body));
  if (!answer.ok()) co_return answer.status();
  if (answer->head.status != 200) co_return refusal(answer->head.status, answer->body);
  const nlohmann::json doc = nlohmann::json::parse(answer->body, nullptr, false);
  if (!doc.is_object() || !doc.contains("certificate") || !doc["certificate"].is_string()) {
    co_return unreachable("the control plane's answer is not a certificate");
  }
  co_return IssuedPem{doc.value("certificate", ""), doc.value("chain", ""),
                      doc.value("trustBundle", ""), doc.value("bundleVersion", uint64_t{0})};
}

awaitable<absl::StatusOr<BundleCheck>> CertificateClientImpl::checkBundle(
    uint64_t held_bundle_version, std::shared_ptr<const weft::identity::Credentials> current) {
  auto tls = co_await connect(current->clientContext());
  if (!tls.ok()) co_return tls.status();
  http::RequestHead head;
  head.method = "GET";
  head.path = weft::strCat("/v1/trust-bundle?held=", held_bundle_version);
  auto answer = co_await exchange(std::move(*tls), std::move(head), std::string());
  if (!answer.ok()) co_return answer.status();
  if (answer->head.status != 200) co_return refusal(answer->head.status, answer->body);
  BundleCheck check;
  const std::string* version = answer->head.headers.get("x-weft-bundle-version");
  if (version == nullptr || !weft::parseUnsigned(*version, &check.bundle_version)) {
    co_return unreachable("the control plane's answer has no x-weft-bundle-version");
  }
  check.renew = answer->head.headers.get("x-weft-renew") != nullptr;
  co_return check;
}

}  // namespace weft::proxy::certificates
