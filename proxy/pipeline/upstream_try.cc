#include "proxy/pipeline/upstream_try.h"

#include <boost/beast/http/error.hpp>

#include "common/strings.h"
#include "proxy/common/error_text.h"
#include "proxy/common/log.h"
#include "proxy/http/http2/client_errors.h"

namespace weft::pipeline {
namespace {

bool isCodecTimeout(const error_code& ec) { return ec == beast::error::timeout; }

// A reused keep-alive connection the peer closed meanwhile fails this way; the request is safe
// to send again on a new connection if none of its body was consumed.
bool isStaleConnection(const error_code& ec) {
  return ec == asio::error::eof || ec == asio::error::connection_reset ||
         ec == asio::error::broken_pipe || ec == beast::http::error::end_of_stream ||
         ec == asio::ssl::error::stream_truncated ||
         ec == http::http2::ClientErrc::kConnectionClosed;
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
    // Whether a failed step may be retried on a fresh connection; else the reason to report.
    auto stale_or_fail = [&](const error_code& ec, std::string_view what) -> bool {
      lease.abandon();
      guard.watch(nullptr);
      if (guard.fired()) {
        timed_out();
        return false;
      }
      if (out.client_gone) return false;
      if (!body.consumed && fresh_tries + 1 < kMaxFreshTries &&
          ((lease.reused() && isStaleConnection(ec)) || http::http2::isRefused(ec))) {
        return true;
      }
      // On a fresh TLS connection a rejected client certificate surfaces at the first read.
      bool connect =
          !lease.reused() && target.tls && ec.category() == asio::error::get_ssl_category();
      if (connect) {
        fail(TryFailure::kConnect, 503,
             weft::strCat(hop_, " connect failed: ", target.address, ": ", errorText(ec)));
      } else if (http::http2::isRefused(ec)) {
        fail(TryFailure::kRefused, 503,
             weft::strCat(hop_, " refused the request: ", target.address, ": ", errorText(ec)));
      } else if (isCodecTimeout(ec)) {
        fail(TryFailure::kTimeout, 504,
             weft::strCat(hop_, " response timed out: ", target.address, ": ", errorText(ec)));
      } else {
        fail(TryFailure::kReset, 502,
             weft::strCat(hop_, " ", what, ": ", target.address, ": ", errorText(ec),
                          protocolHint(target, lease.reused(), ec)));
      }
      return false;
    };

    const bool flush_head = body.replay != nullptr || !body.stream.requestBodyBuffered();
    if (auto ec = co_await upstream.sendRequestHead(request, flush_head); ec) {
      // A stream's head is only queued on its connection: it fails when the connection has
      // already ended, which may well happen before this request's turn to be written.
      if (stale_or_fail(ec,
                        lease.multiplexed() ? "closed before response headers" : "write failed")) {
        continue;
      }
      co_return;
    }
    if (request.body.present && body.replay != nullptr) {
      if (auto ec = co_await upstream.sendRequestBody(*body.replay, true); ec) {
        if (stale_or_fail(ec, "write failed")) continue;
        co_return;
      }
    } else if (request.body.present && lease.multiplexed() && body.stream.downstream().http2) {
      // Full duplex end to end: the body streams on while the response is read.
      body.consumed = true;
      out.pump = RequestBodyPump::start(executor_, body.stream, upstream);
    } else if (request.body.present) {
      body.consumed = true;
      for (;;) {
        http::BodyRead r = co_await body.stream.readRequestBody(body.buffer);
        if (r.ec) {
          lease.abandon();
          log::info(hop_, " request body aborted by client: ", errorText(r.ec));
          out.client_gone = true;
          co_return;
        }
        if (auto ec = co_await upstream.sendRequestBody(body.buffer.first(r.n), r.end); ec) {
          stale_or_fail(ec, "write failed");
          co_return;
        }
        if (r.end) break;
      }
    }
    if (auto ec = co_await upstream.readResponseHead(out.head); ec) {
      if (out.pump && out.pump->clientGone()) out.client_gone = true;
      if (stale_or_fail(ec, "closed before response headers")) continue;
      co_return;
    }
    guard.watch(nullptr);
    out.result = {TryFailure::kNone, out.head.status};
    co_return;
  }
}

}  // namespace weft::pipeline
