#pragma once

#include <string>

#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>

#include "common/strings.h"
#include "net/asio.h"

namespace weft {

// An error as the proxy reports it in x-weft-error and logs: the error's message without
// OpenSSL's " (SSL routines)" suffix, e.g. "tlsv1 alert unknown ca".
inline std::string errorText(const error_code& ec) {
  std::string s = ec.message();
  if (auto pos = s.find(" (SSL routines)"); pos != std::string::npos) s.erase(pos);
  return s;
}

// A failed TLS handshake: errorText plus, when the peer's certificate failed verification, why
// ("certificate verify failed (unable to get local issuer certificate)").
inline std::string tlsErrorText(const error_code& ec, SSL* ssl) {
  std::string why = errorText(ec);
  long verify = SSL_get_verify_result(ssl);
  if (verify != X509_V_OK) weft::strAppend(why, " (", X509_verify_cert_error_string(verify), ")");
  return why;
}

}  // namespace weft
