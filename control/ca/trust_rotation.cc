#include "control/ca/trust_rotation.h"

#include <filesystem>

#include "common/strings.h"
#include "control/ca/cert_builder.h"
#include "control/ca/refusal.h"
#include "net/log.h"
#include "runtime/atomic_file.h"

namespace weft::control::ca {
namespace {

absl::Status refuseStep(std::string_view reason, std::string_view message) {
  return refuse(absl::StatusCode::kFailedPrecondition, reason, message);
}

absl::StatusOr<RotationPhase> phaseFrom(const std::string& name) {
  if (name == "steady") return RotationPhase::kSteady;
  if (name == "adding") return RotationPhase::kAdding;
  if (name == "issuing-new") return RotationPhase::kIssuingNew;
  return absl::DataLossError(weft::strCat("unknown rotation phase '", name, "'"));
}

}  // namespace

const char* phaseName(RotationPhase phase) {
  switch (phase) {
    case RotationPhase::kSteady:
      return "steady";
    case RotationPhase::kAdding:
      return "adding";
    case RotationPhase::kIssuingNew:
      return "issuing-new";
  }
  return "steady";
}

TrustRotation::TrustRotation(std::string ca_dir, std::string trust_domain)
    : ca_dir_(std::move(ca_dir)), trust_domain_(std::move(trust_domain)) {}

std::string TrustRotation::genDir(const std::string& gen) const {
  return gen == "." ? ca_dir_ : ca_dir_ + "/" + gen;
}

absl::StatusOr<std::unique_ptr<TrustRotation>> TrustRotation::open(const std::string& ca_dir,
                                                                   std::string trust_domain,
                                                                   SystemTime now) {
  std::unique_ptr<TrustRotation> r(new TrustRotation(ca_dir, std::move(trust_domain)));
  if (auto st = r->load(now); !st.ok()) return st;
  return r;
}

absl::Status TrustRotation::load(SystemTime now) {
  if (auto st = runtime::ensurePrivateDir(ca_dir_); !st.ok()) return st;
  const std::string path = ca_dir_ + "/state.json";
  auto text = runtime::readFile(path);
  if (text.ok()) {
    const nlohmann::json doc = nlohmann::json::parse(*text, nullptr, false);
    if (!doc.is_object() || !doc.contains("trusted") || !doc.contains("issuer") ||
        !doc.at("trusted").is_array() || !doc.at("issuer").is_string()) {
      return absl::DataLossError(weft::strCat(path, ": not a rotation state"));
    }
    try {  // value() and get() throw on a field of the wrong type
      auto phase = phaseFrom(doc.value("phase", ""));
      if (!phase.ok()) {
        return absl::DataLossError(weft::strCat(path, ": ", phase.status().message()));
      }
      phase_ = *phase;
      bundle_version_ = doc.value("bundleVersion", uint64_t{1});
      issuer_gen_ = doc.value("issuer", ".");
      next_gen_ = doc.value("nextGeneration", 2);
      trusted_gens_.clear();
      for (const auto& g : doc.at("trusted")) trusted_gens_.push_back(g.get<std::string>());
    } catch (const nlohmann::json::exception& e) {
      return absl::DataLossError(weft::strCat(path, ": not a rotation state (", e.what(), ")"));
    }
  } else if (!absl::IsNotFound(text.status())) {
    return text.status();
  }
  for (const std::string& gen : trusted_gens_) {
    // A generation the state names must be there: making a new root in its place would leave
    // every proxy trusting one that no longer signs.
    if (text.ok() && !std::filesystem::exists(genDir(gen) + "/root.pem")) {
      return absl::DataLossError(weft::strCat(path, " names generation '", gen, "' but ",
                                              genDir(gen), "/root.pem is missing"));
    }
    auto m = loadOrCreateGeneration(genDir(gen), trust_domain_, now);
    if (!m.ok()) return m.status();
    gens_[gen] = *m;
  }
  if (!gens_.contains(issuer_gen_)) {
    return absl::DataLossError(
        weft::strCat(path, ": the issuing generation '", issuer_gen_, "' is not trusted"));
  }
  rebuild();
  return absl::OkStatus();
}

absl::Status TrustRotation::save() const {
  const nlohmann::json doc = {{"phase", phaseName(phase_)},
                              {"bundleVersion", bundle_version_},
                              {"issuer", issuer_gen_},
                              {"trusted", trusted_gens_},
                              {"nextGeneration", next_gen_}};
  return runtime::writeFileAtomic(ca_dir_ + "/state.json", doc.dump(2) + "\n", 0600);
}

void TrustRotation::rebuild() {
  std::vector<const CaMaterial*> trusted;
  for (const std::string& gen : trusted_gens_) trusted.push_back(gens_.at(gen).get());
  material_ = withTrust(*gens_.at(issuer_gen_), trusted, bundle_version_);
}

absl::Status TrustRotation::begin(SystemTime now) {
  if (phase_ != RotationPhase::kSteady) {
    return refuseStep("rotation_in_progress",
                      weft::strCat("a rotation is already in phase ", phaseName(phase_),
                                   "; finish it first (weftctl ca rotate --finish)"));
  }
  const std::string gen = weft::strCat("gen-", next_gen_);
  auto m = loadOrCreateGeneration(genDir(gen), trust_domain_, now);
  if (!m.ok()) return m.status();
  gens_[gen] = *m;
  trusted_gens_.push_back(gen);
  ++next_gen_;
  ++bundle_version_;
  phase_ = RotationPhase::kAdding;
  if (auto st = save(); !st.ok()) return st;
  rebuild();
  log::info("trust rotation begun: new root ", fingerprint((*m)->roots[0].get()), " in ",
            genDir(gen), " added to the bundle (version ", bundle_version_, ")");
  return absl::OkStatus();
}

absl::StatusOr<bool> TrustRotation::advance(const std::vector<Holding>& holders) {
  if (phase_ != RotationPhase::kAdding) return false;
  for (const Holding& h : holders) {
    if (h.bundle_version < bundle_version_) return false;
  }
  issuer_gen_ = trusted_gens_.back();
  phase_ = RotationPhase::kIssuingNew;
  if (auto st = save(); !st.ok()) return st;
  rebuild();
  log::info("every proxy holds trust bundle version ", bundle_version_,
            ": issuing from the new intermediate (", genDir(issuer_gen_), ")");
  return true;
}

absl::Status TrustRotation::finish(const std::vector<Holding>& holders) {
  if (phase_ != RotationPhase::kIssuingNew) {
    return refuseStep("rotation_not_ready",
                      phase_ == RotationPhase::kSteady
                          ? std::string("no rotation in progress (weftctl ca rotate starts one)")
                          : weft::strCat("the rotation is still in phase ", phaseName(phase_),
                                         ": not every proxy holds the two-root bundle yet"));
  }
  const std::string& issuer = material_->issuer_fingerprint;
  std::vector<std::string> old;
  for (const Holding& h : holders) {
    if (h.issuer_fingerprint != issuer) {
      old.push_back(weft::strCat(h.identity, " (serial ", h.serial, ", from ", h.peer, ")"));
    }
  }
  if (!old.empty()) {
    return refuseStep("old_leaves_held",
                      weft::strCat(old.size(), " proxies still hold a leaf from the old root: ",
                                   weft::join(old, ", ")));
  }
  trusted_gens_ = {issuer_gen_};
  ++bundle_version_;
  phase_ = RotationPhase::kSteady;
  if (auto st = save(); !st.ok()) return st;
  for (auto it = gens_.begin(); it != gens_.end();) {
    it = it->first == issuer_gen_ ? std::next(it) : gens_.erase(it);
  }
  rebuild();
  log::info("trust rotation finished: the bundle holds only the new root (version ",
            bundle_version_, ")");
  return absl::OkStatus();
}

absl::StatusOr<bool> TrustRotation::renewIssuerIfDue(SystemTime now) {
  const SystemTime ends =
      identity::toTimePoint(X509_get0_notAfter(gens_.at(issuer_gen_)->issuer.get()));
  if (ends >= now + kIntermediateRenewBefore) return false;
  // Loading the generation again re-issues its intermediate from the root when it is due.
  auto m = loadOrCreateGeneration(genDir(issuer_gen_), trust_domain_, now);
  if (!m.ok()) return m.status();
  gens_[issuer_gen_] = *m;
  rebuild();
  return true;
}

nlohmann::json TrustRotation::describe(const std::vector<Holding>& holders) const {
  nlohmann::json out = {{"phase", phaseName(phase_)}, {"bundleVersion", bundle_version_}};
  size_t waiting = 0;
  const std::string& issuer = material_->issuer_fingerprint;
  for (const Holding& h : holders) {
    if (phase_ == RotationPhase::kAdding && h.bundle_version < bundle_version_) ++waiting;
    if (phase_ == RotationPhase::kIssuingNew && h.issuer_fingerprint != issuer) ++waiting;
  }
  if (phase_ == RotationPhase::kAdding) {
    out["waitingFor"] =
        weft::strCat(waiting, " proxies to report bundle version ", bundle_version_);
  } else if (phase_ == RotationPhase::kIssuingNew) {
    out["waitingFor"] = weft::strCat(waiting, " proxies to renew from the new issuer");
  }
  return out;
}

}  // namespace weft::control::ca
