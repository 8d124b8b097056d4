#pragma once

#include <memory>

#include "net/http/codec.h"
#include "net/http/http2/client_session.h"

namespace weft::http::http2 {

// One exchange on an HTTP/2 client connection.
class Http2ClientStream : public ClientStream {
 public:
  // The HTTP/2 stream id once the request head was submitted, else -1.
  virtual int32_t id() const = 0;
};

// A stream handle over the shared ClientStreamState. Reads wait for the session's callbacks;
// each wait is bounded by the settings' read_timeout (on expiry the stream is cancelled and the
// operation fails with beast::error::timeout). Destroyed before the exchange completed, it
// resets the stream with CANCEL.
class ClientStreamImpl final : public Http2ClientStream {
 public:
  ClientStreamImpl(std::shared_ptr<ClientSession> session,
                   std::shared_ptr<ClientStreamState> state);
  ~ClientStreamImpl() override;
  ClientStreamImpl(const ClientStreamImpl&) = delete;
  ClientStreamImpl& operator=(const ClientStreamImpl&) = delete;

  // ClientStream. `flush` is moot: the connection's writer batches frames anyway.
  awaitable<error_code> sendRequestHead(const RequestHead& head, bool flush) override;
  awaitable<error_code> sendRequestBody(std::span<const char> data, bool end) override;
  awaitable<error_code> readResponseHead(ResponseHead& head) override;
  awaitable<BodyRead> readResponseBody(std::span<char> buffer) override;
  bool responseBodyBuffered() const override;
  const HeaderMap& responseTrailers() const override { return state_->trailers; }
  bool requestSent() const override { return state_->head_sent; }
  void abort() override;

  // Http2ClientStream
  int32_t id() const override { return state_->id; }

 private:
  // Waits on `signal` until the deadline; false (and the stream cancelled) when it passed.
  awaitable<bool> wait(Signal& signal, Signal::Clock::time_point until);
  Signal::Clock::time_point deadline() const;

  std::shared_ptr<ClientSession> session_;
  std::shared_ptr<ClientStreamState> state_;
  bool submitted_ = false;
};

}  // namespace weft::http::http2
