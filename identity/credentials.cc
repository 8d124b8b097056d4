#include "identity/credentials.h"

#include <ctime>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>

#include "common/strings.h"
#include "identity/alpn.h"
#include "identity/spiffe.h"
#include "identity/x509.h"

namespace weft::identity {
namespace ssl = boost::asio::ssl;
namespace {

absl::Status fileError(std::string_view what, std::string_view path,
                       const boost::system::error_code& ec) {
  return absl::InvalidArgumentError(weft::strCat(what, " ", path, ": ", ec.message()));
}

absl::StatusOr<std::unique_ptr<ssl::context>> baseContext(ssl::context::method method,
                                                          const CredentialFiles& files) {
  auto ctx = std::make_unique<ssl::context>(method);
  SSL_CTX* native = ctx->native_handle();
  SSL_CTX_set_min_proto_version(native, TLS1_3_VERSION);
  SSL_CTX_set_max_proto_version(native, TLS1_3_VERSION);
  boost::system::error_code ec;
  ctx->use_certificate_chain_file(files.cert, ec);
  if (ec) return fileError("cannot load certificate", files.cert, ec);
  ctx->use_private_key_file(files.key, ssl::context::pem, ec);
  if (ec) return fileError("cannot load private key", files.key, ec);
  if (SSL_CTX_check_private_key(native) != 1) {
    return absl::InvalidArgumentError(
        weft::strCat("private key ", files.key, " does not match certificate ", files.cert));
  }
  ctx->load_verify_file(files.trust_bundle, ec);
  if (ec) return fileError("cannot load trust bundle", files.trust_bundle, ec);
  return ctx;
}

absl::StatusOr<std::unique_ptr<ssl::context>> baseContextFromPem(ssl::context::method method,
                                                                 const CredentialPem& pem,
                                                                 std::string_view origin) {
  auto ctx = std::make_unique<ssl::context>(method);
  SSL_CTX* native = ctx->native_handle();
  SSL_CTX_set_min_proto_version(native, TLS1_3_VERSION);
  SSL_CTX_set_max_proto_version(native, TLS1_3_VERSION);
  boost::system::error_code ec;
  auto failed = [&](std::string_view what) {
    return absl::InvalidArgumentError(
        weft::strCat(origin, ": cannot load ", what, ": ", ec.message()));
  };
  ctx->use_certificate_chain(boost::asio::buffer(pem.chain), ec);
  if (ec) return failed("the certificate");
  ctx->use_private_key(boost::asio::buffer(pem.key), ssl::context::pem, ec);
  if (ec) return failed("the private key");
  if (SSL_CTX_check_private_key(native) != 1) {
    return absl::InvalidArgumentError(
        weft::strCat(origin, ": the private key does not match the certificate"));
  }
  ctx->add_certificate_authority(boost::asio::buffer(pem.trust_bundle), ec);
  if (ec) return failed("the trust bundle");
  return ctx;
}

// Checks our own certificate against the bundle, as a peer will.
absl::Status verifyOwnChain(SSL_CTX* ctx, X509* leaf) {
  X509_STORE_CTX* store_ctx = X509_STORE_CTX_new();
  STACK_OF(X509)* chain = nullptr;
  SSL_CTX_get0_chain_certs(ctx, &chain);
  // A chain loaded from memory (ssl::context::use_certificate_chain) is the "extra" chain.
  if (chain == nullptr || sk_X509_num(chain) == 0) SSL_CTX_get_extra_chain_certs(ctx, &chain);
  X509_STORE_CTX_init(store_ctx, SSL_CTX_get_cert_store(ctx), leaf, chain);
  int ok = X509_verify_cert(store_ctx);
  int err = X509_STORE_CTX_get_error(store_ctx);
  X509_STORE_CTX_free(store_ctx);
  if (ok != 1) {
    return absl::InvalidArgumentError(
        weft::strCat("certificate does not verify against the trust bundle: ",
                     X509_verify_cert_error_string(err)));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::shared_ptr<const Credentials>> Credentials::load(
    const CredentialFiles& files, std::string_view trust_domain,
    std::string_view expected_identity) {
  std::shared_ptr<Credentials> creds(new Credentials());
  auto server = baseContext(ssl::context::tls_server, files);
  if (!server.ok()) return server.status();
  auto client = baseContext(ssl::context::tls_client, files);
  if (!client.ok()) return client.status();
  creds->server_ = std::move(*server);
  creds->client_ = std::move(*client);
  return finish(std::move(creds), trust_domain, expected_identity, files.cert);
}

absl::StatusOr<std::shared_ptr<const Credentials>> Credentials::fromPem(
    const CredentialPem& pem, std::string_view trust_domain, std::string_view expected_identity,
    std::string_view origin) {
  std::shared_ptr<Credentials> creds(new Credentials());
  auto server = baseContextFromPem(ssl::context::tls_server, pem, origin);
  if (!server.ok()) return server.status();
  auto client = baseContextFromPem(ssl::context::tls_client, pem, origin);
  if (!client.ok()) return client.status();
  creds->server_ = std::move(*server);
  creds->client_ = std::move(*client);
  return finish(std::move(creds), trust_domain, expected_identity, origin);
}

absl::StatusOr<std::shared_ptr<const Credentials>> Credentials::finish(
    std::shared_ptr<Credentials> creds, std::string_view trust_domain,
    std::string_view expected_identity, std::string_view origin) {
  creds->trust_domain_ = std::string(trust_domain);

  X509* leaf = SSL_CTX_get0_certificate(creds->server_->native_handle());
  auto id = spiffeIdOf(leaf);
  if (!id.ok()) {
    return absl::InvalidArgumentError(weft::strCat(origin, ": ", id.status().message()));
  }
  if (id->uri() != expected_identity) {
    return absl::InvalidArgumentError(weft::strCat(origin, " identifies ", id->uri(),
                                                   " but this proxy runs as ", expected_identity));
  }
  if (auto st = verifyOwnChain(creds->server_->native_handle(), leaf); !st.ok()) {
    return absl::InvalidArgumentError(weft::strCat(origin, ": ", st.message()));
  }
  creds->identity_ = id->uri();
  creds->not_after_ = toTimePoint(X509_get0_notAfter(leaf));
  creds->not_before_ = toTimePoint(X509_get0_notBefore(leaf));
  // Inbound: a client certificate is required, must chain to the bundle, and must name a
  // workload in our trust domain.
  SSL_CTX* sctx = creds->server_->native_handle();
  SSL_CTX_set_num_tickets(sctx, 0);  // peers do not resume; skip ticket work per handshake
  selectAlpnOnAccept(sctx);
  std::string td(trust_domain);
  creds->server_->set_verify_mode(ssl::verify_peer | ssl::verify_fail_if_no_peer_cert);
  creds->server_->set_verify_callback([td](bool preverified, ssl::verify_context& vctx) {
    X509_STORE_CTX* sctx = vctx.native_handle();
    if (!preverified) return false;
    if (X509_STORE_CTX_get_error_depth(sctx) != 0) return true;
    auto peer = spiffeIdOf(X509_STORE_CTX_get_current_cert(sctx));
    if (!peer.ok() || peer->trust_domain != td) {
      X509_STORE_CTX_set_error(sctx, X509_V_ERR_APPLICATION_VERIFICATION);
      return false;
    }
    return true;
  });

  // Outbound: verify the server's chain; the identity is checked per endpoint after connect.
  creds->client_->set_verify_mode(ssl::verify_peer);
  return std::shared_ptr<const Credentials>(std::move(creds));
}

void keepRecordBuffers(SSL* ssl) { SSL_clear_mode(ssl, SSL_MODE_RELEASE_BUFFERS); }

absl::StatusOr<std::string> peerIdentity(SSL* ssl) {
  X509* peer = SSL_get0_peer_certificate(ssl);
  if (peer == nullptr) return absl::PermissionDeniedError("peer presented no certificate");
  auto id = spiffeIdOf(peer);
  if (!id.ok()) return id.status();
  return id->uri();
}

}  // namespace weft::identity
