#include "proxy/control/control_stream.h"

#include <array>
#include <random>

#include "common/strings.h"
#include "identity/spiffe.h"
#include "net/http/http2/client_connection.h"
#include "net/log.h"
#include "net/spawn_guard.h"
#include "proxy/certificates/certificate_client.h"

namespace weft::proxy::control {
namespace {

// Lives as long as the process: a connection's reader and writer may outlive the stream.
const http::http2::Settings& streamSettings() {
  static const http::http2::Settings settings = [] {
    http::http2::Settings s;
    // weft-control sends a heartbeat every 10 s at most: 30 s of nothing means it is gone.
    s.read_timeout = std::chrono::seconds(30);
    return s;
  }();
  return settings;
}

net::ConnectionTally& streamCounters() {
  static net::ConnectionTally counters;  // main thread only
  return counters;
}

}  // namespace

ControlStream::ControlStream(asio::io_context& io, ControlStreamSettings settings,
                             Credentials credentials, Held held, Apply apply)
    : io_(io),
      settings_(std::move(settings)),
      credentials_(std::move(credentials)),
      held_(std::move(held)),
      apply_(std::move(apply)),
      expected_identity_(
          identity::workloadIdentity(settings_.trust_domain, "weft-system", "weft-control")),
      wake_(io),
      retry_(io),
      writer_done_(io) {}

ControlStream::~ControlStream() = default;

void ControlStream::start() { asio::co_spawn(io_, loop(), SpawnGuard({"control stream"})); }

void ControlStream::stop() {
  stopped_ = true;
  retry_.cancel();
  wake_.cancel();
  if (current_ != nullptr) current_->abort();
}

void ControlStream::send(std::string line) {
  outbox_.push_back(std::move(line));
  wake_.cancel();
}

awaitable<void> ControlStream::loop() {
  std::mt19937_64 rng(std::random_device{}());
  std::chrono::milliseconds backoff = settings_.backoff_base;
  while (!stopped_) {
    const auto began = std::chrono::steady_clock::now();
    absl::Status ended = co_await session();
    if (stopped_) break;
    // A stream that lasted a while was healthy: start the backoff over.
    if (std::chrono::steady_clock::now() - began > settings_.backoff_max) {
      backoff = settings_.backoff_base;
    }
    state_ = std::string(ended.message());
    std::uniform_real_distribution<double> jitter(0.5, 1.5);
    const auto wait = std::chrono::milliseconds(
        static_cast<int64_t>(static_cast<double>(backoff.count()) * jitter(rng)));
    log::warn("control stream: ", ended.message(),
              "; keeping the config in force, reconnecting in ", wait.count(), " ms");
    backoff = std::min(backoff * 2, settings_.backoff_max);
    retry_.expires_after(wait);
    co_await retry_.async_wait(kUseTuple);
  }
}

awaitable<absl::Status> ControlStream::session() {
  std::shared_ptr<const identity::Credentials> creds = credentials_();
  if (!creds) co_return absl::UnavailableError("no certificate yet");
  auto tls =
      co_await certificates::dialControl(io_.get_executor(), settings_.control, expected_identity_,
                                         creds->clientContext(), std::chrono::seconds(10));
  if (!tls.ok()) co_return tls.status();
  auto conn = std::make_unique<http::http2::Http2ClientConnectionImpl<TlsStream>>(
      std::move(*tls), streamSettings(), streamCounters());
  std::unique_ptr<http::http2::Http2ClientStream> stream = conn->openStream();
  http::RequestHead head;
  head.method = "POST";
  head.scheme = "https";
  head.authority = weft::strCat(settings_.control.host, ":", settings_.control.port);
  head.path = std::string(api::push::kStreamPath);
  head.headers.add("content-type", std::string(api::push::kContentType));
  head.body.present = true;
  auto [version, held] = held_();
  const std::string hello = api::push::encode(api::push::Hello{settings_.node, version, held});
  absl::Status ended = absl::OkStatus();
  if (error_code ec = co_await stream->sendRequestHead(head, false); ec) {
    ended = absl::UnavailableError(weft::strCat("control stream: sending: ", ec.message()));
  } else if (error_code bec = co_await stream->sendRequestBody(hello, false); bec) {
    ended = absl::UnavailableError(weft::strCat("control stream: sending: ", bec.message()));
  }
  http::ResponseHead answer;
  if (ended.ok()) {
    if (error_code rec = co_await stream->readResponseHead(answer); rec) {
      ended = absl::UnavailableError(weft::strCat("control stream: ", rec.message()));
    } else if (answer.status != 200) {
      ended = absl::UnavailableError(
          weft::strCat("control plane refused the control stream (", answer.status, ")"));
    }
  }
  if (!ended.ok()) {
    conn->close();
    co_return ended;
  }
  state_ = "connected";
  log::info("control stream to ", settings_.control.host, ":", settings_.control.port,
            " open, holding ", held.size(), " resources at version '", version, "'");
  current_ = stream.get();
  outbox_.clear();
  bool writer_finished = false;
  writer_done_.expires_at(std::chrono::steady_clock::time_point::max());
  asio::co_spawn(
      io_,
      [this, &stream, &writer_finished]() -> awaitable<void> {
        co_await writer(*stream);
        writer_finished = true;
        writer_done_.cancel();
      },
      SpawnGuard({"control stream writer"}));

  api::push::LineReader lines;
  std::array<char, 16 * 1024> buffer;
  while (ended.ok()) {
    http::BodyRead r = co_await stream->readResponseBody(buffer);
    if (r.ec) {
      ended = absl::UnavailableError(weft::strCat("control stream lost: ", r.ec.message()));
      break;
    }
    if (absl::Status st = lines.append(std::string_view(buffer.data(), r.n)); !st.ok()) {
      ended = st;
      break;
    }
    while (std::optional<std::string> line = lines.next()) {
      auto m = api::push::decode(*line);
      if (!m.ok()) {
        ended = m.status();
        break;
      }
      if (m->type != api::push::Message::Type::kUpdate) continue;
      const api::push::Update& u = m->update;
      absl::Status applied = apply_(u);
      send(api::push::encode(api::push::Ack{
          u.nonce, u.version,
          applied.ok() ? std::nullopt
                       : std::optional<std::string>(std::string(applied.message()))}));
    }
    if (r.end) {
      ended = absl::UnavailableError("the control plane ended the control stream");
      break;
    }
  }
  current_ = nullptr;
  stream->abort();
  wake_.cancel();
  while (!writer_finished) co_await writer_done_.async_wait(kUseTuple);
  stream.reset();
  conn->close();
  co_return ended;
}

awaitable<void> ControlStream::writer(http::http2::Http2ClientStream& stream) {
  auto last = std::chrono::steady_clock::now();
  while (!stopped_ && current_ == &stream) {
    if (!outbox_.empty()) {
      const std::string line = std::move(outbox_.front());
      outbox_.pop_front();
      if (error_code ec = co_await stream.sendRequestBody(line, false); ec) co_return;
      continue;
    }
    if (std::chrono::steady_clock::now() - last >= settings_.heartbeat) {
      last = std::chrono::steady_clock::now();
      const std::string ping = api::push::encodePing();
      if (error_code ec = co_await stream.sendRequestBody(ping, false); ec) co_return;
      continue;
    }
    wake_.expires_at(last + settings_.heartbeat);
    co_await wake_.async_wait(kUseTuple);
  }
}

}  // namespace weft::proxy::control
