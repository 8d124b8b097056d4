#pragma once

// Keys and X.509 certificates built in memory with the OpenSSL C API, for identity tests.

#include <memory>
#include <string>
#include <vector>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "identity/x509.h"

namespace weft::testutil {

using identity::PkeyPtr;
using identity::X509Ptr;

// A fresh EC P-256 key.
PkeyPtr makeKey();

struct CertSpec {
  std::string common_name = "test";
  std::vector<std::string> uri_sans = {};
  std::vector<std::string> dns_sans = {};
  bool is_ca = false;
};

// A certificate for `key`, signed by `issuer_key` under `issuer`'s name, or self-signed when
// `issuer` is null. Valid from an hour ago for a day.
X509Ptr makeCert(const CertSpec& spec, EVP_PKEY* key, X509* issuer = nullptr,
                 EVP_PKEY* issuer_key = nullptr);

std::string certPem(X509* cert);
std::string keyPem(EVP_PKEY* key);

// A fresh directory under the test temp dir; removed by the caller (or left for inspection).
std::string makeTempDir();
void writeFile(const std::string& path, const std::string& contents);

}  // namespace weft::testutil
