#include "control/ca/csr_check.h"

#include <openssl/x509v3.h>

#include "common/strings.h"
#include "control/ca/refusal.h"

namespace weft::control::ca {
namespace {

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

absl::StatusOr<identity::PkeyPtr> checkCsr(std::string_view pem, std::string_view identity) {
  if (pem.size() > kMaxCsrBytes) {
    return bad("malformed_csr", weft::strCat("certificate request of ", pem.size(),
                                             " bytes; the limit is ", kMaxCsrBytes));
  }
  auto req = identity::parseCsr(pem);
  if (!req.ok()) return bad("malformed_csr", weft::strCat(req.status().message()));
  identity::PkeyPtr key(X509_REQ_get_pubkey(req->get()));
  if (!key) return bad("malformed_csr", "certificate request without a readable public key");
  if (absl::Status st = checkKey(key.get()); !st.ok()) return st;
  if (X509_REQ_verify(req->get(), key.get()) != 1) {
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
  return key;
}

}  // namespace weft::control::ca
