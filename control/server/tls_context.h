#pragma once

// weft-control's own TLS on --listen: its certificate for
// spiffe://<td>/ns/weft-system/sa/weft-control, issued by its own CA, with the chain; TLS 1.3;
// ALPN h2 then http/1.1. A client certificate is asked for but optional: a proxy's first CSR
// arrives before it has one; one it presents must chain to the trust bundle.

#include <memory>

#include <boost/asio/ssl/context.hpp>

#include "absl/status/statusor.h"
#include "control/ca/certificate_authority.h"

namespace weft::control {

std::string controlPlaneIdentity(std::string_view trust_domain);

absl::StatusOr<std::shared_ptr<boost::asio::ssl::context>> serverTlsContext(
    const ca::IssuedCertificate& cert, EVP_PKEY* key);

// The admission webhook's TLS: the operator's certificate (and chain) and key, the one the API
// server verifies through the webhook configuration's caBundle; TLS 1.2 or later, no client
// certificate, ALPN h2 then http/1.1. An error names the file.
absl::StatusOr<std::shared_ptr<boost::asio::ssl::context>> webhookTlsContext(
    const std::string& cert_file, const std::string& key_file);

}  // namespace weft::control
