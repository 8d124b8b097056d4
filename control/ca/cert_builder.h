#pragma once

// Building and signing X.509 certificates for the mesh CA: its root and intermediates, its own
// serving certificate, and workload leaves (X509-SVIDs: one URI SAN, the SPIFFE ID).

#include <chrono>
#include <memory>
#include <string>
#include <string_view>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "absl/status/statusor.h"
#include "identity/x509.h"

namespace weft::control::ca {

struct CertSpec {
  std::string common_name;  // CAs only; a leaf's subject is O=weft
  std::string uri_san;      // a leaf's SPIFFE ID (required for leaves)
  bool ca = false;
  int path_len = -1;  // CAs: how many CAs may follow below (-1: unlimited)
  std::chrono::system_clock::time_point not_before;
  std::chrono::system_clock::time_point not_after;
};

// A certificate for `subject_key` signed by `issuer_key` under `issuer`'s name, or self-signed
// when `issuer` is null. Serial: 128 random bits. Leaves: CA:FALSE, digitalSignature and
// keyEncipherment, serverAuth and clientAuth, the URI SAN. CAs: CA:TRUE, keyCertSign and cRLSign.
absl::StatusOr<identity::X509Ptr> buildCertificate(const CertSpec& spec, EVP_PKEY* subject_key,
                                                   X509* issuer, EVP_PKEY* issuer_key);

// Workload leaves from one issuer, with everything they share worked out once: the issuer's
// name, the subject (O=weft), the constant extensions (basicConstraints CA:FALSE, keyUsage,
// extKeyUsage) and the authority key id taken from the issuer. Per certificate: the serial, the
// validity, the public key, the URI SAN, the subject key id and the signature. The leaves are
// what buildCertificate makes for a CertSpec without `ca`. `issuer` and `issuer_key` must outlive
// it (they live in the CaMaterial beside it).
class LeafSigner {
 public:
  static absl::StatusOr<LeafSigner> create(X509* issuer, EVP_PKEY* issuer_key);

  // A leaf over `spki`, a SubjectPublicKeyInfo as parsed from a CSR, copied into the certificate
  // as it is. (X509_set_pubkey, from an EVP_PKEY, has OpenSSL 3.0 set up an encoder and a decoder
  // from scratch to encode the key and decode it back: ~160 µs, four times this whole call.)
  absl::StatusOr<identity::X509Ptr> sign(const X509_PUBKEY* spki, std::string_view uri_san,
                                         std::chrono::system_clock::time_point not_before,
                                         std::chrono::system_clock::time_point not_after) const;

 private:
  LeafSigner() = default;

  X509* issuer_ = nullptr;
  EVP_PKEY* issuer_key_ = nullptr;
  const EVP_MD* digest_ = nullptr;
  std::unique_ptr<X509_NAME, decltype(&X509_NAME_free)> subject_{nullptr, X509_NAME_free};
  identity::X509ExtPtr basic_constraints_;
  identity::X509ExtPtr key_usage_;
  identity::X509ExtPtr ext_key_usage_;
  identity::X509ExtPtr authority_key_id_;
};

// The SHA-256 fingerprint of the certificate's DER, hex with colons, as `openssl x509
// -fingerprint -sha256` prints it.
std::string fingerprint(X509* cert);

}  // namespace weft::control::ca
