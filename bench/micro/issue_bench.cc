// The mesh CA's issuing path, one thread: what weft-control spends per certificate request once
// the join token has been verified. The requirement is 5,000 certificates per second on one core
// for P-256 requests (BM_Issue/p256). See bench/micro/README.md.
//
//   BM_Issue        CertificateAuthorityImpl::issue over a PEM CSR: parse, key check, signature
//                   check, certificate build, sign, PEM out
//   BM_CheckCsr     checkCsr alone (parse, key check, signature check, SAN check)
//   BM_IssueForKey  issueForKey alone, over a key in hand (weft-control's own certificate):
//                   the key's SubjectPublicKeyInfo, then the same build, sign and PEM out
//   BM_SignLeaf     LeafSigner::sign alone: build and sign over the request's SubjectPublicKeyInfo

#include <benchmark/benchmark.h>

#include <openssl/x509_vfy.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

#include "control/ca/ca_material.h"
#include "control/ca/cert_builder.h"
#include "control/ca/certificate_authority.h"
#include "control/ca/csr_check.h"
#include "identity/csr.h"
#include "identity/x509.h"

namespace weft {
namespace {

using control::ca::CertificateAuthorityImpl;

constexpr char kIdentity[] = "spiffe://cluster.local/ns/default/sa/web";

enum class KeyKind { kP256, kP384, kRsa2048 };

[[noreturn]] void fail(const std::string& what) {
  std::fprintf(stderr, "issue_bench: %s\n", what.c_str());
  std::abort();
}
[[noreturn]] void fail(const absl::Status& status) { fail(status.ToString()); }

identity::PkeyPtr workloadKey(KeyKind kind) {
  switch (kind) {
    case KeyKind::kP256:
      return identity::generateKey("P-256");
    case KeyKind::kP384:
      return identity::generateKey("P-384");
    case KeyKind::kRsa2048:
      return identity::PkeyPtr(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", size_t{2048}));
  }
  return nullptr;
}

// A workload's request and the CA that answers it, as weft-control has them after start.
struct Fixture {
  explicit Fixture(KeyKind kind) {
    auto material = control::ca::generateCa("cluster.local", std::chrono::system_clock::now());
    if (!material.ok()) fail(material.status());
    ca = std::make_unique<CertificateAuthorityImpl>(*material, control::ca::IssuancePolicy{});
    key = workloadKey(kind);
    if (!key) fail("cannot generate the workload key");
    auto pem = identity::makeCsr(key.get(), kIdentity);
    if (!pem.ok()) fail(pem.status());
    csr_pem = std::move(*pem);
    checkOnce();
  }

  // One certificate, verified against the roots and over the request's key: the benchmark
  // measures a path that works.
  void checkOnce() {
    auto issued = ca->issue(csr_pem, kIdentity);
    if (!issued.ok()) fail(issued.status());
    auto leaf = identity::parseCertificates(issued->certificate_pem);
    auto chain = identity::parseCertificates(issued->chain_pem);
    if (!leaf.ok() || !chain.ok()) fail("the issued PEM does not parse");
    X509_STORE* store = X509_STORE_new();
    for (const auto& root : ca->material()->roots) X509_STORE_add_cert(store, root.get());
    STACK_OF(X509)* untrusted = sk_X509_new_null();
    for (const auto& c : *chain) sk_X509_push(untrusted, c.get());
    X509_STORE_CTX* ctx = X509_STORE_CTX_new();
    X509_STORE_CTX_init(ctx, store, leaf->front().get(), untrusted);
    const int ok = X509_verify_cert(ctx);
    const int err = X509_STORE_CTX_get_error(ctx);
    X509_STORE_CTX_free(ctx);
    sk_X509_free(untrusted);
    X509_STORE_free(store);
    if (ok != 1) fail(X509_verify_cert_error_string(err));
    if (EVP_PKEY_eq(X509_get0_pubkey(leaf->front().get()), key.get()) != 1) {
      fail("the certificate's key is not the request's");
    }
  }

  std::unique_ptr<CertificateAuthorityImpl> ca;
  identity::PkeyPtr key;
  std::string csr_pem;
};

void BM_Issue(benchmark::State& state, KeyKind kind) {
  Fixture f(kind);
  for (auto _ : state) {
    auto issued = f.ca->issue(f.csr_pem, kIdentity);
    if (!issued.ok()) fail(issued.status());
    benchmark::DoNotOptimize(issued);
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_CheckCsr(benchmark::State& state, KeyKind kind) {
  Fixture f(kind);
  for (auto _ : state) {
    auto key = control::ca::checkCsr(f.csr_pem, kIdentity);
    if (!key.ok()) fail(key.status());
    benchmark::DoNotOptimize(key);
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_IssueForKey(benchmark::State& state, KeyKind kind) {
  Fixture f(kind);
  for (auto _ : state) {
    auto issued = f.ca->issueForKey(f.key.get(), kIdentity);
    if (!issued.ok()) fail(issued.status());
    benchmark::DoNotOptimize(issued);
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_SignLeaf(benchmark::State& state, KeyKind kind) {
  Fixture f(kind);
  const control::ca::CaMaterial& m = *f.ca->material();
  auto signer = control::ca::LeafSigner::create(m.issuer.get(), m.issuer_key.get());
  if (!signer.ok()) fail(signer.status());
  auto req = identity::parseCsr(f.csr_pem);
  if (!req.ok()) fail(req.status());
  const X509_PUBKEY* spki = X509_REQ_get_X509_PUBKEY(req->get());
  const auto now = std::chrono::system_clock::now();
  for (auto _ : state) {
    auto cert = signer->sign(spki, kIdentity, now, now + std::chrono::hours(24));
    if (!cert.ok()) fail(cert.status());
    benchmark::DoNotOptimize(cert);
  }
  state.SetItemsProcessed(state.iterations());
}

BENCHMARK_CAPTURE(BM_Issue, p256, KeyKind::kP256)->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_Issue, p384, KeyKind::kP384)->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_Issue, rsa2048, KeyKind::kRsa2048)->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_CheckCsr, p256, KeyKind::kP256)->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_CheckCsr, p384, KeyKind::kP384)->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_CheckCsr, rsa2048, KeyKind::kRsa2048)->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_IssueForKey, p256, KeyKind::kP256)->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_IssueForKey, p384, KeyKind::kP384)->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_IssueForKey, rsa2048, KeyKind::kRsa2048)->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_SignLeaf, p256, KeyKind::kP256)->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace weft

BENCHMARK_MAIN();
