#pragma once

// The mesh CA's issuing step: a checked CSR and an identity in, a short-lived X509-SVID out.

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "control/ca/ca_material.h"
#include "control/ca/cert_builder.h"

namespace weft::control::ca {

struct IssuancePolicy {
  std::chrono::seconds ttl{24 * 3600};  // --cert-ttl
  std::chrono::seconds backdate{20};    // notBefore this far back, for peers' clock skew
};

struct IssuedCertificate {
  std::string identity;
  std::string certificate_pem;  // the leaf
  std::string chain_pem;        // the issuer and anything above it below the roots
  std::string trust_bundle_pem;
  std::string serial;  // hex
  std::string issuer_fingerprint;
  uint64_t bundle_version = 1;  // of trust_bundle_pem
  std::string key_id;  // SHA-256 of the public key (SubjectPublicKeyInfo), hex, first 16 bytes
  SystemTime not_before;
  SystemTime not_after;
};

class CertificateAuthority {
 public:
  virtual ~CertificateAuthority() = default;

  // A certificate for `identity` (a SPIFFE ID the caller has proven, e.g. by a join token) over
  // the key of `csr_pem`, which must pass checkCsr. Refusals carry their reason
  // (control/ca/refusal.h).
  virtual absl::StatusOr<IssuedCertificate> issue(std::string_view csr_pem,
                                                  std::string_view identity) = 0;
  // The same over a key the caller holds (weft-control's own serving certificate).
  virtual absl::StatusOr<IssuedCertificate> issueForKey(EVP_PKEY* key,
                                                        std::string_view identity) = 0;
  virtual std::shared_ptr<const CaMaterial> material() const = 0;
};

class CertificateAuthorityImpl final : public CertificateAuthority {
 public:
  using Clock = std::function<SystemTime()>;

  CertificateAuthorityImpl(
      std::shared_ptr<const CaMaterial> material, IssuancePolicy policy,
      Clock clock = [] { return std::chrono::system_clock::now(); });

  absl::StatusOr<IssuedCertificate> issue(std::string_view csr_pem,
                                          std::string_view identity) override;
  absl::StatusOr<IssuedCertificate> issueForKey(EVP_PKEY* key, std::string_view identity) override;
  std::shared_ptr<const CaMaterial> material() const override { return material_; }
  // A trust rotation's next step: issue from, and send, what `material` says from now on.
  void setMaterial(std::shared_ptr<const CaMaterial> material);

 private:
  // The certificate over `spki`, the subject's SubjectPublicKeyInfo.
  absl::StatusOr<IssuedCertificate> issueFor(const X509_PUBKEY* spki, std::string_view identity);

  std::shared_ptr<const CaMaterial> material_;
  IssuancePolicy policy_;
  Clock clock_;
  // Worked out once from the issuer.
  SystemTime issuer_expiry_;
  absl::StatusOr<LeafSigner> signer_;
};

}  // namespace weft::control::ca
