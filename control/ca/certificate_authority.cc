#include "control/ca/certificate_authority.h"

#include <openssl/sha.h>

#include "absl/strings/escaping.h"
#include "common/strings.h"
#include "control/ca/cert_builder.h"
#include "control/ca/csr_check.h"
#include "control/ca/refusal.h"

namespace weft::control::ca {
namespace {

struct X509PubkeyFree {
  void operator()(X509_PUBKEY* p) const { X509_PUBKEY_free(p); }
};

// SHA-256 of the DER SubjectPublicKeyInfo, hex, first 16 bytes.
std::string keyIdOf(const X509_PUBKEY* spki) {
  unsigned char* der = nullptr;
  const int n = i2d_X509_PUBKEY(spki, &der);
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(der, n > 0 ? static_cast<size_t>(n) : 0, digest);
  OPENSSL_free(der);
  return absl::BytesToHexString(absl::string_view(reinterpret_cast<const char*>(digest), 16));
}

absl::Status internal(const absl::Status& status) {
  return refuse(absl::StatusCode::kInternal, "internal", weft::strCat(status.message()));
}

}  // namespace

CertificateAuthorityImpl::CertificateAuthorityImpl(std::shared_ptr<const CaMaterial> material,
                                                   IssuancePolicy policy, Clock clock)
    : material_(std::move(material)),
      policy_(policy),
      clock_(std::move(clock)),
      issuer_expiry_(identity::toTimePoint(X509_get0_notAfter(material_->issuer.get()))),
      signer_(LeafSigner::create(material_->issuer.get(), material_->issuer_key.get())) {}

void CertificateAuthorityImpl::setMaterial(std::shared_ptr<const CaMaterial> material) {
  material_ = std::move(material);
  issuer_expiry_ = identity::toTimePoint(X509_get0_notAfter(material_->issuer.get()));
  signer_ = LeafSigner::create(material_->issuer.get(), material_->issuer_key.get());
}

absl::StatusOr<IssuedCertificate> CertificateAuthorityImpl::issue(std::string_view csr_pem,
                                                                  std::string_view identity) {
  auto csr = checkRequest(csr_pem, identity);
  if (!csr.ok()) return csr.status();
  return issueFor(X509_REQ_get_X509_PUBKEY(csr->request.get()), identity);
}

absl::StatusOr<IssuedCertificate> CertificateAuthorityImpl::issueForKey(EVP_PKEY* key,
                                                                        std::string_view identity) {
  X509_PUBKEY* spki = nullptr;
  if (X509_PUBKEY_set(&spki, key) != 1) {
    return internal(
        absl::InternalError("cannot encode the public key: " + identity::opensslError()));
  }
  std::unique_ptr<X509_PUBKEY, X509PubkeyFree> owned(spki);
  return issueFor(spki, identity);
}

absl::StatusOr<IssuedCertificate> CertificateAuthorityImpl::issueFor(const X509_PUBKEY* spki,
                                                                     std::string_view identity) {
  const SystemTime now = clock_();
  if (issuer_expiry_ <= now) {
    return refuse(absl::StatusCode::kUnavailable, "issuer_expired",
                  "the issuing CA has expired; renew it (weftctl ca rotate) before issuing");
  }
  if (!signer_.ok()) return internal(signer_.status());
  // Never past the issuer: a leaf outliving its chain would not verify anyway.
  const SystemTime not_after = std::min(now + policy_.ttl, issuer_expiry_);
  const SystemTime not_before = now - policy_.backdate;
  auto cert = signer_->sign(spki, identity, not_before, not_after);
  if (!cert.ok()) return internal(cert.status());
  IssuedCertificate out;
  out.identity = std::string(identity);
  out.certificate_pem = identity::certificatePem(cert->get());
  out.chain_pem = material_->chain_pem;
  out.trust_bundle_pem = material_->bundle_pem;
  out.bundle_version = material_->bundle_version;
  out.serial = identity::serialHex(cert->get());
  out.issuer_fingerprint = material_->issuer_fingerprint;
  out.key_id = keyIdOf(spki);
  // What the certificate says, at its one-second resolution.
  out.not_before = identity::toTimePoint(X509_get0_notBefore(cert->get()));
  out.not_after = identity::toTimePoint(X509_get0_notAfter(cert->get()));
  return out;
}

}  // namespace weft::control::ca
