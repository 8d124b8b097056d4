#include "identity/csr.h"

#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "identity/x509.h"

namespace weft::identity {

absl::StatusOr<std::string> makeCsr(EVP_PKEY* key, std::string_view identity) {
  X509ReqPtr req(X509_REQ_new());
  X509_REQ_set_version(req.get(), X509_REQ_VERSION_1);
  X509_REQ_set_pubkey(req.get(), key);
  X509_NAME* name = X509_REQ_get_subject_name(req.get());
  X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("weft"), -1, -1, 0);

  STACK_OF(X509_EXTENSION)* exts = sk_X509_EXTENSION_new_null();
  X509ExtPtr san = uriSanExtension(identity);
  sk_X509_EXTENSION_push(exts, san.get());
  const int added = san ? X509_REQ_add_extensions(req.get(), exts) : 0;
  sk_X509_EXTENSION_free(exts);
  if (added != 1) return absl::InternalError("csr: " + opensslError("cannot add the SAN"));

  if (X509_REQ_sign(req.get(), key,
                    EVP_PKEY_get_id(key) == EVP_PKEY_ED25519 ? nullptr : EVP_sha256()) <= 0) {
    return absl::InternalError("csr: cannot sign: " + opensslError());
  }
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_X509_REQ(bio, req.get());
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio, &data);
  std::string pem(data, n > 0 ? static_cast<size_t>(n) : 0);
  BIO_free(bio);
  return pem;
}

}  // namespace weft::identity
