#pragma once

// Replacing the mesh's root without an outage (`weftctl ca rotate`, then `--finish`):
//
//   steady       bundle [A]     issuer A   `ca rotate`: a new root B and intermediate are made
//   adding       bundle [A, B]  issuer A   proxies get [A, B] with their renewals; once every
//                                          proxy holding a leaf has said it holds version N of
//                                          the bundle (the version [A, B] got) ...
//   issuing-new  bundle [A, B]  issuer B   ... renewals are issued by B (and weft-control's own
//                                          certificate); `ca rotate --finish` is refused while a
//                                          proxy still holds a leaf from A, naming it
//   steady       bundle [B]     issuer B
//
// At no point does a proxy meet a peer whose leaf it cannot verify: B signs only once everyone
// trusts B, and A leaves the bundle only once nobody holds an A leaf. "Every proxy" is every
// unexpired leaf (Holders): a proxy that went away drops out when its leaf expires.
//
// Generations live in directories under DIR/ca: "." (the first), then gen-2, gen-3, ...
// DIR/ca/state.json says which one issues, which ones are trusted, the phase and the bundle
// version; each step is one atomic write of it, so a restart resumes where it was.

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "absl/status/statusor.h"
#include "control/ca/ca_material.h"
#include "control/ca/holders.h"

namespace weft::control::ca {

enum class RotationPhase { kSteady, kAdding, kIssuingNew };
const char* phaseName(RotationPhase phase);

class TrustRotation {
 public:
  // Reads DIR/ca/state.json (none: steady on generation ".", bundle version 1) and loads or
  // creates the generations it names.
  static absl::StatusOr<std::unique_ptr<TrustRotation>> open(const std::string& ca_dir,
                                                             std::string trust_domain,
                                                             SystemTime now);

  std::shared_ptr<const CaMaterial> material() const { return material_; }
  RotationPhase phase() const { return phase_; }

  // `ca rotate`: steady → adding with a new generation. FailedPrecondition otherwise.
  absl::Status begin(SystemTime now);
  // adding → issuing-new once every holder holds the current bundle. Whether it moved.
  absl::StatusOr<bool> advance(const std::vector<Holding>& holders);
  // `ca rotate --finish`: issuing-new → steady on the new generation alone. FailedPrecondition
  // naming the holders of leaves from the old issuer, or when not in issuing-new.
  absl::Status finish(const std::vector<Holding>& holders);

  // Re-issues the issuing intermediate from its root when it is within kIntermediateRenewBefore
  // of its end (the roots, and so every proxy's trust, stay the same). Whether it did.
  absl::StatusOr<bool> renewIssuerIfDue(SystemTime now);

  // For `ca status`: the phase, the bundle version, and what the phase waits for.
  nlohmann::json describe(const std::vector<Holding>& holders) const;

 private:
  TrustRotation(std::string ca_dir, std::string trust_domain);
  absl::Status load(SystemTime now);
  absl::Status save() const;
  void rebuild();
  std::string genDir(const std::string& gen) const;

  std::string ca_dir_;
  std::string trust_domain_;
  RotationPhase phase_ = RotationPhase::kSteady;
  uint64_t bundle_version_ = 1;
  std::string issuer_gen_ = ".";
  std::vector<std::string> trusted_gens_ = {"."};
  int next_gen_ = 2;
  std::map<std::string, std::shared_ptr<const CaMaterial>> gens_;
  std::shared_ptr<const CaMaterial> material_;
};

}  // namespace weft::control::ca
