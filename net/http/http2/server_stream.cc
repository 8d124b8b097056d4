#include "net/http/http2/server_stream.h"

#include <algorithm>
#include <cstring>

#include "net/http/http2/server_session.h"
#include "net/http/http2/settings.h"

namespace weft::http::http2 {
namespace {

using Clock = std::chrono::steady_clock;

// Drops the consumed front of a buffer once it is at least half of it: amortized O(1) per byte.
void compact(std::string& buffer, size_t& pos) {
  if (pos == buffer.size()) {
    buffer.clear();
    pos = 0;
  } else if (pos >= buffer.size() / 2) {
    buffer.erase(0, pos);
    pos = 0;
  }
}

}  // namespace

ServerStreamImpl::ServerStreamImpl(ServerSession& session, int32_t id, size_t max_header_bytes)
    : session_(session),
      id_(id),
      read_signal_(session.executor_),
      write_signal_(session.executor_) {
  builder_.emplace(request_, max_header_bytes);
}

const DownstreamInfo& ServerStreamImpl::downstream() const { return session_.downstream(); }

bool ServerStreamImpl::failed() const { return reset_ || session_.closing(); }

awaitable<BodyRead> ServerStreamImpl::readRequestBody(std::span<char> buffer) {
  if (expect_continue_) {
    expect_continue_ = false;
    if (!request_ended_ && in_pos_ == in_.size() && !failed()) session_.submitContinue(id_);
  }
  // A tunnel's (a WebSocket's) client side may rightly be quiet for long.
  auto deadline =
      Clock::now() + (request_.upgrade.empty() ? session_.settings().read_timeout
                                               : session_.settings().tunnel_idle_timeout);
  for (;;) {
    if (request_cancelled_) co_return BodyRead{asio::error::operation_aborted, 0, false};
    if (in_pos_ < in_.size()) {
      size_t n = std::min(buffer.size(), in_.size() - in_pos_);
      std::memcpy(buffer.data(), in_.data() + in_pos_, n);
      in_pos_ += n;
      compact(in_, in_pos_);
      session_.consumed(id_, n);  // the window opens only as far as the pipeline has read
      co_return BodyRead{{}, n, in_pos_ == in_.size() && request_ended_};
    }
    if (request_ended_) co_return BodyRead{{}, 0, true};
    if (failed()) co_return BodyRead{asio::error::connection_reset, 0, false};
    if (!co_await read_signal_.waitUntil(deadline) && Clock::now() >= deadline) {
      co_return BodyRead{beast::error::timeout, 0, false};
    }
  }
}

awaitable<error_code> ServerStreamImpl::sendResponseHead(const ResponseHead& head, bool) {
  if (failed()) co_return asio::error::connection_reset;
  response_started_ = true;
  const bool body_allowed = !head_request_ && head.status != 204 && head.status != 304;
  has_body_ = head.body.present && body_allowed;
  ResponseFields fields;
  buildResponseFields(head, fields);
  // Frames leave when the connection's writer next runs, so a body that follows at once shares
  // the write with the HEADERS frame.
  if (session_.submitResponse(*this, fields, has_body_) != 0) {
    co_return asio::error::connection_reset;
  }
  if (!has_body_) {
    response_done_ = true;
    session_.messageQueued();
  }
  co_return error_code{};
}

awaitable<error_code> ServerStreamImpl::sendResponseBody(std::span<const char> data, bool end) {
  if (response_done_) co_return error_code{};  // HEAD, 204, 304: the body is not sent
  if (failed()) co_return asio::error::connection_reset;
  out_.append(data.data(), data.size());
  if (end) out_end_ = true;
  if (deferred_) {
    deferred_ = false;
    session_.resumeData(id_);
  }
  if (end) {
    session_.messageQueued();
  } else {
    session_.wakeWriter();
  }
  auto deadline = Clock::now() + session_.settings().read_timeout;
  for (;;) {
    if (failed()) co_return asio::error::connection_reset;
    // The last piece waits until END_STREAM is out, so the handler's return means "complete".
    if (end ? end_sent_ : queued() <= kMaxQueuedResponseBytes) break;
    if (co_await write_signal_.waitUntil(deadline)) {
      deadline = Clock::now() + session_.settings().read_timeout;  // the client made progress
    } else if (Clock::now() >= deadline) {
      co_return beast::error::timeout;
    }
  }
  if (end) response_done_ = true;
  co_return error_code{};
}

awaitable<error_code> ServerStreamImpl::sendResponseTrailers(const HeaderMap& trailers) {
  if (!response_done_) trailers_ = trailers;
  co_return co_await sendResponseBody({}, true);
}

ssize_t ServerStreamImpl::readData(uint8_t* buf, size_t length, uint32_t* flags) {
  size_t n = std::min(length, queued());
  if (n == 0 && !out_end_) {
    deferred_ = true;
    return NGHTTP2_ERR_DEFERRED;
  }
  std::memcpy(buf, out_.data() + out_pos_, n);
  out_pos_ += n;
  compact(out_, out_pos_);
  if (out_end_ && queued() == 0) {
    *flags |= NGHTTP2_DATA_FLAG_EOF;
    if (trailers_.size() > 0 && session_.submitTrailer(id_, trailers_)) {
      *flags |= NGHTTP2_DATA_FLAG_NO_END_STREAM;  // the trailers' HEADERS frame ends the stream
    }
  }
  write_signal_.notify();
  return static_cast<ssize_t>(n);
}

void ServerStreamImpl::received(const uint8_t* data, size_t n) {
  in_.append(reinterpret_cast<const char*>(data), n);
  read_signal_.notify();
}

void ServerStreamImpl::requestEnded() {
  request_ended_ = true;
  read_signal_.notify();
}

size_t ServerStreamImpl::discardInput() {
  size_t unread = in_.size() - in_pos_;
  in_.clear();
  in_pos_ = 0;
  return unread;
}

void ServerStreamImpl::wakeAll() {
  read_signal_.notify();
  write_signal_.notify();
  if (failed() && handler_running_ && reset_callback_) {
    auto callback = std::move(reset_callback_);
    reset_callback_ = nullptr;
    callback();
  }
}

void ServerStreamImpl::setResetCallback(std::function<void()> callback) {
  if (callback && failed() && handler_running_) {
    callback();
    return;
  }
  reset_callback_ = std::move(callback);
}

void ServerStreamImpl::queueLocalBody(std::string body) {
  out_ = std::move(body);
  out_pos_ = 0;
  out_end_ = true;
}

}  // namespace weft::http::http2
