#include "control/ca/certificate_authority.h"

#include <openssl/sha.h>

#include "common/strings.h"
#include "control/ca/cert_builder.h"
#include "control/ca/csr_check.h"
#include "control/ca/refusal.h"

namespace weft::control::ca {
namespace {

std::string keyIdOf(EVP_PKEY* key) {
  unsigned char* der = nullptr;
  const int n = i2d_PUBKEY(key, &der);
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(der, n > 0 ? static_cast<size_t>(n) : 0, digest);
  OPENSSL_free(der);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (size_t i = 0; i < 16; ++i) {
    out.push_back(kHex[digest[i] >> 4]);
    out.push_back(kHex[digest[i] & 0xf]);
  }
  return out;
}

}  // namespace

CertificateAuthorityImpl::CertificateAuthorityImpl(std::shared_ptr<const CaMaterial> material,
                                                   IssuancePolicy policy, Clock clock)
    : material_(std::move(material)),
      policy_(policy),
      clock_(std::move(clock)),
      issuer_fingerprint_(fingerprint(material_->issuer.get())) {}

void CertificateAuthorityImpl::setMaterial(std::shared_ptr<const CaMaterial> material) {
  material_ = std::move(material);
  issuer_fingerprint_ = fingerprint(material_->issuer.get());
}

absl::StatusOr<IssuedCertificate> CertificateAuthorityImpl::issue(std::string_view csr_pem,
                                                                  std::string_view identity) {
  auto key = checkCsr(csr_pem, identity);
  if (!key.ok()) return key.status();
  return issueForKey(key->get(), identity);
}

absl::StatusOr<IssuedCertificate> CertificateAuthorityImpl::issueForKey(EVP_PKEY* key,
                                                                        std::string_view identity) {
  const SystemTime now = clock_();
  const SystemTime issuer_expiry =
      identity::toTimePoint(X509_get0_notAfter(material_->issuer.get()));
  if (issuer_expiry <= now) {
    return refuse(absl::StatusCode::kUnavailable, "issuer_expired",
                  "the issuing CA has expired; renew it (weftctl ca rotate) before issuing");
  }
  // Never past the issuer: a leaf outliving its chain would not verify anyway.
  const SystemTime not_after = std::min(now + policy_.ttl, issuer_expiry);
  const SystemTime not_before = now - policy_.backdate;
  CertSpec spec{.common_name = {},
                .uri_san = std::string(identity),
                .ca = false,
                .path_len = -1,
                .not_before = not_before,
                .not_after = not_after};
  auto cert = buildCertificate(spec, key, material_->issuer.get(), material_->issuer_key.get());
  if (!cert.ok())
    return refuse(absl::StatusCode::kInternal, "internal", weft::strCat(cert.status().message()));
  IssuedCertificate out;
  out.identity = std::string(identity);
  out.certificate_pem = identity::certificatePem(cert->get());
  out.chain_pem = material_->chain_pem;
  out.trust_bundle_pem = material_->bundle_pem;
  out.bundle_version = material_->bundle_version;
  out.serial = identity::serialHex(cert->get());
  out.issuer_fingerprint = issuer_fingerprint_;
  out.key_id = keyIdOf(key);
  // What the certificate says, at its one-second resolution.
  out.not_before = identity::toTimePoint(X509_get0_notBefore(cert->get()));
  out.not_after = identity::toTimePoint(X509_get0_notAfter(cert->get()));
  return out;
}

}  // namespace weft::control::ca
