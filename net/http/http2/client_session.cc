#include "net/http/http2/client_session.h"

#include <cstring>
#include <string_view>

#include "common/strings.h"
#include "net/http/http2/settings.h"
#include "net/log.h"

namespace weft::http::http2 {
namespace {

// Fields that describe one connection or belong to the codec (RFC 9113 §8.2.2); `te` is kept
// only as "trailers".
bool dropRequestField(const Header& h) {
  const std::string_view n = h.name;
  if (n.empty() || n.front() == ':') return true;
  if (n == "te") return !weft::equalsIgnoreCase(weft::trim(h.value), "trailers");
  return n == "connection" || n == "keep-alive" || n == "proxy-connection" ||
         n == "transfer-encoding" || n == "upgrade" || n == "host" || n == "content-length" ||
         n == "expect";
}

bool dropResponseField(std::string_view n) {
  return n == "connection" || n == "keep-alive" || n == "proxy-connection" ||
         n == "transfer-encoding" || n == "upgrade" || n == "content-length";
}

nghttp2_nv field(std::string_view name, std::string_view value) {
  return nghttp2_nv{reinterpret_cast<uint8_t*>(const_cast<char*>(name.data())),
                    reinterpret_cast<uint8_t*>(const_cast<char*>(value.data())), name.size(),
                    value.size(), NGHTTP2_NV_FLAG_NONE};
}

}  // namespace

ClientSession::ClientSession(const Executor& executor, const Settings& settings)
    : SessionBase(executor, {Role::kClient, Trampolines<ClientSession>::get(), this, settings,
                             kLogName, "upstream"}) {}

void ClientSession::abort(error_code cause) {
  if (closing_) return;
  closing_ = true;
  output_stopped_ = true;  // the streams' request bodies nghttp2 reads from may be gone
  const error_code ec = cause && cause.category() == asio::error::get_ssl_category()
                            ? cause
                            : make_error_code(ClientErrc::kConnectionClosed);
  closed_error_ = ec;
  for (auto& waiter : settings_waiters_) {
    if (auto state = waiter.lock()) fail(*state, ec);
  }
  settings_waiters_.clear();
  auto streams = std::move(streams_);
  streams_.clear();
  for (auto& [id, state] : streams) {
    state->closed = true;
    if (!state->ended) fail(*state, ec);
  }
  wakeWriter();
}

std::shared_ptr<ClientStreamState> ClientSession::open() {
  ++unsubmitted_;
  return std::make_shared<ClientStreamState>(executor_);
}

uint32_t ClientSession::peerMaxConcurrentStreams() const {
  return nghttp2_session_get_remote_settings(session_, NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS);
}

bool ClientSession::awaitSettings(const std::shared_ptr<ClientStreamState>& state) {
  if (settings_received_) return true;
  settings_waiters_.push_back(state);
  return false;
}

bool ClientSession::peerTakesExtendedConnect() const {
  return nghttp2_session_get_remote_settings(session_, NGHTTP2_SETTINGS_ENABLE_CONNECT_PROTOCOL) ==
         1;
}

bool ClientSession::canOpenStream() const {
  return !goaway_ && !closing_ && !finished() && activeStreams() < peerMaxConcurrentStreams();
}

error_code ClientSession::submitRequest(const std::shared_ptr<ClientStreamState>& state,
                                        const RequestHead& head) {
  --unsubmitted_;
  if (state->error) return state->error;  // aborted before it was sent
  // After a GOAWAY the request never leaves: refused, even once the connection has ended. A
  // stream opened before the connection went fails with why it went (a TLS alert).
  if (goaway_) {
    fail(*state, ClientErrc::kRefused);
    return state->error;
  }
  if (closing_ || fatal_) {
    fail(*state, closed_error_ ? closed_error_ : make_error_code(ClientErrc::kConnectionClosed));
    return state->error;
  }
  std::vector<nghttp2_nv> nva;
  nva.reserve(head.headers.size() + 6);
  // A tunnel goes as an extended CONNECT (RFC 8441 §4, §5): its DATA frames carry the bytes.
  state->tunnel = !head.upgrade.empty();
  if (state->tunnel) {
    nva.push_back(field(":method", "CONNECT"));
    nva.push_back(field(":protocol", head.upgrade));
  } else {
    nva.push_back(field(":method", head.method));
  }
  nva.push_back(field(":scheme", head.scheme));
  nva.push_back(field(":authority", head.authority));
  nva.push_back(field(":path", head.path));
  std::string length;
  if (head.body.length && (head.body.present || *head.body.length == 0)) {
    length = weft::strCat(*head.body.length);
    nva.push_back(field("content-length", length));
  }
  for (const auto& h : head.headers) {
    if (!dropRequestField(h)) nva.push_back(field(h.name, h.value));
  }
  nghttp2_data_provider provider;
  provider.source.ptr = state.get();
  provider.read_callback = [](nghttp2_session*, int32_t, uint8_t* buf, size_t length,
                              uint32_t* flags, nghttp2_data_source* source, void* user_data) {
    return static_cast<ClientSession*>(user_data)->readData(
        *static_cast<ClientStreamState*>(source->ptr), buf, length, flags);
  };
  int32_t id = nghttp2_submit_request(session_, nullptr, nva.data(), nva.size(),
                                      head.body.present ? &provider : nullptr, nullptr);
  if (id < 0) {
    log::warn("http2 request not submitted: ", nghttp2_strerror(id));
    fail(*state, ClientErrc::kRefused);
    return state->error;
  }
  state->id = id;
  state->request_done = !head.body.present;
  streams_[id] = state;
  messageQueued();
  return {};
}

void ClientSession::resumeData(ClientStreamState& state) {
  if (state.closed || !state.deferred) return;
  state.deferred = false;
  nghttp2_session_resume_data(session_, state.id);
  wakeWriter();
}

void ClientSession::consumed(ClientStreamState& state, size_t size) {
  if (size == 0 || closing_) return;
  nghttp2_session_consume(session_, state.id, size);
  if (nghttp2_session_want_write(session_)) wakeWriter();
}

void ClientSession::cancel(ClientStreamState& state) {
  fail(state, ClientErrc::kReset);
  if (state.closed || state.id < 0 || closing_) return;
  nghttp2_submit_rst_stream(session_, NGHTTP2_FLAG_NONE, state.id, NGHTTP2_CANCEL);
  wakeWriter();
}

void ClientSession::fail(ClientStreamState& state, error_code ec) {
  if (!state.error) state.error = ec;
  state.read_signal.notify();
  state.write_signal.notify();
}

ClientStreamState* ClientSession::find(int32_t stream_id) {
  auto it = streams_.find(stream_id);
  return it == streams_.end() ? nullptr : it->second.get();
}

int ClientSession::onBeginHeaders(const nghttp2_frame& frame) {
  if (frame.hd.type != NGHTTP2_HEADERS) return 0;
  if (ClientStreamState* state = find(frame.hd.stream_id)) {
    state->block_bytes = 0;
    state->status = 0;
  }
  return 0;
}

int ClientSession::onHeader(const nghttp2_frame& frame, std::string_view name,
                            std::string_view value) {
  ClientStreamState* state = find(frame.hd.stream_id);
  if (state == nullptr || frame.hd.type != NGHTTP2_HEADERS) return 0;
  state->block_bytes += name.size() + value.size() + 32;
  if (state->block_bytes > settings_.max_header_bytes) {
    fail(*state, ClientErrc::kProtocol);
    return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;  // nghttp2 resets the stream
  }
  if (name == ":status") {
    uint64_t status = 0;
    if (weft::parseUnsigned(value, &status) && status >= 100 && status <= 999) {
      state->status = static_cast<unsigned>(status);
    }
    return 0;
  }
  if (!name.empty() && name.front() == ':') return 0;
  // Fields go where they belong as they arrive: the final head's (nghttp2 has checked that
  // :status came first), or the trailers. An interim (1xx) head's are dropped.
  if (state->head_done) {
    state->trailers.add(std::string(name), std::string(value));
  } else if (state->status >= 200) {
    ResponseHead& head = state->head;
    if (name == "content-length") {
      uint64_t length = 0;
      if (weft::parseUnsigned(value, &length)) head.body.length = length;
    } else if (!dropResponseField(name)) {
      head.headers.add(std::string(name), std::string(value));
    }
  }
  return 0;
}

int ClientSession::onFrameRecv(const nghttp2_frame& frame) {
  if (frame.hd.type == NGHTTP2_SETTINGS && (frame.hd.flags & NGHTTP2_FLAG_ACK) == 0 &&
      !settings_received_) {
    settings_received_ = true;
    for (auto& waiter : settings_waiters_) {
      if (auto state = waiter.lock()) state->read_signal.notify();
    }
    settings_waiters_.clear();
    return 0;
  }
  if (frame.hd.type == NGHTTP2_GOAWAY) {
    // nghttp2 closes the streams above last_stream_id with REFUSED_STREAM itself.
    goaway_ = true;
    log::debug("http2 upstream GOAWAY: last stream ", frame.goaway.last_stream_id, ", ",
               nghttp2_http2_strerror(frame.goaway.error_code));
    return 0;
  }
  if (frame.hd.type != NGHTTP2_HEADERS && frame.hd.type != NGHTTP2_DATA) return 0;
  ClientStreamState* state = find(frame.hd.stream_id);
  if (state == nullptr) return 0;
  const bool end = (frame.hd.flags & NGHTTP2_FLAG_END_STREAM) != 0;
  if (frame.hd.type == NGHTTP2_HEADERS) {
    if (!state->head_done) {
      if (state->status >= 100 && state->status < 200) return 0;  // interim: wait for the final
      finishHead(*state, end);
    }
  }
  if (end) state->ended = true;
  state->read_signal.notify();
  return 0;
}

void ClientSession::finishHead(ClientStreamState& state, bool end) {
  if (state.status < 200) {
    fail(state, ClientErrc::kProtocol);
    cancel(state);
    return;
  }
  ResponseHead& head = state.head;  // its fields came in onHeader()
  head.status = state.status;
  head.body.present = !end;
  if (state.tunnel && state.status < 300) {
    head.status = kTunnelOpen;
    head.body.length.reset();
  }
  state.head_done = true;
}

int ClientSession::onDataChunk(int32_t stream_id, const uint8_t* data, size_t size) {
  ClientStreamState* state = find(stream_id);
  if (state == nullptr || state->detached) {
    nghttp2_session_consume(session_, stream_id, size);  // nobody reads it
    return 0;
  }
  state->body.append(reinterpret_cast<const char*>(data), size);
  state->read_signal.notify();
  return 0;
}

int ClientSession::onFrameSend(const nghttp2_frame& frame) {
  if (frame.hd.type != NGHTTP2_HEADERS) return 0;
  if (ClientStreamState* state = find(frame.hd.stream_id)) state->head_sent = true;
  return 0;
}

int ClientSession::onFrameNotSend(const nghttp2_frame& frame) {
  if (frame.hd.type != NGHTTP2_HEADERS) return 0;
  auto it = streams_.find(frame.hd.stream_id);
  if (it == streams_.end()) return 0;
  // A request that never left (a GOAWAY came first, or the stream limit): not processed.
  auto state = it->second;
  streams_.erase(it);
  state->closed = true;
  fail(*state, ClientErrc::kRefused);
  return 0;
}

int ClientSession::onStreamClose(int32_t stream_id, uint32_t error_code) {
  auto it = streams_.find(stream_id);
  if (it == streams_.end()) return 0;
  auto state = it->second;
  streams_.erase(it);
  state->closed = true;
  if (!state->ended) {
    fail(*state, error_code == NGHTTP2_REFUSED_STREAM ? ClientErrc::kRefused : ClientErrc::kReset);
    if (error_code != NGHTTP2_CANCEL || !state->detached) {
      log::debug("http2 upstream stream ", stream_id,
                 " closed: ", nghttp2_http2_strerror(error_code));
    }
  } else {
    state->read_signal.notify();
    state->write_signal.notify();
  }
  return 0;
}

ssize_t ClientSession::readData(ClientStreamState& state, uint8_t* buf, size_t length,
                                uint32_t* flags) {
  const size_t n = std::min(length, state.queued());
  if (n > 0) {
    state.body_progress = Signal::Clock::now();
    std::memcpy(buf, state.out.data() + state.out_off, n);
    state.out_off += n;
    if (state.out_off == state.out.size()) {
      state.out.clear();
      state.out_off = 0;
    }
    state.write_signal.notify();
  }
  if (state.queued() == 0 && state.out_end) {
    *flags |= NGHTTP2_DATA_FLAG_EOF;
    state.request_done = true;
    return static_cast<ssize_t>(n);
  }
  if (n == 0) {
    state.deferred = true;
    return NGHTTP2_ERR_DEFERRED;
  }
  return static_cast<ssize_t>(n);
}

}  // namespace weft::http::http2
