#include "proxy/pipeline/upstream_try.h"

#include <boost/beast/http/error.hpp>

#include "common/strings.h"
#include "proxy/common/error_text.h"
#include "proxy/common/log.h"

namespace weft::pipeline {
namespace {

bool isCodecTimeout(const error_code& ec) { return ec == beast::error::timeout; }

// A reused keep-alive connection the peer closed meanwhile fails this way; the request is safe
// to send again on a new connection if none of its body was consumed.
bool isStaleConnection(const error_code& ec) {
  return ec == asio::error::eof || ec == asio::error::connection_reset ||
         ec == asio::error::broken_pipe || ec == beast::http::error::end_of_stream ||
         ec == asio::ssl::error::stream_truncated;
}

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

  for (int fresh_tries = 0;; ++fresh_tries) {
    auto lease = co_await pool_.acquire(target, fresh_tries == 0);
    if (guard.fired()) co_return timed_out();
    if (!lease.ok()) {
      co_return fail(TryFailure::kConnect, 503,
                     weft::strCat(hop_, " connect failed: ", target.address, ": ",
                                  weft::sv(lease.status().message())));
    }
    http::ClientConnection& conn = *lease->connection;
    guard.watch(&conn);
    http::ClientStream& upstream = conn.startStream();
    // Whether a failed step may be retried on a fresh connection; else the reason to report.
    auto stale_or_fail = [&](const error_code& ec, std::string_view what) -> bool {
      conn.close();
      guard.watch(nullptr);
      if (guard.fired()) {
        timed_out();
        return false;
      }
      if (lease->reused && !body.consumed && isStaleConnection(ec)) return true;
      // On a fresh TLS connection a rejected client certificate surfaces at the first read.
      bool connect =
          !lease->reused && target.tls && ec.category() == asio::error::get_ssl_category();
      if (connect) {
        fail(TryFailure::kConnect, 503,
             weft::strCat(hop_, " connect failed: ", target.address, ": ", errorText(ec)));
      } else if (isCodecTimeout(ec)) {
        fail(TryFailure::kTimeout, 504,
             weft::strCat(hop_, " response timed out: ", target.address, ": ", errorText(ec)));
      } else {
        fail(TryFailure::kReset, 502,
             weft::strCat(hop_, " ", what, ": ", target.address, ": ", errorText(ec)));
      }
      return false;
    };

    const bool flush_head = body.replay != nullptr || !body.stream.requestBodyBuffered();
    if (auto ec = co_await upstream.sendRequestHead(request, flush_head); ec) {
      if (stale_or_fail(ec, "write failed")) continue;
      co_return;
    }
    if (request.body.present && body.replay != nullptr) {
      if (auto ec = co_await upstream.sendRequestBody(*body.replay, true); ec) {
        if (stale_or_fail(ec, "write failed")) continue;
        co_return;
      }
    } else if (request.body.present) {
      body.consumed = true;
      for (;;) {
        http::BodyRead r = co_await body.stream.readRequestBody(body.buffer);
        if (r.ec) {
          conn.close();
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
      if (stale_or_fail(ec, "closed before response headers")) continue;
      co_return;
    }
    guard.watch(nullptr);
    out.result = {TryFailure::kNone, out.head.status};
    out.upstream = &upstream;
    out.lease = std::move(*lease);
    co_return;
  }
}

}  // namespace weft::pipeline
