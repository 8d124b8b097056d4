#include "control/ca/cert_builder.h"

#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include "common/strings.h"

namespace weft::control::ca {
namespace {

using identity::opensslError;
using identity::X509ExtPtr;

constexpr char kLeafBasicConstraints[] = "critical,CA:FALSE";
constexpr char kLeafKeyUsage[] = "critical,digitalSignature,keyEncipherment";
constexpr char kLeafExtKeyUsage[] = "serverAuth,clientAuth";

// An extension from OpenSSL's configuration syntax; key ids come from `issuer` and `subject`.
X509ExtPtr makeExtension(X509* issuer, X509* subject, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, subject, nullptr, nullptr, 0);
  return X509ExtPtr(X509V3_EXT_conf_nid(nullptr, &ctx, nid, value));
}

bool addExtension(X509* cert, X509* issuer, int nid, const char* value) {
  X509ExtPtr ext = makeExtension(issuer != nullptr ? issuer : cert, cert, nid, value);
  return ext && X509_add_ext(cert, ext.get(), -1) == 1;
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

// Version 3, a fresh serial, the validity.
bool start(X509* cert, std::chrono::system_clock::time_point not_before,
           std::chrono::system_clock::time_point not_after) {
  X509_set_version(cert, X509_VERSION_3);
  if (!setSerial(cert)) return false;
  return ASN1_TIME_set(X509_getm_notBefore(cert),
                       std::chrono::system_clock::to_time_t(not_before)) != nullptr &&
         ASN1_TIME_set(X509_getm_notAfter(cert), std::chrono::system_clock::to_time_t(not_after)) !=
             nullptr;
}

// `spki` into `cert` as it is: the algorithm with its parameters, and the key bits.
bool copyPublicKey(X509* cert, const X509_PUBKEY* spki) {
  ASN1_OBJECT* algorithm = nullptr;
  const unsigned char* bits = nullptr;
  int len = 0;
  X509_ALGOR* from = nullptr;
  if (X509_PUBKEY_get0_param(&algorithm, &bits, &len, &from, spki) != 1 || len <= 0) return false;
  auto* copy = static_cast<unsigned char*>(OPENSSL_memdup(bits, static_cast<size_t>(len)));
  X509_PUBKEY* to = X509_get_X509_PUBKEY(cert);
  if (copy == nullptr ||
      X509_PUBKEY_set0_param(to, OBJ_dup(algorithm), V_ASN1_UNDEF, nullptr, copy, len) != 1) {
    OPENSSL_free(copy);
    return false;
  }
  X509_ALGOR* to_algorithm = nullptr;
  X509_PUBKEY_get0_param(nullptr, nullptr, nullptr, &to_algorithm, to);
  return X509_ALGOR_copy(to_algorithm, from) == 1;  // and the parameters (the EC curve)
}

X509_NAME* addOrganization(X509_NAME* name) {
  X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("weft"), -1, -1, 0);
  return name;
}

const EVP_MD* digestFor(EVP_PKEY* key) {
  if (EVP_PKEY_get_id(key) == EVP_PKEY_ED25519) return nullptr;
  return EVP_PKEY_get_bits(key) >= 384 && EVP_PKEY_get_id(key) == EVP_PKEY_EC ? EVP_sha384()
                                                                              : EVP_sha256();
}

absl::Status buildFailed(std::string_view step) {
  return absl::InternalError(
      weft::strCat("cannot build certificate: ", step, ": ", opensslError()));
}

}  // namespace

absl::StatusOr<identity::X509Ptr> buildCertificate(const CertSpec& spec, EVP_PKEY* subject_key,
                                                   X509* issuer, EVP_PKEY* issuer_key) {
  identity::X509Ptr cert(X509_new());
  X509* c = cert.get();
  if (!start(c, spec.not_before, spec.not_after)) return buildFailed("serial");
  if (X509_set_pubkey(c, subject_key) != 1) return buildFailed("public key");

  X509_NAME* name = addOrganization(X509_get_subject_name(c));
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
      return buildFailed("CA extensions");
    }
  } else {
    if (!addExtension(c, issuer, NID_basic_constraints, kLeafBasicConstraints) ||
        !addExtension(c, issuer, NID_key_usage, kLeafKeyUsage) ||
        !addExtension(c, issuer, NID_ext_key_usage, kLeafExtKeyUsage)) {
      return buildFailed("leaf extensions");
    }
  }
  if (!spec.uri_san.empty()) {
    identity::X509ExtPtr san = identity::uriSanExtension(spec.uri_san);
    if (!san || X509_add_ext(c, san.get(), -1) != 1) return buildFailed("subjectAltName");
  }
  if (!addExtension(c, issuer, NID_subject_key_identifier, "hash")) return buildFailed("key id");
  // An operator's CA may lack a subjectKeyIdentifier: its leaves then go without the
  // authority key id (chains are built by name) rather than failing to build.
  if (issuer != nullptr && X509_get0_subject_key_id(issuer) != nullptr &&
      !addExtension(c, issuer, NID_authority_key_identifier, "keyid:always")) {
    return buildFailed("authority key id");
  }
  EVP_PKEY* signer = issuer_key != nullptr ? issuer_key : subject_key;
  if (X509_sign(c, signer, digestFor(signer)) <= 0) return buildFailed("sign");
  return cert;
}

absl::StatusOr<LeafSigner> LeafSigner::create(X509* issuer, EVP_PKEY* issuer_key) {
  LeafSigner s;
  s.issuer_ = issuer;
  s.issuer_key_ = issuer_key;
  s.digest_ = digestFor(issuer_key);
  s.subject_.reset(addOrganization(X509_NAME_new()));
  s.basic_constraints_ =
      makeExtension(issuer, nullptr, NID_basic_constraints, kLeafBasicConstraints);
  s.key_usage_ = makeExtension(issuer, nullptr, NID_key_usage, kLeafKeyUsage);
  s.ext_key_usage_ = makeExtension(issuer, nullptr, NID_ext_key_usage, kLeafExtKeyUsage);
  if (!s.basic_constraints_ || !s.key_usage_ || !s.ext_key_usage_) {
    return buildFailed("leaf extensions");
  }
  // The issuer's subject key id; an operator's CA without one signs leaves without it (chains
  // are then built by name), as buildCertificate does.
  if (X509_get0_subject_key_id(issuer) != nullptr) {
    s.authority_key_id_ =
        makeExtension(issuer, nullptr, NID_authority_key_identifier, "keyid:always");
    if (!s.authority_key_id_) return buildFailed("authority key id");
  }
  return s;
}

absl::StatusOr<identity::X509Ptr> LeafSigner::sign(
    const X509_PUBKEY* spki, std::string_view uri_san,
    std::chrono::system_clock::time_point not_before,
    std::chrono::system_clock::time_point not_after) const {
  if (uri_san.empty()) return absl::InvalidArgumentError("a leaf needs its URI SAN");
  identity::X509Ptr cert(X509_new());
  X509* c = cert.get();
  if (!start(c, not_before, not_after)) return buildFailed("serial");
  if (!copyPublicKey(c, spki)) return buildFailed("public key");
  if (X509_set_subject_name(c, subject_.get()) != 1 ||
      X509_set_issuer_name(c, X509_get_subject_name(issuer_)) != 1) {
    return buildFailed("names");
  }
  // In buildCertificate's order.
  X509ExtPtr san = identity::uriSanExtension(uri_san);
  if (!san) return buildFailed("subjectAltName");
  for (X509_EXTENSION* ext :
       {basic_constraints_.get(), key_usage_.get(), ext_key_usage_.get(), san.get()}) {
    if (X509_add_ext(c, ext, -1) != 1) return buildFailed("leaf extensions");
  }
  if (!addExtension(c, issuer_, NID_subject_key_identifier, "hash")) return buildFailed("key id");
  if (authority_key_id_ && X509_add_ext(c, authority_key_id_.get(), -1) != 1) {
    return buildFailed("authority key id");
  }
  if (X509_sign(c, issuer_key_, digest_) <= 0) return buildFailed("sign");
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
