#pragma once

// OpenSSL's X.509 objects with owners, and the PEM and key steps both sides of issuance need:
// the CA (parse a CSR, sign, write its own keys) and the proxy (make a key, read what it got).

#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "absl/status/statusor.h"

namespace weft::identity {

struct X509Free {
  void operator()(X509* p) const { X509_free(p); }
};
struct PkeyFree {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
struct X509ReqFree {
  void operator()(X509_REQ* p) const { X509_REQ_free(p); }
};
using X509Ptr = std::unique_ptr<X509, X509Free>;
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;
struct X509ExtFree {
  void operator()(X509_EXTENSION* p) const { X509_EXTENSION_free(p); }
};
using X509ReqPtr = std::unique_ptr<X509_REQ, X509ReqFree>;
using X509ExtPtr = std::unique_ptr<X509_EXTENSION, X509ExtFree>;

// OpenSSL's reason for the last failure on this thread ("unsupported algorithm"), or
// `fallback` when it queued none; clears the queue.
std::string opensslError(std::string_view fallback = "unknown error");

// Every certificate in `pem`, in order; InvalidArgument when there is none or one is malformed.
absl::StatusOr<std::vector<X509Ptr>> parseCertificates(std::string_view pem);
absl::StatusOr<PkeyPtr> parsePrivateKey(std::string_view pem);
absl::StatusOr<X509ReqPtr> parseCsr(std::string_view pem);

std::string certificatePem(X509* cert);
// PKCS#8, unencrypted: for files written 0600 and memory only.
std::string privateKeyPem(EVP_PKEY* key);

// A fresh EC key on `curve` ("P-256", "P-384"), or Ed25519 with "ED25519". Null on failure.
PkeyPtr generateKey(std::string_view curve = "P-256");

// A subjectAltName extension with one URI (a SPIFFE ID), built as a value rather than through
// OpenSSL's config-string parser, so that no identity can smuggle in a second name with a comma.
X509ExtPtr uriSanExtension(std::string_view uri);

std::chrono::system_clock::time_point toTimePoint(const ASN1_TIME* t);
std::string serialHex(const X509* cert);

}  // namespace weft::identity
