#include "proxy/certificates/identity_manager.h"

#include "common/rfc3339.h"
#include "common/strings.h"
#include "identity/csr.h"
#include "net/log.h"
#include "net/spawn_guard.h"
#include "runtime/atomic_file.h"

namespace weft::proxy::certificates {
namespace {

using Clock = std::chrono::system_clock;
using SteadyDuration = std::chrono::steady_clock::duration;

std::string trimmed(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  return s;
}

}  // namespace

IdentityManager::IdentityManager(asio::io_context& io, IdentitySettings settings,
                                 std::unique_ptr<CertificateClient> client,
                                 metrics::Metrics& metrics, Install install)
    : io_(io),
      settings_(std::move(settings)),
      client_(std::move(client)),
      metrics_(metrics),
      install_(std::move(install)),
      timer_(io),
      poll_timer_(io) {}

absl::Status IdentityManager::start() {
  auto bundle = runtime::readFile(settings_.trust_bundle_file);
  if (!bundle.ok())
    return absl::InvalidArgumentError(weft::strCat("--trust-bundle: ", bundle.status().message()));
  bootstrap_bundle_ = std::move(*bundle);
  if (!settings_.cache_dir.empty()) {
    if (auto st = runtime::ensurePrivateDir(settings_.cache_dir); !st.ok()) {
      return absl::InvalidArgumentError(weft::strCat("--cache-dir ", st.message()));
    }
    if (auto st = loadCache(); !st.ok()) return st;
  }
  if (!key_) {
    key_ = weft::identity::generateKey("P-256");
    if (!key_) return absl::InternalError("cannot generate this proxy's key");
    key_pem_ = weft::identity::privateKeyPem(key_.get());
    if (!settings_.cache_dir.empty()) {
      auto st = runtime::writeFileAtomic(settings_.cache_dir + "/key.pem", key_pem_, 0600);
      if (!st.ok()) return st;
    }
  }
  auto csr = weft::identity::makeCsr(key_.get(), settings_.identity);
  if (!csr.ok()) return csr.status();
  csr_pem_ = std::move(*csr);
  last_error_ = "no answer from the control plane yet";
  asio::co_spawn(io_, run(), SpawnGuard({"identity"}));
  asio::co_spawn(io_, pollBundle(), SpawnGuard({"trust bundle poll"}));
  return absl::OkStatus();
}

void IdentityManager::stop() {
  stopped_ = true;
  timer_.cancel();
  poll_timer_.cancel();
}

std::string IdentityManager::notReadyReason() const {
  if (current_) return "";
  return weft::strCat("waiting for a certificate: ", last_error_);
}

absl::Status IdentityManager::loadCache() {
  auto key = runtime::readFile(settings_.cache_dir + "/key.pem");
  if (absl::IsNotFound(key.status())) return absl::OkStatus();
  if (!key.ok()) return key.status();
  auto parsed = weft::identity::parsePrivateKey(*key);
  if (!parsed.ok()) {
    log::warn("--cache-dir: ignoring ", settings_.cache_dir,
              "/key.pem: ", parsed.status().message());
    return absl::OkStatus();
  }
  key_ = std::move(*parsed);
  key_pem_ = std::move(*key);
  auto chain = runtime::readFile(settings_.cache_dir + "/cert.pem");
  auto bundle = runtime::readFile(settings_.cache_dir + "/bundle.pem");
  if (!chain.ok() || !bundle.ok()) return absl::OkStatus();
  auto creds = Credentials::fromPem({*chain, key_pem_, *bundle}, settings_.trust_domain,
                                    settings_.identity, "the cached certificate");
  if (!creds.ok() || (*creds)->notAfter() <= Clock::now()) {
    log::info("the cached certificate is not usable (",
              creds.ok() ? "expired" : std::string(creds.status().message()),
              "): requesting a new one");
    return absl::OkStatus();
  }
  current_ = *creds;
  received_at_ = Clock::now();
  issued_bundle_ = *bundle;
  metrics_.setCertificate(current_->notBefore(), current_->notAfter());
  install_(current_);
  log::info("serving with the cached certificate until ", weft::rfc3339(current_->notAfter()));
  return absl::OkStatus();
}

absl::Status IdentityManager::adopt(const IssuedPem& issued, std::string_view origin) {
  const std::string chain = issued.certificate + issued.chain;
  auto creds = Credentials::fromPem({chain, key_pem_, issued.trust_bundle}, settings_.trust_domain,
                                    settings_.identity, origin);
  if (!creds.ok()) return creds.status();
  current_ = *creds;
  received_at_ = Clock::now();
  issued_bundle_ = issued.trust_bundle;
  bundle_version_ = issued.bundle_version;
  metrics_.setCertificate(current_->notBefore(), current_->notAfter());
  install_(current_);
  if (!settings_.cache_dir.empty()) {
    // Best effort: a cache that cannot be written costs only a restart's first request.
    auto st = runtime::writeFileAtomic(settings_.cache_dir + "/cert.pem", chain, 0600);
    if (st.ok()) {
      st = runtime::writeFileAtomic(settings_.cache_dir + "/bundle.pem", issued.trust_bundle, 0600);
    }
    if (!st.ok()) log::warn("--cache-dir: ", st.message());
  }
  return absl::OkStatus();
}

awaitable<absl::Status> IdentityManager::refresh() {
  // A renewal can prove itself with the current certificate: the token is then optional.
  auto token = runtime::readFile(settings_.token_file, 64 * 1024);
  if (!token.ok() && !current_) {
    co_return absl::FailedPreconditionError(
        weft::strCat("cannot read the join token: ", token.status().message()));
  }
  CertificateRequest request{csr_pem_, token.ok() ? trimmed(*token) : std::string(),
                             bootstrap_bundle_ + issued_bundle_, bundle_version_, current_};
  auto issued = co_await client_->request(std::move(request));
  if (!issued.ok()) co_return issued.status();
  if (auto st = adopt(*issued, "the issued certificate"); !st.ok()) co_return st;
  co_return absl::OkStatus();
}

SteadyDuration IdentityManager::untilRenewal() {
  const auto lifetime = current_->notAfter() - received_at_;
  std::uniform_real_distribution<double> jitter(0.9, 1.0);
  const auto at = std::chrono::duration_cast<SteadyDuration>(lifetime * 0.7 * jitter(random_));
  const auto elapsed = Clock::now() - received_at_;
  return std::max<SteadyDuration>(std::chrono::duration_cast<SteadyDuration>(at - elapsed),
                                  std::chrono::milliseconds(100));
}

SteadyDuration IdentityManager::backoff(int failures) {
  auto base = std::chrono::duration_cast<SteadyDuration>(current_ ? settings_.renew_backoff
                                                                  : settings_.first_backoff);
  for (int i = 1; i < failures && base < settings_.max_backoff; ++i) base *= 2;
  // Without a certificate the proxy serves nothing: keep trying at least every renew_backoff.
  base = std::min<SteadyDuration>(base, current_ ? settings_.max_backoff : settings_.renew_backoff);
  if (current_) {
    const auto left = current_->notAfter() - Clock::now();
    base = std::min<SteadyDuration>(
        base, std::max<SteadyDuration>(std::chrono::duration_cast<SteadyDuration>(left / 4),
                                       std::chrono::seconds(1)));
  }
  std::uniform_real_distribution<double> jitter(0.8, 1.2);
  return std::chrono::duration_cast<SteadyDuration>(base * jitter(random_));
}

void IdentityManager::logFailure(const absl::Status& status, SteadyDuration retry) {
  const auto retry_ms = std::chrono::duration_cast<std::chrono::milliseconds>(retry).count();
  if (!current_) {
    log::warn("no certificate yet: ", status.message(), "; retrying in ", retry_ms, "ms");
    return;
  }
  const auto lifetime = current_->notAfter() - received_at_;
  const auto left = current_->notAfter() - Clock::now();
  const std::string text = weft::strCat(
      "certificate renewal failed: ", status.message(), "; the current one expires at ",
      weft::rfc3339(current_->notAfter()), "; retrying in ", retry_ms, "ms");
  if (left < lifetime / 10) {
    log::error(text);
  } else if (left < lifetime / 2) {
    log::warn(text);
  } else {
    log::info(text);
  }
}

awaitable<bool> IdentityManager::sleep(SteadyDuration wait) {
  if (renew_now_) co_return !stopped_;
  timer_.expires_after(wait);
  auto [ec] = co_await timer_.async_wait(kUseTuple);
  co_return !stopped_ && (!ec || renew_now_);
}

awaitable<void> IdentityManager::run() {
  int failures = 0;
  // A cached certificate: renew it on its schedule.
  if (current_ && !co_await sleep(untilRenewal())) co_return;
  while (!stopped_) {
    renew_now_ = false;
    absl::Status st = co_await refresh();
    if (stopped_) co_return;
    SteadyDuration wait;
    if (st.ok()) {
      failures = 0;
      last_error_.clear();
      metrics_.recordCertRefresh(true);
      wait = untilRenewal();
      log::info("certificate for ", current_->identity(), " until ",
                weft::rfc3339(current_->notAfter()), "; renewing in ",
                std::chrono::duration_cast<std::chrono::seconds>(wait).count(), "s");
    } else {
      ++failures;
      last_error_ = std::string(st.message());
      metrics_.recordCertRefresh(false);
      wait = backoff(failures);
      logFailure(st, wait);
    }
    if (!co_await sleep(wait)) co_return;
  }
}

SteadyDuration IdentityManager::pollInterval() const {
  if (!current_) return std::chrono::seconds(1);
  const auto tenth =
      std::chrono::duration_cast<SteadyDuration>((current_->notAfter() - received_at_) / 10);
  return std::clamp<SteadyDuration>(tenth, std::chrono::seconds(1), settings_.max_poll_interval);
}

awaitable<void> IdentityManager::pollBundle() {
  while (!stopped_) {
    poll_timer_.expires_after(pollInterval());
    auto [ec] = co_await poll_timer_.async_wait(kUseTuple);
    if (ec || stopped_) co_return;
    if (!current_ || renew_now_) continue;
    auto check = co_await client_->checkBundle(bundle_version_, current_);
    if (stopped_) co_return;
    if (!check.ok()) {
      log::debug("trust bundle check failed: ", check.status().message());
      continue;
    }
    if (check->bundle_version != bundle_version_ || check->renew) {
      log::info("renewing now: ", check->renew
                                      ? std::string("the control plane issues from a new CA")
                                      : weft::strCat("trust bundle version ", check->bundle_version,
                                                     " replaces ", bundle_version_));
      renew_now_ = true;
      timer_.cancel();
    }
  }
}

}  // namespace weft::proxy::certificates
