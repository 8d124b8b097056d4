#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>

#include <nghttp2/nghttp2.h>

#include "net/asio.h"
#include "net/http/codec.h"
#include "net/http/http2/convert.h"
#include "net/signal.h"

namespace weft::http::http2 {

class ServerSession;

// One HTTP/2 request/response exchange as the pipeline sees it. Request DATA is buffered as it
// arrives and handed back to nghttp2 as consumed only when the pipeline reads it, so the stream's
// flow-control window holds a fast uploader back. Response DATA is queued here and pulled by
// nghttp2's data provider; sendResponseBody waits while more than kMaxQueuedResponseBytes are
// queued, so a slow reader holds the pipeline back instead of growing the queue.
//
// Owned by its ServerSession, which keeps it until the handler has returned and nghttp2 has closed
// the stream (nghttp2 keeps a pointer to it as stream user data and data source).
class ServerStreamImpl final : public ServerStream {
 public:
  ServerStreamImpl(ServerSession& session, int32_t id, size_t max_header_bytes);
  ServerStreamImpl(const ServerStreamImpl&) = delete;
  ServerStreamImpl& operator=(const ServerStreamImpl&) = delete;

  // ServerStream
  RequestHead& request() override { return request_; }
  const DownstreamInfo& downstream() const override;
  awaitable<BodyRead> readRequestBody(std::span<char> buffer) override;
  void cancelRequestBody() override {
    request_cancelled_ = true;
    read_signal_.notify();
  }
  bool requestBodyBuffered() const override { return in_pos_ < in_.size() || request_ended_; }
  awaitable<error_code> sendResponseHead(const ResponseHead& head, bool flush) override;
  awaitable<error_code> sendResponseBody(std::span<const char> data, bool end) override;
  awaitable<error_code> sendResponseTrailers(const HeaderMap& trailers) override;
  bool responseStarted() const override { return response_started_; }
  // A callback set once the stream has failed runs at once.
  void setResetCallback(std::function<void()> callback) override;

  int32_t id() const { return id_; }

 private:
  friend class ServerSession;

  // nghttp2's data provider: copies queued response bytes into `buf`.
  ssize_t readData(uint8_t* buf, size_t length, uint32_t* flags);
  void received(const uint8_t* data, size_t n);
  void requestEnded();
  // Unread request bytes, dropped: returns how many, for the connection window.
  size_t discardInput();
  // The stream closed or the connection went away: waiters must look again.
  void wakeAll();
  bool failed() const;
  size_t queued() const { return out_.size() - out_pos_; }
  // The codec's own answer (malformed request): the whole body is queued at once.
  void queueLocalBody(std::string body);

  ServerSession& session_;
  int32_t id_;
  RequestHead request_;
  std::optional<RequestHeadBuilder> builder_;  // while the request's HEADERS arrive

  std::string in_;  // request body received, not yet read
  size_t in_pos_ = 0;
  std::string out_;  // response body queued, not yet taken by nghttp2
  size_t out_pos_ = 0;
  HeaderMap trailers_;  // sent after the body, instead of ending it with the last DATA frame
  std::function<void()> reset_callback_;
  Signal read_signal_;   // request bytes, end, or reset
  Signal write_signal_;  // response bytes taken, END_STREAM sent, or reset

  bool request_ended_ = false;
  bool request_cancelled_ = false;  // the handler wants no more of the request body
  bool expect_continue_ = false;
  bool head_request_ = false;
  bool handler_running_ = false;
  bool closed_ = false;  // nghttp2 closed the stream
  bool reset_ = false;   // closed before the response was complete
  bool response_started_ = false;
  bool response_done_ = false;  // the end of the response is submitted
  bool has_body_ = false;
  bool out_end_ = false;
  bool deferred_ = false;  // the data provider ran dry and waits for resume
  bool end_sent_ = false;  // END_STREAM went out
};

}  // namespace weft::http::http2
