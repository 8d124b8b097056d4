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

}  // namespace weft::control
