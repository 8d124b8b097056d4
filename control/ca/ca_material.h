#pragma once

// The mesh CA's signing material: the issuing certificate and its key, the chain above it, and
// the trust bundle (the roots). Built once, then immutable and shared as
// shared_ptr<const CaMaterial>; a rotation builds a new one.
//
// Where it comes from, on start:
// - `--ca-cert FILE --ca-key FILE` (the operator's own issuing CA; the certificate file may go on
//   with the chain up to the root) and optionally `--root-cert FILE` (the trust anchors; by
//   default the self-signed certificate that ends the --ca-cert chain). Nothing is written.
// - otherwise DIR/ca: root.pem + root.key (EC P-256, 10 years) and intermediate.pem +
//   intermediate.key (EC P-256, 1 year), created at first start with keys 0600 and reused after.
//   An intermediate with less than kIntermediateRenewBefore left is re-issued from the root at
//   start: the roots, and so every proxy's trust, stay the same.

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "identity/x509.h"

namespace weft::control::ca {

using SystemTime = std::chrono::system_clock::time_point;

inline constexpr std::chrono::hours kRootLifetime{24 * 3650};
inline constexpr std::chrono::hours kIntermediateLifetime{24 * 365};
inline constexpr std::chrono::hours kIntermediateRenewBefore{24 * 60};

struct CaMaterial {
  identity::X509Ptr issuer;
  identity::PkeyPtr issuer_key;
  std::vector<identity::X509Ptr> intermediates;  // above the issuer, below the roots
  std::vector<identity::X509Ptr> roots;
  std::string chain_pem;           // the issuer, then the intermediates: what a leaf is sent with
  std::string bundle_pem;          // the roots: what every proxy trusts
  std::string issuer_fingerprint;  // ca::fingerprint(issuer), computed once
  bool operator_supplied = false;
  // Bumped each time the roots change (a trust rotation); proxies report which one they hold.
  uint64_t bundle_version = 1;
};

struct CaSource {
  std::string dir;  // DIR/ca, for the generated CA
  std::string trust_domain;
  std::string ca_cert_file;  // the operator's own, when set
  std::string ca_key_file;
  std::string root_cert_file;
};

// Loads the operator's CA or the one in `source.dir`, creating it on first start. Errors name
// the file and what is wrong with it (a key that does not match, a chain that does not verify,
// an expired issuer).
absl::StatusOr<std::shared_ptr<const CaMaterial>> loadOrCreateCa(const CaSource& source,
                                                                 SystemTime now);

// One generated root and intermediate in `dir` (root.pem/.key, intermediate.pem/.key), created
// if missing; the intermediate renewed from the root within kIntermediateRenewBefore of its end.
absl::StatusOr<std::shared_ptr<const CaMaterial>> loadOrCreateGeneration(
    const std::string& dir, std::string_view trust_domain, SystemTime now);

// `issuing`'s issuer and chain, trusting the roots of every one of `trusted` (a rotation's
// two-root bundle), at `bundle_version`. Shares the certificates and keys.
std::shared_ptr<const CaMaterial> withTrust(const CaMaterial& issuing,
                                            const std::vector<const CaMaterial*>& trusted,
                                            uint64_t bundle_version);

// A fresh root and intermediate, in memory only: tests and benchmarks.
absl::StatusOr<std::shared_ptr<const CaMaterial>> generateCa(std::string_view trust_domain,
                                                             SystemTime now);

}  // namespace weft::control::ca
