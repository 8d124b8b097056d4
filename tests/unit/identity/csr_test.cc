#include "identity/csr.h"

#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <openssl/x509v3.h>

#include "identity/x509.h"

namespace weft::identity {
namespace {

using ::testing::ElementsAre;
using ::testing::StartsWith;

constexpr char kIdentity[] = "spiffe://example.org/ns/default/sa/web";

// Every name in the request's subjectAltName extensions, as "uri:…" / "other".
std::vector<std::string> requestedNames(X509_REQ* req) {
  std::vector<std::string> out;
  STACK_OF(X509_EXTENSION)* exts = X509_REQ_get_extensions(req);
  if (exts == nullptr) return out;
  for (int i = 0; i < sk_X509_EXTENSION_num(exts); ++i) {
    X509_EXTENSION* ext = sk_X509_EXTENSION_value(exts, i);
    if (OBJ_obj2nid(X509_EXTENSION_get_object(ext)) != NID_subject_alt_name) continue;
    auto* names = static_cast<GENERAL_NAMES*>(X509V3_EXT_d2i(ext));
    for (int j = 0; names != nullptr && j < sk_GENERAL_NAME_num(names); ++j) {
      const GENERAL_NAME* name = sk_GENERAL_NAME_value(names, j);
      if (name->type != GEN_URI) {
        out.push_back("other");
        continue;
      }
      const ASN1_STRING* s = name->d.uniformResourceIdentifier;
      out.push_back("uri:" + std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                                         static_cast<size_t>(ASN1_STRING_length(s))));
    }
    GENERAL_NAMES_free(names);
  }
  sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
  return out;
}

TEST(MakeCsrTest, ParsesAndItsSignatureVerifies) {
  PkeyPtr key = generateKey("P-256");
  ASSERT_NE(key, nullptr);
  auto pem = makeCsr(key.get(), kIdentity);
  ASSERT_TRUE(pem.ok()) << pem.status();
  EXPECT_THAT(*pem, StartsWith("-----BEGIN CERTIFICATE REQUEST-----"));

  auto req = parseCsr(*pem);
  ASSERT_TRUE(req.ok()) << req.status();
  EXPECT_EQ(X509_REQ_verify(req->get(), key.get()), 1);
  EXPECT_EQ(EVP_PKEY_eq(X509_REQ_get0_pubkey(req->get()), key.get()), 1);
}

TEST(MakeCsrTest, NamesTheIdentityAsItsOnlySan) {
  PkeyPtr key = generateKey("P-256");
  auto pem = makeCsr(key.get(), kIdentity);
  ASSERT_TRUE(pem.ok()) << pem.status();
  auto req = parseCsr(*pem);
  ASSERT_TRUE(req.ok()) << req.status();
  EXPECT_THAT(requestedNames(req->get()), ElementsAre(std::string("uri:") + kIdentity));
}

TEST(MakeCsrTest, SignatureDoesNotVerifyWithAnotherKey) {
  PkeyPtr key = generateKey("P-256");
  PkeyPtr other = generateKey("P-256");
  auto pem = makeCsr(key.get(), kIdentity);
  ASSERT_TRUE(pem.ok()) << pem.status();
  auto req = parseCsr(*pem);
  ASSERT_TRUE(req.ok()) << req.status();
  EXPECT_NE(X509_REQ_verify(req->get(), other.get()), 1);
}

TEST(MakeCsrTest, SignsWithEd25519AndP384) {
  for (const char* curve : {"ED25519", "P-384"}) {
    SCOPED_TRACE(curve);
    PkeyPtr key = generateKey(curve);
    ASSERT_NE(key, nullptr);
    auto pem = makeCsr(key.get(), kIdentity);
    ASSERT_TRUE(pem.ok()) << pem.status();
    auto req = parseCsr(*pem);
    ASSERT_TRUE(req.ok()) << req.status();
    EXPECT_EQ(X509_REQ_verify(req->get(), key.get()), 1);
  }
}

}  // namespace
}  // namespace weft::identity
