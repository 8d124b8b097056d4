#include "control/server/trust_manager.h"

#include "common/rfc3339.h"
#include "net/log.h"
#include "net/spawn_guard.h"
#include "runtime/atomic_file.h"

namespace weft::control {

TrustManager::TrustManager(asio::io_context& io, std::unique_ptr<ca::TrustRotation> rotation,
                           ca::CertificateAuthorityImpl& ca, ca::Holders& holders,
                           std::string holders_path, std::function<void()> on_material)
    : io_(io),
      rotation_(std::move(rotation)),
      ca_(ca),
      holders_(holders),
      holders_path_(std::move(holders_path)),
      on_material_(std::move(on_material)),
      tick_timer_(io),
      save_timer_(io) {}

void TrustManager::start() {
  if (auto text = runtime::readFile(holders_path_, 64 << 20); text.ok()) {
    holders_.loadJson(*text);
  } else if (!absl::IsNotFound(text.status())) {
    log::warn("cannot read ", holders_path_, ": ", text.status().message());
  }
  if (rotation_) asio::co_spawn(io_, tick(), SpawnGuard({"trust rotation check"}));
}

void TrustManager::stop() {
  stopped_ = true;
  tick_timer_.cancel();
  if (save_pending_) {
    save_timer_.cancel();
    save_pending_ = false;
    if (auto st = runtime::writeFileAtomic(holders_path_, holders_.toJson(), 0600); !st.ok()) {
      log::warn("cannot save the certificate holders: ", st.message());
    }
  }
}

awaitable<void> TrustManager::tick() {
  while (!stopped_) {
    tick_timer_.expires_after(std::chrono::seconds(2));
    auto [ec] = co_await tick_timer_.async_wait(kUseTuple);
    if (ec || stopped_) co_return;
    checkAdvance();
    if (++ticks_ % kRenewCheckTicks == 0) renewIssuerIfDue();
  }
}

void TrustManager::renewIssuerIfDue() {
  auto renewed = rotation_->renewIssuerIfDue(std::chrono::system_clock::now());
  if (!renewed.ok()) {
    log::error("cannot renew the issuing CA: ", renewed.status().message());
    return;
  }
  if (*renewed) {
    log::info("renewed the issuing CA from its root, valid until ",
              weft::rfc3339(
                  identity::toTimePoint(X509_get0_notAfter(rotation_->material()->issuer.get()))));
    ca_.setMaterial(rotation_->material());
    if (on_material_) on_material_();
  }
}

void TrustManager::holdersChanged() {
  saveSoon();
  checkAdvance();
}

void TrustManager::saveSoon() {
  if (save_pending_ || stopped_) return;
  save_pending_ = true;
  save_timer_.expires_after(std::chrono::seconds(1));
  save_timer_.async_wait([this](const error_code& ec) {
    if (ec) return;
    save_pending_ = false;
    if (auto st = runtime::writeFileAtomic(holders_path_, holders_.toJson(), 0600); !st.ok()) {
      log::warn("cannot save the certificate holders: ", st.message());
    }
  });
}

void TrustManager::checkAdvance() {
  if (!rotation_ || rotation_->phase() != ca::RotationPhase::kAdding) return;
  auto moved = rotation_->advance(holders_.current(std::chrono::system_clock::now()));
  if (!moved.ok()) {
    log::error("trust rotation cannot move on: ", moved.status().message());
    return;
  }
  if (*moved) {
    ca_.setMaterial(rotation_->material());
    if (on_material_) on_material_();
  }
}

absl::Status TrustManager::beginRotation() {
  if (auto st = rotation_->begin(std::chrono::system_clock::now()); !st.ok()) return st;
  ca_.setMaterial(rotation_->material());
  if (on_material_) on_material_();
  checkAdvance();  // with no proxy holding a leaf there is nobody to wait for
  return absl::OkStatus();
}

absl::Status TrustManager::finishRotation() {
  if (auto st = rotation_->finish(holders_.current(std::chrono::system_clock::now())); !st.ok()) {
    return st;
  }
  ca_.setMaterial(rotation_->material());
  if (on_material_) on_material_();
  return absl::OkStatus();
}

nlohmann::json TrustManager::rotationStatus() {
  return rotation_->describe(holders_.current(std::chrono::system_clock::now()));
}

}  // namespace weft::control
