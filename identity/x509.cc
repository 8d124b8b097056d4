#include "identity/x509.h"

#include <ctime>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "common/strings.h"

namespace weft::identity {
namespace {

struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};
using BioPtr = std::unique_ptr<BIO, BioFree>;

BioPtr readBio(std::string_view pem) {
  return BioPtr(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
}

std::string drain(BIO* bio) {
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio, &data);
  return std::string(data, n > 0 ? static_cast<size_t>(n) : 0);
}

}  // namespace

std::string opensslError(std::string_view fallback) {
  const unsigned long code = ERR_peek_last_error();
  std::string text;
  if (code != 0) {
    const char* reason = ERR_reason_error_string(code);
    text = reason != nullptr ? reason : weft::strCat("openssl error ", code);
  } else {
    text = std::string(fallback);
  }
  ERR_clear_error();
  return text;
}

absl::StatusOr<std::vector<X509Ptr>> parseCertificates(std::string_view pem) {
  BioPtr bio = readBio(pem);
  std::vector<X509Ptr> certs;
  for (;;) {
    X509Ptr cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
    if (!cert) break;
    certs.push_back(std::move(cert));
  }
  // The loop ends at the end of input (PEM "no start line") or at a malformed block.
  const unsigned long err = ERR_peek_last_error();
  const bool at_end = ERR_GET_LIB(err) == ERR_LIB_PEM && ERR_GET_REASON(err) == PEM_R_NO_START_LINE;
  if (err != 0 && !at_end) {
    return absl::InvalidArgumentError(
        weft::strCat("malformed certificate #", certs.size() + 1, ": ", opensslError()));
  }
  ERR_clear_error();
  if (certs.empty()) return absl::InvalidArgumentError("no PEM certificate found");
  return certs;
}

absl::StatusOr<PkeyPtr> parsePrivateKey(std::string_view pem) {
  BioPtr bio = readBio(pem);
  PkeyPtr key(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  if (!key) return absl::InvalidArgumentError("malformed private key: " + opensslError());
  return key;
}

absl::StatusOr<X509ReqPtr> parseCsr(std::string_view pem) {
  BioPtr bio = readBio(pem);
  X509ReqPtr req(PEM_read_bio_X509_REQ(bio.get(), nullptr, nullptr, nullptr));
  if (!req) {
    return absl::InvalidArgumentError("not a PEM certificate request: " +
                                      opensslError("no CERTIFICATE REQUEST block"));
  }
  return req;
}

std::string certificatePem(X509* cert) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_X509(bio.get(), cert);
  return drain(bio.get());
}

std::string privateKeyPem(EVP_PKEY* key) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr);
  return drain(bio.get());
}

PkeyPtr generateKey(std::string_view curve) {
  if (curve == "ED25519") return PkeyPtr(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"));
  const std::string name(curve);
  return PkeyPtr(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", name.c_str()));
}

X509ExtPtr uriSanExtension(std::string_view uri) {
  GENERAL_NAMES* names = GENERAL_NAMES_new();
  GENERAL_NAME* name = GENERAL_NAME_new();
  ASN1_IA5STRING* text = ASN1_IA5STRING_new();
  ASN1_STRING_set(text, uri.data(), static_cast<int>(uri.size()));
  GENERAL_NAME_set0_value(name, GEN_URI, text);
  sk_GENERAL_NAME_push(names, name);
  X509ExtPtr ext(X509V3_EXT_i2d(NID_subject_alt_name, 0, names));
  GENERAL_NAMES_free(names);
  return ext;
}

std::chrono::system_clock::time_point toTimePoint(const ASN1_TIME* t) {
  struct tm tm {};
  ASN1_TIME_to_tm(t, &tm);
  return std::chrono::system_clock::from_time_t(timegm(&tm));
}

std::string serialHex(const X509* cert) {
  BIGNUM* bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), nullptr);
  char* hex = BN_bn2hex(bn);
  std::string text = hex != nullptr ? hex : "";
  OPENSSL_free(hex);
  BN_free(bn);
  return text;
}

}  // namespace weft::identity
