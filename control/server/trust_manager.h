#pragma once

// weft-control's side of a trust rotation, on its main thread: it drives ca::TrustRotation with
// what ca::Holders knows, hands each new CaMaterial to the CA (and to `on_material`, which
// re-issues weft-control's own serving certificate), keeps the holders on disk
// (DIR/ca/holders.json, written at most once a second) so that a restart mid-rotation still
// knows who holds what, and looks again every few seconds (leaves expire; proxies go away).

#include <functional>
#include <memory>
#include <string>

#include "control/ca/certificate_authority.h"
#include "control/ca/holders.h"
#include "control/ca/trust_rotation.h"
#include "control/server/operator_api.h"
#include "net/asio.h"

namespace weft::control {

class TrustManager final : public RotationControl {
 public:
  // `rotation` null: the operator's CA, which weft-control does not rotate.
  TrustManager(asio::io_context& io, std::unique_ptr<ca::TrustRotation> rotation,
               ca::CertificateAuthorityImpl& ca, ca::Holders& holders, std::string holders_path,
               std::function<void()> on_material);

  // Loads the holders file; starts the periodic check.
  void start();
  void stop();
  // After a certificate was issued: save the holders soon, and see whether the rotation moves.
  void holdersChanged();

  // RotationControl
  absl::Status beginRotation() override;
  absl::Status finishRotation() override;
  nlohmann::json rotationStatus() override;

 private:
  void checkAdvance();
  // Once an hour: a generated intermediate near its end is re-issued from its root while
  // weft-control runs, not only at start.
  void renewIssuerIfDue();
  static constexpr int kRenewCheckTicks = 1800;  // of 2 s
  void saveSoon();
  awaitable<void> tick();

  asio::io_context& io_;
  std::unique_ptr<ca::TrustRotation> rotation_;
  ca::CertificateAuthorityImpl& ca_;
  ca::Holders& holders_;
  std::string holders_path_;
  std::function<void()> on_material_;
  asio::steady_timer tick_timer_;
  asio::steady_timer save_timer_;
  bool save_pending_ = false;
  int ticks_ = 0;
  bool stopped_ = false;
};

}  // namespace weft::control
