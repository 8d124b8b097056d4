#include "net/http/http2/client_stream.h"

#include <algorithm>
#include <cstring>

namespace weft::http::http2 {

ClientStreamImpl::ClientStreamImpl(std::shared_ptr<ClientSession> session,
                                   std::shared_ptr<ClientStreamState> state)
    : session_(std::move(session)), state_(std::move(state)) {}

ClientStreamImpl::~ClientStreamImpl() {
  if (!submitted_) {
    session_->forget();
    return;
  }
  state_->detached = true;
  // Window for what arrived but was never read goes back to the connection.
  session_->consumed(*state_, state_->buffered());
  state_->body.clear();
  state_->body_off = 0;
  if (!state_->closed) session_->cancel(*state_);
}

Signal::Clock::time_point ClientStreamImpl::deadline() const {
  return Signal::Clock::now() + session_->settings().read_timeout;
}

awaitable<bool> ClientStreamImpl::wait(Signal& signal, Signal::Clock::time_point until) {
  if (Signal::Clock::now() >= until) {
    session_->cancel(*state_);
    co_return false;
  }
  co_await signal.waitUntil(until);
  co_return true;
}

awaitable<error_code> ClientStreamImpl::sendRequestHead(const RequestHead& head, bool) {
  if (submitted_) co_return make_error_code(ClientErrc::kProtocol);
  if (!head.upgrade.empty()) {
    // Extended CONNECT only once the server's SETTINGS said it takes it (RFC 8441 §3).
    const auto until = deadline();
    while (!state_->error && !session_->awaitSettings(state_)) {
      if (!co_await wait(state_->read_signal, until)) co_return beast::error::timeout;
    }
    if (state_->error) co_return state_->error;
    if (!session_->peerTakesExtendedConnect()) {
      co_return make_error_code(ClientErrc::kNoExtendedConnect);
    }
  }
  submitted_ = true;
  co_return session_->submitRequest(state_, head);
}

awaitable<error_code> ClientStreamImpl::sendRequestBody(std::span<const char> data, bool end) {
  ClientStreamState& s = *state_;
  const auto until = deadline();
  // Backpressure: the queue nghttp2 has not taken yet stays under a small bound.
  while (!s.error && !s.closed && s.queued() >= kMaxQueuedRequestBytes) {
    if (!co_await wait(s.write_signal, until)) co_return beast::error::timeout;
  }
  if (s.error) co_return s.error;
  if (s.closed || s.out_end) co_return error_code{};  // the response ended: nobody wants the rest
  s.out.append(data.data(), data.size());
  s.out_end = end;
  session_->resumeData(s);
  co_return error_code{};
}

awaitable<error_code> ClientStreamImpl::readResponseHead(ResponseHead& head) {
  ClientStreamState& s = *state_;
  const auto timeout = session_->settings().read_timeout;
  const auto start = Signal::Clock::now();
  while (!s.head_done && !s.error) {
    // A request body still going out (full duplex) is progress too: a slow upload is not a
    // silent peer.
    const auto until = std::max(start, s.body_progress) + timeout;
    if (!co_await wait(s.read_signal, until)) co_return beast::error::timeout;
  }
  if (!s.head_done) co_return s.error;
  head = std::move(s.head);
  s.head = ResponseHead{};
  co_return error_code{};
}

awaitable<BodyRead> ClientStreamImpl::readResponseBody(std::span<char> buffer) {
  ClientStreamState& s = *state_;
  // An open tunnel may rightly be quiet for long.
  const auto until =
      s.tunnel ? Signal::Clock::now() + session_->settings().tunnel_idle_timeout : deadline();
  while (s.buffered() == 0 && !s.ended && !s.error) {
    if (!co_await wait(s.read_signal, until)) co_return BodyRead{beast::error::timeout, 0, false};
  }
  BodyRead r;
  r.n = std::min(buffer.size(), s.buffered());
  if (r.n > 0) {
    std::memcpy(buffer.data(), s.body.data() + s.body_off, r.n);
    s.body_off += r.n;
    if (s.body_off == s.body.size()) {
      s.body.clear();
      s.body_off = 0;
    }
    session_->consumed(s, r.n);
  }
  if (s.buffered() == 0) {
    if (s.ended) {
      r.end = true;
    } else if (s.error && r.n == 0) {
      r.ec = s.error;
    }
  }
  co_return r;
}

void ClientStreamImpl::abort() { session_->cancel(*state_); }

bool ClientStreamImpl::responseBodyBuffered() const {
  return state_->buffered() > 0 || state_->ended || state_->error;
}

}  // namespace weft::http::http2
