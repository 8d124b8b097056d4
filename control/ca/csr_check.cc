#include "control/ca/csr_check.h"

#include <openssl/decoder.h>
#include <openssl/pem.h>
#include <openssl/provider.h>
#include <openssl/x509v3.h>

#include <memory>
#include <utility>

#include "common/strings.h"
#include "control/ca/refusal.h"

namespace weft::control::ca {
namespace {

template <auto Free>
struct Freer {
  template <typename T>
  void operator()(T* p) const {
    Free(p);
  }
};

// Parsing a request the ordinary way (PEM_read_bio_X509_REQ) has OpenSSL 3.0 set up a key
// decoder from scratch for its public key, looking through every decoder and key manager of
// the default provider: ~90 µs a request, more than checking its signature. So the request is
// parsed in a library context without algorithms (the null provider), where that attempt gives
// up at once, and its key is decoded by one decoder context, set up once per thread and reused.
class RequestParser {
 public:
  RequestParser()
      : no_algorithms_(OSSL_LIB_CTX_new()),
        null_provider_(OSSL_PROVIDER_load(no_algorithms_.get(), "null")),
        decoder_(OSSL_DECODER_CTX_new_for_pkey(&decoded_, "DER", "SubjectPublicKeyInfo",
                                               /*keytype=*/nullptr, EVP_PKEY_PUBLIC_KEY,
                                               /*libctx=*/nullptr, /*propquery=*/nullptr)) {}

  bool ready() const { return null_provider_ && decoder_; }

  // The request in `pem`. Its SubjectPublicKeyInfo is parsed but holds no key: see publicKey.
  absl::StatusOr<identity::X509ReqPtr> parse(std::string_view pem) const {
    std::unique_ptr<BIO, Freer<BIO_free>> bio(
        BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
    unsigned char* der = nullptr;
    long len = 0;
    // A request is never encrypted: an encrypted block is refused, no passphrase asked for.
    auto no_passphrase = [](char*, int, int, void*) { return -1; };
    X509_REQ* req = nullptr;
    if (PEM_bytes_read_bio(&der, &len, nullptr, PEM_STRING_X509_REQ, bio.get(), no_passphrase,
                           nullptr) == 1) {
      const unsigned char* p = der;
      req = reinterpret_cast<X509_REQ*>(ASN1_item_d2i_ex(nullptr, &p, len, ASN1_ITEM_rptr(X509_REQ),
                                                         no_algorithms_.get(), nullptr));
      OPENSSL_free(der);
    }
    if (req == nullptr) {
      return absl::InvalidArgumentError("not a PEM certificate request: " +
                                        identity::opensslError("no CERTIFICATE REQUEST block"));
    }
    return identity::X509ReqPtr(req);
  }

  // The request's public key, or null when its SubjectPublicKeyInfo does not decode to one.
  identity::PkeyPtr publicKey(X509_REQ* req) {
    unsigned char* der = nullptr;
    const int n = i2d_X509_PUBKEY(X509_REQ_get_X509_PUBKEY(req), &der);
    if (n <= 0) return nullptr;
    const unsigned char* p = der;
    size_t left = static_cast<size_t>(n);
    decoded_ = nullptr;
    const bool ok = OSSL_DECODER_from_data(decoder_.get(), &p, &left) == 1 && left == 0;
    OPENSSL_free(der);
    identity::PkeyPtr key(std::exchange(decoded_, nullptr));
    return ok ? std::move(key) : nullptr;
  }

 private:
  // Declared in the order they are set up; freed in reverse.
  std::unique_ptr<OSSL_LIB_CTX, Freer<OSSL_LIB_CTX_free>> no_algorithms_;
  std::unique_ptr<OSSL_PROVIDER, Freer<OSSL_PROVIDER_unload>> null_provider_;
  EVP_PKEY* decoded_ = nullptr;  // where decoder_ puts each key
  std::unique_ptr<OSSL_DECODER_CTX, Freer<OSSL_DECODER_CTX_free>> decoder_;
};

RequestParser& requestParser() {
  static thread_local RequestParser parser;
  return parser;
}

absl::Status bad(std::string_view reason, std::string_view message) {
  return refuse(absl::StatusCode::kInvalidArgument, reason, message);
}

absl::Status checkKey(EVP_PKEY* key) {
  const int bits = EVP_PKEY_get_bits(key);
  switch (EVP_PKEY_get_base_id(key)) {
    case EVP_PKEY_EC: {
      char curve[64] = {};
      size_t len = 0;
      EVP_PKEY_get_utf8_string_param(key, "group", curve, sizeof(curve), &len);
      const std::string_view name(curve, len);
      if (name == "prime256v1" || name == "P-256" || name == "secp384r1" || name == "P-384") {
        return absl::OkStatus();
      }
      return bad("unsupported_key",
                 weft::strCat("EC key on curve ", name.empty() ? "(unnamed)" : name,
                              "; the CA signs EC P-256, EC P-384 or RSA of 2048 bits or more"));
    }
    case EVP_PKEY_RSA:
      if (bits >= 2048) return absl::OkStatus();
      return bad("weak_key",
                 weft::strCat("RSA key of ", bits, " bits; the CA signs RSA of 2048 bits or more"));
    default:
      return bad("unsupported_key",
                 weft::strCat(OBJ_nid2sn(EVP_PKEY_get_base_id(key)),
                              " key; the CA signs EC P-256, EC P-384 or RSA of 2048 bits or more"));
  }
}

// Every name the request asks for, as "uri:…", "dns:…", "ip", "email:…".
std::vector<std::string> requestedNames(X509_REQ* req) {
  std::vector<std::string> out;
  STACK_OF(X509_EXTENSION)* exts = X509_REQ_get_extensions(req);
  if (exts == nullptr) return out;
  for (int i = 0; i < sk_X509_EXTENSION_num(exts); ++i) {
    X509_EXTENSION* ext = sk_X509_EXTENSION_value(exts, i);
    if (OBJ_obj2nid(X509_EXTENSION_get_object(ext)) != NID_subject_alt_name) continue;
    auto* names = static_cast<GENERAL_NAMES*>(X509V3_EXT_d2i(ext));
    if (names == nullptr) {
      out.push_back("(malformed subjectAltName)");
      continue;
    }
    for (int j = 0; j < sk_GENERAL_NAME_num(names); ++j) {
      const GENERAL_NAME* name = sk_GENERAL_NAME_value(names, j);
      auto text = [](const ASN1_STRING* s) {
        return std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                           static_cast<size_t>(ASN1_STRING_length(s)));
      };
      switch (name->type) {
        case GEN_URI:
          out.push_back("uri:" + text(name->d.uniformResourceIdentifier));
          break;
        case GEN_DNS:
          out.push_back("dns:" + text(name->d.dNSName));
          break;
        case GEN_EMAIL:
          out.push_back("email:" + text(name->d.rfc822Name));
          break;
        case GEN_IPADD:
          out.push_back("ip address");
          break;
        default:
          out.push_back("other name");
      }
    }
    GENERAL_NAMES_free(names);
  }
  sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
  return out;
}

}  // namespace

absl::StatusOr<CheckedCsr> checkRequest(std::string_view pem, std::string_view identity) {
  if (pem.size() > kMaxCsrBytes) {
    return bad("malformed_csr", weft::strCat("certificate request of ", pem.size(),
                                             " bytes; the limit is ", kMaxCsrBytes));
  }
  RequestParser& parser = requestParser();
  if (!parser.ready()) {
    return refuse(absl::StatusCode::kInternal, "internal",
                  "cannot set up the certificate request parser: " + identity::opensslError());
  }
  auto req = parser.parse(pem);
  if (!req.ok()) return bad("malformed_csr", weft::strCat(req.status().message()));
  identity::PkeyPtr key = parser.publicKey(req->get());
  if (!key) {
    identity::opensslError();
    return bad("malformed_csr", "certificate request without a readable public key");
  }
  if (absl::Status st = checkKey(key.get()); !st.ok()) return st;
  if (X509_REQ_verify_ex(req->get(), key.get(), nullptr, nullptr) != 1) {
    identity::opensslError();
    return bad("bad_signature",
               "the certificate request's signature does not verify with its own public key");
  }
  const std::string granted = weft::strCat("uri:", identity);
  for (const std::string& name : requestedNames(req->get())) {
    if (name != granted) {
      return bad("identity_mismatch", weft::strCat("the certificate request asks for ", name,
                                                   "; this token grants only ", identity));
    }
  }
  return CheckedCsr{std::move(*req), std::move(key)};
}

absl::StatusOr<identity::PkeyPtr> checkCsr(std::string_view pem, std::string_view identity) {
  auto checked = checkRequest(pem, identity);
  if (!checked.ok()) return checked.status();
  return std::move(checked->key);
}

}  // namespace weft::control::ca
