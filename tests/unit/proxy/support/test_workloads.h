#pragma once

// A test CA that issues workload certificates (SPIFFE ID spiffe://cluster.local/ns/default/sa/
// <name>) as files in a temp dir, and loads them as the proxy does: for tests that run real
// mTLS listeners, workers or a whole Server. Link weft_test_certs.

#include <memory>
#include <string>

#include <gtest/gtest.h>

#include "identity/credentials.h"
#include "tests/unit/identity/test_certs.h"

namespace weft::testutil {

class TestCa {
 public:
  static constexpr char kTrustDomain[] = "cluster.local";

  TestCa()
      : dir_(makeTempDir()), key_(makeKey()), cert_(makeCert({"ca", {}, {}, true}, key_.get())) {}

  static std::string identityOf(const std::string& name) {
    return "spiffe://cluster.local/ns/default/sa/" + name;
  }

  // Writes <name>.pem, <name>-key.pem and <name>-ca.pem (the bundle: this CA).
  identity::CredentialFiles issue(const std::string& name) {
    PkeyPtr key = makeKey();
    X509Ptr cert =
        makeCert({name, {identityOf(name)}, {}, false}, key.get(), cert_.get(), key_.get());
    const std::string base = dir_ + "/" + name;
    identity::CredentialFiles files{base + ".pem", base + "-key.pem", base + "-ca.pem"};
    writeFile(files.cert, certPem(cert.get()));
    writeFile(files.key, keyPem(key.get()));
    writeFile(files.trust_bundle, certPem(cert_.get()));
    return files;
  }

  std::shared_ptr<const identity::Credentials> credentials(const std::string& name) {
    auto creds = identity::Credentials::load(issue(name), kTrustDomain, identityOf(name));
    EXPECT_TRUE(creds.ok()) << creds.status();
    return creds.ok() ? *creds : nullptr;
  }

  const std::string& dir() const { return dir_; }

 private:
  std::string dir_;
  PkeyPtr key_;
  X509Ptr cert_;
};

}  // namespace weft::testutil
