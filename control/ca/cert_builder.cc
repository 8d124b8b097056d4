#include "control/ca/cert_builder.h"

#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include "common/strings.h"

namespace weft::control::ca {
namespace {

using identity::opensslError;

bool addExtension(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer != nullptr ? issuer : cert, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
  if (ext == nullptr) return false;
  const bool ok = X509_add_ext(cert, ext, -1) == 1;
  X509_EXTENSION_free(ext);
  return ok;
}

bool setSerial(X509* cert) {
  unsigned char bytes[16];
  if (RAND_bytes(bytes, sizeof(bytes)) != 1) return false;
  bytes[0] &= 0x7f;  // positive
  bytes[0] |= 0x01;  // and a full 16 bytes long
  BIGNUM* bn = BN_bin2bn(bytes, sizeof(bytes), nullptr);
  const bool ok = BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert)) != nullptr;
  BN_free(bn);
  return ok;
}

const EVP_MD* digestFor(EVP_PKEY* key) {
  if (EVP_PKEY_get_id(key) == EVP_PKEY_ED25519) return nullptr;
  return EVP_PKEY_get_bits(key) >= 384 && EVP_PKEY_get_id(key) == EVP_PKEY_EC ? EVP_sha384()
                                                                              : EVP_sha256();
}

}  // namespace

absl::StatusOr<identity::X509Ptr> buildCertificate(const CertSpec& spec, EVP_PKEY* subject_key,
                                                   X509* issuer, EVP_PKEY* issuer_key) {
  identity::X509Ptr cert(X509_new());
  X509* c = cert.get();
  auto failed = [](std::string_view step) {
    return absl::InternalError(
        weft::strCat("cannot build certificate: ", step, ": ", opensslError()));
  };
  X509_set_version(c, X509_VERSION_3);
  if (!setSerial(c)) return failed("serial");
  const time_t not_before = std::chrono::system_clock::to_time_t(spec.not_before);
  const time_t not_after = std::chrono::system_clock::to_time_t(spec.not_after);
  ASN1_TIME_set(X509_getm_notBefore(c), not_before);
  ASN1_TIME_set(X509_getm_notAfter(c), not_after);
  if (X509_set_pubkey(c, subject_key) != 1) return failed("public key");

  X509_NAME* name = X509_get_subject_name(c);
  X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("weft"), -1, -1, 0);
  if (!spec.common_name.empty()) {
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                               reinterpret_cast<const unsigned char*>(spec.common_name.c_str()), -1,
                               -1, 0);
  }
  X509_set_issuer_name(c, issuer != nullptr ? X509_get_subject_name(issuer) : name);

  if (spec.ca) {
    const std::string constraints = spec.path_len >= 0
                                        ? weft::strCat("critical,CA:TRUE,pathlen:", spec.path_len)
                                        : std::string("critical,CA:TRUE");
    if (!addExtension(c, issuer, NID_basic_constraints, constraints.c_str()) ||
        !addExtension(c, issuer, NID_key_usage, "critical,keyCertSign,cRLSign,digitalSignature")) {
      return failed("CA extensions");
    }
  } else {
    if (!addExtension(c, issuer, NID_basic_constraints, "critical,CA:FALSE") ||
        !addExtension(c, issuer, NID_key_usage, "critical,digitalSignature,keyEncipherment") ||
        !addExtension(c, issuer, NID_ext_key_usage, "serverAuth,clientAuth")) {
      return failed("leaf extensions");
    }
  }
  if (!spec.uri_san.empty()) {
    identity::X509ExtPtr san = identity::uriSanExtension(spec.uri_san);
    if (!san || X509_add_ext(c, san.get(), -1) != 1) return failed("subjectAltName");
  }
  if (!addExtension(c, issuer, NID_subject_key_identifier, "hash")) return failed("key id");
  // An operator's CA may lack a subjectKeyIdentifier: its leaves then go without the
  // authority key id (chains are built by name) rather than failing to build.
  if (issuer != nullptr && X509_get0_subject_key_id(issuer) != nullptr &&
      !addExtension(c, issuer, NID_authority_key_identifier, "keyid:always")) {
    return failed("authority key id");
  }
  EVP_PKEY* signer = issuer_key != nullptr ? issuer_key : subject_key;
  if (X509_sign(c, signer, digestFor(signer)) <= 0) return failed("sign");
  return cert;
}

std::string fingerprint(X509* cert) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  X509_digest(cert, EVP_sha256(), md, &n);
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned int i = 0; i < n; ++i) {
    if (i > 0) out.push_back(':');
    out.push_back(kHex[md[i] >> 4]);
    out.push_back(kHex[md[i] & 0xf]);
  }
  return out;
}

}  // namespace weft::control::ca
