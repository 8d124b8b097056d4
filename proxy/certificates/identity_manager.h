#pragma once

// The proxy's own identity when a control plane issues it (--control): a key made at start (kept
// in memory, or 0600 under --cache-dir), a certificate requested with the join token, and
// renewal for as long as the proxy runs. On the main thread.
//
// - Renewal at 70% of the certificate's lifetime, less up to 10% of jitter (Linkerd's rule), so
//   a fleet started together does not renew together.
// - A failed try is retried with backoff: from 1 s up to 10 s while the proxy holds no
//   certificate yet; from 10 s up to 5 min for a renewal, never later than a quarter of what is
//   left. The token file is read again on every try (a projected token rotates); a renewal
//   also presents the current certificate, which weft-control takes as proof once the token
//   has expired.
// - A failing renewal logs at info while more than half the lifetime is left, a warning from
//   50%, an error under 10%.
// - Every tenth of the lifetime (1 s to 1 min) it checks the trust bundle with its certificate,
//   which tells the control plane which version it holds; a newer version, or word that the
//   control plane now issues from a new CA (a trust rotation), makes it renew at once.
// - Each certificate goes to `install` as a new immutable Credentials: connections keep the one
//   they started with, new handshakes take the new one.

#include <chrono>
#include <functional>
#include <memory>
#include <random>
#include <string>

#include "absl/status/status.h"
#include "identity/credentials.h"
#include "identity/x509.h"
#include "net/asio.h"
#include "proxy/certificates/certificate_client.h"
#include "proxy/metrics/metrics.h"

namespace weft::proxy::certificates {

struct IdentitySettings {
  std::string identity;  // spiffe://<td>/ns/<ns>/sa/<sa>: what the token must grant
  std::string trust_domain;
  std::string token_file;
  std::string trust_bundle_file;  // to trust the control plane at first contact
  std::string cache_dir;          // optional: key.pem and cert.pem survive a restart here
  std::chrono::milliseconds first_backoff{1000};
  std::chrono::milliseconds renew_backoff{10000};
  std::chrono::milliseconds max_backoff{300000};
  // How often the trust bundle is checked: a tenth of the lifetime, at least 1 s, at most this.
  std::chrono::milliseconds max_poll_interval{60000};
};

class IdentityManager {
 public:
  using Credentials = weft::identity::Credentials;
  using Install = std::function<void(std::shared_ptr<const Credentials>)>;

  IdentityManager(asio::io_context& io, IdentitySettings settings,
                  std::unique_ptr<CertificateClient> client, metrics::Metrics& metrics,
                  Install install);

  // Reads the trust bundle and the cache (a cached certificate still valid is installed at
  // once), then starts requesting. Errors: an unreadable trust bundle or cache directory.
  absl::Status start();
  void stop();

  // Empty while a certificate is held; otherwise why not, for /ready:
  // "waiting for a certificate: control plane unreachable: connect: Connection refused".
  std::string notReadyReason() const;

 private:
  awaitable<void> run();
  // Waits `wait`, or less when a renewal is asked for now; false once stopped.
  awaitable<bool> sleep(std::chrono::steady_clock::duration wait);
  // Checks the trust bundle every pollInterval() (and so acknowledges the one held); a new
  // version, or a leaf from an old issuer, asks for a renewal now.
  awaitable<void> pollBundle();
  std::chrono::steady_clock::duration pollInterval() const;
  // One request; on success the new credentials are installed.
  awaitable<absl::Status> refresh();
  absl::Status adopt(const IssuedPem& issued, std::string_view origin);
  std::chrono::steady_clock::duration untilRenewal();
  std::chrono::steady_clock::duration backoff(int failures);
  void logFailure(const absl::Status& status, std::chrono::steady_clock::duration retry);
  absl::Status loadCache();

  asio::io_context& io_;
  IdentitySettings settings_;
  std::unique_ptr<CertificateClient> client_;
  metrics::Metrics& metrics_;
  Install install_;
  asio::steady_timer timer_;
  asio::steady_timer poll_timer_;
  bool renew_now_ = false;
  std::mt19937_64 random_{std::random_device{}()};

  weft::identity::PkeyPtr key_;
  std::string key_pem_;
  std::string csr_pem_;
  std::string bootstrap_bundle_;  // --trust-bundle
  std::string issued_bundle_;
  uint64_t bundle_version_ = 0;  // of issued_bundle_, reported with the next request     // the
                                 // roots the control plane sent last: trusted for it too
  std::shared_ptr<const Credentials> current_;
  std::chrono::system_clock::time_point received_at_;
  std::string last_error_;
  bool stopped_ = false;
};

}  // namespace weft::proxy::certificates
