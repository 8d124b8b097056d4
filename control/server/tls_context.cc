#include "control/server/tls_context.h"

#include "common/strings.h"
#include "identity/alpn.h"
#include "identity/spiffe.h"
#include "identity/x509.h"

namespace weft::control {
namespace ssl = boost::asio::ssl;

std::string controlPlaneIdentity(std::string_view trust_domain) {
  return identity::workloadIdentity(trust_domain, "weft-system", "weft-control");
}

absl::StatusOr<std::shared_ptr<ssl::context>> serverTlsContext(const ca::IssuedCertificate& cert,
                                                               EVP_PKEY* key) {
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_server);
  SSL_CTX* native = ctx->native_handle();
  SSL_CTX_set_min_proto_version(native, TLS1_3_VERSION);
  SSL_CTX_set_num_tickets(native, 0);
  // Thousands of control streams sit idle between updates: give their TLS read and write
  // buffers (~34 KiB a connection) back while nothing is in flight.
  SSL_CTX_set_mode(native, SSL_MODE_RELEASE_BUFFERS);
  boost::system::error_code ec;
  const std::string chain = cert.certificate_pem + cert.chain_pem;
  const std::string key_pem = identity::privateKeyPem(key);
  ctx->use_certificate_chain(boost::asio::buffer(chain), ec);
  if (!ec) ctx->use_private_key(boost::asio::buffer(key_pem), ssl::context::pem, ec);
  if (!ec) ctx->add_certificate_authority(boost::asio::buffer(cert.trust_bundle_pem), ec);
  if (ec) {
    return absl::InternalError(
        weft::strCat("cannot build the control plane's TLS context: ", ec.message()));
  }
  ctx->set_verify_mode(ssl::verify_peer);
  identity::selectAlpnOnAccept(native);
  return ctx;
}

absl::StatusOr<std::shared_ptr<ssl::context>> webhookTlsContext(const std::string& cert_file,
                                                                const std::string& key_file) {
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_server);
  SSL_CTX_set_min_proto_version(ctx->native_handle(), TLS1_2_VERSION);
  boost::system::error_code ec;
  ctx->use_certificate_chain_file(cert_file, ec);
  if (ec) {
    return absl::InvalidArgumentError(
        weft::strCat("--webhook-cert ", cert_file, ": ", ec.message()));
  }
  ctx->use_private_key_file(key_file, ssl::context::pem, ec);
  if (ec) {
    return absl::InvalidArgumentError(weft::strCat("--webhook-key ", key_file, ": ", ec.message()));
  }
  identity::selectAlpnOnAccept(ctx->native_handle());
  return ctx;
}

}  // namespace weft::control
