#include "proxy/pipeline/upstream_try.h"

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <boost/beast/http/error.hpp>

#include "common/strings.h"
#include "net/error_text.h"
#include "net/http/http2/client_errors.h"
#include "net/log.h"

namespace weft::pipeline {
namespace {

bool isCodecTimeout(const error_code& ec) { return ec == beast::error::timeout; }

// A fatal TLS alert from the peer (OpenSSL's alert reasons start at SSL_AD_REASON_OFFSET): on a
// fresh connection at the first read, the peer refused the handshake (TLS 1.3 checks the client
// certificate after the client's side of the handshake is done) and never read the request.
bool isTlsAlert(const error_code& ec) {
  if (ec.category() != asio::error::get_ssl_category()) return false;
  const auto v = static_cast<unsigned long>(ec.value());
  return ERR_GET_LIB(v) == ERR_LIB_SSL && ERR_GET_REASON(v) >= SSL_AD_REASON_OFFSET;
}

// What an operator should check when a new connection to the app failed at once: the app and
// --app-protocol disagree.
std::string_view protocolHint(const upstream::Target& target, bool reused, const error_code& ec) {
  if (reused || target.tls) return "";
  if (target.protocol == upstream::Target::Protocol::kH2c &&
      ec == http::http2::ClientErrc::kConnectionClosed) {
    // An app that speaks only HTTP/1.1 hangs up on the HTTP/2 preface.
    return " (sent h2c: does the app speak HTTP/2? if not, run with --app-protocol http1)";
  }
  if (target.protocol == upstream::Target::Protocol::kHttp1 &&
      ec == beast::http::error::bad_version) {
    // An app that speaks only HTTP/2 answers an HTTP/1.1 request with SETTINGS.
    return " (sent HTTP/1.1: if the app speaks only HTTP/2, run with --app-protocol h2c)";
  }
  return "";
}

// Tries of one request on fresh connections after stale or refused ones.
constexpr int kMaxFreshTries = 3;

}  // namespace

awaitable<void> UpstreamTry::run(Attempt& out, const http::RequestHead& request, BodySource& body,
                                 const upstream::Target& target,
                                 std::optional<std::chrono::steady_clock::time_point> deadline) {
  DeadlineGuard guard(executor_, deadline);
  auto fail = [&](TryFailure failure, unsigned status, std::string reason) {
    out.result = {failure, 0};
    out.local_status = status;
    out.reason = std::move(reason);
  };
  auto timed_out = [&] {
    fail(TryFailure::kTimeout, 504,
         weft::strCat(hop_, " ", target.address, ": timed out waiting for the response"));
  };
  // A client that resets its stream (HTTP/2) ends the upstream exchange too.
  body.stream.setResetCallback([&out] {
    out.client_gone = true;
    out.permit.reset();
    if (out.lease) out.lease.abandon();
  });
  if (out.client_gone) co_return;  // reset before the try began

  for (int fresh_tries = 0;; ++fresh_tries) {
    // A shared (HTTP/2) connection is looked up again: a dead one has left the pool, and the
    // requests it failed should share one new connection, not open one each.
    auto acquired = co_await pool_.acquire(target, fresh_tries == 0 || target.mayMultiplex());
    if (out.client_gone) {
      if (acquired.ok()) pool_.releaseUnused(target, std::move(*acquired));
      co_return;
    }
    if (guard.fired()) co_return timed_out();
    if (!acquired.ok()) {
      co_return fail(TryFailure::kConnect, 503,
                     weft::strCat(hop_, " connect failed: ", target.address, ": ",
                                  weft::sv(acquired.status().message())));
    }
    out.lease = std::move(*acquired);
    upstream::ConnectionPool::Lease& lease = out.lease;
    http::ClientStream& upstream = lease.stream();
    guard.watch(&upstream);
    // What a failed step means, decided here and only here, from what reached the peer. A
    // request the peer cannot have seen (no byte of it was written) or provably did not process
    // (REFUSED_STREAM, above a GOAWAY's last-stream-id) goes to a fresh connection if its body
    // is still at hand: true. Anything else may have been processed, and only the route's retry
    // policy may send it again (RFC 9110 §9.2.2): the try fails with what happened.
    auto failed = [&](const error_code& ec, std::string_view what) -> bool {
      const bool sent = upstream.requestSent();
      const bool refused = http::http2::isRefused(ec);
      const bool reused = lease.reused();
      lease.abandon();
      guard.watch(nullptr);
      if (guard.fired()) {
        timed_out();
        return false;
      }
      if (out.client_gone) return false;
      if (ec == http::http2::ClientErrc::kNoExtendedConnect) {
        // A property of the app, not a passing failure: say which, and do not try again.
        fail(TryFailure::kReset, 501,
             weft::strCat(hop_, " ", target.address, " cannot carry a WebSocket: ", errorText(ec)));
        return false;
      }
      if ((refused || !sent) && !body.consumed && fresh_tries + 1 < kMaxFreshTries) return true;
      if (refused) {
        fail(TryFailure::kRefused, 503,
             weft::strCat(hop_, " refused the request: ", target.address, ": ", errorText(ec)));
      } else if (!sent || (!reused && isTlsAlert(ec))) {
        // Nothing of the request left, or the peer rejected the handshake before reading it.
        fail(TryFailure::kConnect, 503,
             weft::strCat(
                 hop_,
                 reused ? " connection closed before the request was sent: " : " connect failed: ",
                 target.address, ": ", errorText(ec), protocolHint(target, reused, ec)));
      } else if (isCodecTimeout(ec)) {
        fail(TryFailure::kTimeout, 504,
             weft::strCat(hop_, " response timed out: ", target.address, ": ", errorText(ec)));
      } else {
        fail(TryFailure::kReset, 502,
             weft::strCat(hop_, " ", what, ": ", target.address, ": ", errorText(ec),
                          protocolHint(target, reused, ec)));
      }
      return false;
    };

    // A tunnel's bytes flow only once the upstream has accepted it (kTunnelOpen): an app that
    // refuses the upgrade never gets what the client sent after its request head.
    const bool tunnel = !request.upgrade.empty();
    const bool flush_head = tunnel || body.replay != nullptr || !body.stream.requestBodyBuffered();
    if (auto ec = co_await upstream.sendRequestHead(request, flush_head); ec) {
      // A stream's head is only queued on its connection: it fails when the connection has
      // already ended, which may well happen before this request's turn to be written.
      if (failed(ec, lease.multiplexed() ? "closed before response headers" : "write failed")) {
        continue;
      }
      co_return;
    }
    if (request.body.present && body.replay != nullptr) {
      if (auto ec = co_await upstream.sendRequestBody(*body.replay, true); ec) {
        if (failed(ec, "write failed")) continue;
        co_return;
      }
    } else if (request.body.present && !tunnel) {
      // Full duplex: the body streams on while the response is read, so a response that comes
      // before the whole body (gRPC streaming, or a 413 to an upload) reaches the client at once.
      body.consumed = true;
      out.pump = RequestBodyPump::start(executor_, body.stream, upstream);
    }
    if (auto ec = co_await upstream.readResponseHead(out.head); ec) {
      if (out.pump && out.pump->clientGone()) out.client_gone = true;
      if (failed(ec, "closed before response headers")) continue;
      co_return;
    }
    guard.watch(nullptr);
    out.result = {TryFailure::kNone, out.head.status};
    if (tunnel && out.head.status == http::kTunnelOpen) {
      body.consumed = true;
      out.pump = RequestBodyPump::start(executor_, body.stream, upstream);
    }
    co_return;
  }
}

}  // namespace weft::pipeline
