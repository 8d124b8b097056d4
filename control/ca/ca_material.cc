#include "control/ca/ca_material.h"

#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include "common/strings.h"
#include "control/ca/cert_builder.h"
#include "net/log.h"
#include "runtime/atomic_file.h"

namespace weft::control::ca {
namespace {

using identity::PkeyPtr;
using identity::X509Ptr;

struct KeyPair {
  X509Ptr cert;
  PkeyPtr key;
};

absl::StatusOr<KeyPair> makeCa(const std::string& name, X509* issuer, EVP_PKEY* issuer_key,
                               std::chrono::hours lifetime, int path_len, SystemTime now) {
  PkeyPtr key = identity::generateKey("P-256");
  if (!key) return absl::InternalError("cannot generate a CA key: " + identity::opensslError());
  CertSpec spec{.common_name = name,
                .uri_san = {},
                .ca = true,
                .path_len = path_len,
                .not_before = now - std::chrono::minutes(5),
                .not_after = now + lifetime};
  auto cert = buildCertificate(spec, key.get(), issuer, issuer_key);
  if (!cert.ok()) return cert.status();
  return KeyPair{std::move(*cert), std::move(key)};
}

std::string pemOf(const std::vector<X509Ptr>& certs) {
  std::string out;
  for (const X509Ptr& c : certs) out += identity::certificatePem(c.get());
  return out;
}

bool selfSigned(X509* cert) { return X509_check_issued(cert, cert) == X509_V_OK; }

// The issuer must be a CA whose key we hold, valid now, and chain to the roots.
absl::Status checkMaterial(const CaMaterial& m, const std::string& where, SystemTime now) {
  if (X509_check_private_key(m.issuer.get(), m.issuer_key.get()) != 1) {
    identity::opensslError();
    return absl::InvalidArgumentError(
        weft::strCat(where, ": the key does not match the certificate"));
  }
  if (X509_check_ca(m.issuer.get()) < 1) {
    return absl::InvalidArgumentError(
        weft::strCat(where, ": the certificate is not a CA (basicConstraints CA:TRUE)"));
  }
  X509_STORE* store = X509_STORE_new();
  for (const X509Ptr& root : m.roots) X509_STORE_add_cert(store, root.get());
  STACK_OF(X509)* untrusted = sk_X509_new_null();
  for (const X509Ptr& c : m.intermediates) sk_X509_push(untrusted, c.get());
  X509_STORE_CTX* ctx = X509_STORE_CTX_new();
  X509_STORE_CTX_init(ctx, store, m.issuer.get(), untrusted);
  X509_STORE_CTX_set_time(ctx, 0, std::chrono::system_clock::to_time_t(now));
  const int ok = X509_verify_cert(ctx);
  const int err = X509_STORE_CTX_get_error(ctx);
  X509_STORE_CTX_free(ctx);
  sk_X509_free(untrusted);
  X509_STORE_free(store);
  if (ok != 1) {
    identity::opensslError();
    return absl::InvalidArgumentError(
        weft::strCat(where, ": the issuing certificate does not verify against the roots: ",
                     X509_verify_cert_error_string(err)));
  }
  return absl::OkStatus();
}

std::shared_ptr<CaMaterial> assemble(X509Ptr issuer, PkeyPtr key,
                                     std::vector<X509Ptr> intermediates,
                                     std::vector<X509Ptr> roots) {
  auto m = std::make_shared<CaMaterial>();
  m->issuer = std::move(issuer);
  m->issuer_key = std::move(key);
  m->intermediates = std::move(intermediates);
  m->roots = std::move(roots);
  m->chain_pem = identity::certificatePem(m->issuer.get()) + pemOf(m->intermediates);
  m->bundle_pem = pemOf(m->roots);
  m->issuer_fingerprint = fingerprint(m->issuer.get());
  return m;
}

absl::StatusOr<std::string> read(const std::string& path, std::string_view flag) {
  auto text = runtime::readFile(path);
  if (!text.ok())
    return absl::InvalidArgumentError(weft::strCat(flag, ": ", text.status().message()));
  return text;
}

absl::StatusOr<std::shared_ptr<const CaMaterial>> loadOperatorCa(const CaSource& source,
                                                                 SystemTime now) {
  if (source.ca_cert_file.empty() || source.ca_key_file.empty()) {
    return absl::InvalidArgumentError(
        "--ca-cert and --ca-key go together (and --root-cert needs both)");
  }
  auto cert_text = read(source.ca_cert_file, "--ca-cert");
  if (!cert_text.ok()) return cert_text.status();
  auto key_text = read(source.ca_key_file, "--ca-key");
  if (!key_text.ok()) return key_text.status();
  auto chain = identity::parseCertificates(*cert_text);
  if (!chain.ok()) {
    return absl::InvalidArgumentError(
        weft::strCat("--ca-cert ", source.ca_cert_file, ": ", chain.status().message()));
  }
  auto key = identity::parsePrivateKey(*key_text);
  if (!key.ok()) {
    return absl::InvalidArgumentError(
        weft::strCat("--ca-key ", source.ca_key_file, ": ", key.status().message()));
  }
  std::vector<X509Ptr> roots;
  if (!source.root_cert_file.empty()) {
    auto root_text = read(source.root_cert_file, "--root-cert");
    if (!root_text.ok()) return root_text.status();
    auto parsed = identity::parseCertificates(*root_text);
    if (!parsed.ok()) {
      return absl::InvalidArgumentError(
          weft::strCat("--root-cert ", source.root_cert_file, ": ", parsed.status().message()));
    }
    roots = std::move(*parsed);
  }
  X509Ptr issuer = std::move(chain->front());
  std::vector<X509Ptr> intermediates;
  for (size_t i = 1; i < chain->size(); ++i) {
    X509Ptr& c = (*chain)[i];
    if (selfSigned(c.get())) {
      if (source.root_cert_file.empty()) roots.push_back(std::move(c));
    } else {
      intermediates.push_back(std::move(c));
    }
  }
  if (roots.empty()) {
    if (!selfSigned(issuer.get())) {
      return absl::InvalidArgumentError(
          weft::strCat("--ca-cert ", source.ca_cert_file,
                       ": the issuer is not self-signed and the file holds no root; give the "
                       "trust anchor with --root-cert"));
    }
    roots.push_back(X509Ptr(X509_dup(issuer.get())));
  }
  auto m = assemble(std::move(issuer), std::move(*key), std::move(intermediates), std::move(roots));
  m->operator_supplied = true;
  if (absl::Status st = checkMaterial(*m, "--ca-cert " + source.ca_cert_file, now); !st.ok()) {
    return st;
  }
  return std::shared_ptr<const CaMaterial>(std::move(m));
}

absl::Status writeKeyPair(const std::string& dir, const std::string& name, const KeyPair& pair) {
  // The key first: a certificate on disk always has its key beside it.
  if (auto st = runtime::writeFileAtomic(dir + "/" + name + ".key",
                                         identity::privateKeyPem(pair.key.get()), 0600);
      !st.ok()) {
    return st;
  }
  return runtime::writeFileAtomic(dir + "/" + name + ".pem",
                                  identity::certificatePem(pair.cert.get()), 0644);
}

absl::StatusOr<KeyPair> readKeyPair(const std::string& dir, const std::string& name) {
  const std::string cert_path = dir + "/" + name + ".pem";
  const std::string key_path = dir + "/" + name + ".key";
  auto cert_text = runtime::readFile(cert_path);
  if (!cert_text.ok()) return cert_text.status();  // NotFound: make a new pair
  auto key_text = runtime::readFile(key_path);
  if (absl::IsNotFound(key_text.status())) {
    // Never a new key under an existing certificate: for the root, every proxy trusts it.
    return absl::DataLossError(weft::strCat(
        cert_path, " exists but ", key_path,
        " does not: restore the key, or remove both to create a new one (for the root, every "
        "proxy then needs the new trust bundle)"));
  }
  if (!key_text.ok()) return key_text.status();
  auto certs = identity::parseCertificates(*cert_text);
  if (!certs.ok())
    return absl::DataLossError(weft::strCat(cert_path, ": ", certs.status().message()));
  auto key = identity::parsePrivateKey(*key_text);
  if (!key.ok()) return absl::DataLossError(weft::strCat(key_path, ": ", key.status().message()));
  return KeyPair{std::move(certs->front()), std::move(*key)};
}

std::string rootName(std::string_view td) { return weft::strCat("weft root CA ", td); }
std::string intermediateName(std::string_view td) { return weft::strCat("weft issuing CA ", td); }

}  // namespace

absl::StatusOr<std::shared_ptr<const CaMaterial>> generateCa(std::string_view trust_domain,
                                                             SystemTime now) {
  auto root = makeCa(rootName(trust_domain), nullptr, nullptr, kRootLifetime, 1, now);
  if (!root.ok()) return root.status();
  auto inter = makeCa(intermediateName(trust_domain), root->cert.get(), root->key.get(),
                      kIntermediateLifetime, 0, now);
  if (!inter.ok()) return inter.status();
  std::vector<X509Ptr> roots;
  roots.push_back(std::move(root->cert));
  return std::shared_ptr<const CaMaterial>(
      assemble(std::move(inter->cert), std::move(inter->key), {}, std::move(roots)));
}

absl::StatusOr<std::shared_ptr<const CaMaterial>> loadOrCreateCa(const CaSource& source,
                                                                 SystemTime now) {
  if (!source.ca_cert_file.empty() || !source.ca_key_file.empty() ||
      !source.root_cert_file.empty()) {
    return loadOperatorCa(source, now);
  }
  return loadOrCreateGeneration(source.dir, source.trust_domain, now);
}

std::shared_ptr<const CaMaterial> withTrust(const CaMaterial& issuing,
                                            const std::vector<const CaMaterial*>& trusted,
                                            uint64_t bundle_version) {
  auto copy = [](const X509Ptr& c) {
    X509_up_ref(c.get());
    return X509Ptr(c.get());
  };
  EVP_PKEY_up_ref(issuing.issuer_key.get());
  std::vector<X509Ptr> intermediates;
  for (const X509Ptr& c : issuing.intermediates) intermediates.push_back(copy(c));
  std::vector<X509Ptr> roots;
  for (const CaMaterial* m : trusted) {
    for (const X509Ptr& r : m->roots) roots.push_back(copy(r));
  }
  auto out = assemble(copy(issuing.issuer), PkeyPtr(issuing.issuer_key.get()),
                      std::move(intermediates), std::move(roots));
  out->operator_supplied = issuing.operator_supplied;
  out->bundle_version = bundle_version;
  return out;
}

absl::StatusOr<std::shared_ptr<const CaMaterial>> loadOrCreateGeneration(
    const std::string& dir, std::string_view trust_domain, SystemTime now) {
  if (auto st = runtime::ensurePrivateDir(dir); !st.ok()) return st;
  auto root = readKeyPair(dir, "root");
  if (absl::IsNotFound(root.status())) {
    root = makeCa(rootName(trust_domain), nullptr, nullptr, kRootLifetime, 1, now);
    if (!root.ok()) return root.status();
    if (auto st = writeKeyPair(dir, "root", *root); !st.ok()) return st;
    log::info("created the mesh root CA in ", dir, "/root.pem (EC P-256, 10 years)");
  } else if (!root.ok()) {
    return root.status();
  }
  auto inter = readKeyPair(dir, "intermediate");
  const bool renew = inter.ok() && identity::toTimePoint(X509_get0_notAfter(inter->cert.get())) <
                                       now + kIntermediateRenewBefore;
  if (absl::IsNotFound(inter.status()) || renew) {
    inter = makeCa(intermediateName(trust_domain), root->cert.get(), root->key.get(),
                   kIntermediateLifetime, 0, now);
    if (!inter.ok()) return inter.status();
    if (auto st = writeKeyPair(dir, "intermediate", *inter); !st.ok()) return st;
    log::info(renew ? "renewed" : "created", " the issuing CA in ", dir,
              "/intermediate.pem from the root");
  } else if (!inter.ok()) {
    return inter.status();
  }
  std::vector<X509Ptr> roots;
  roots.push_back(std::move(root->cert));
  auto m = assemble(std::move(inter->cert), std::move(inter->key), {}, std::move(roots));
  if (auto st = checkMaterial(*m, dir + "/intermediate.pem", now); !st.ok()) return st;
  return std::shared_ptr<const CaMaterial>(std::move(m));
}

}  // namespace weft::control::ca
