#include "net/http/http2/server_session.h"

#include <string_view>

#include "common/strings.h"
#include "net/http/http2/settings.h"
#include "net/http/local_reply.h"
#include "net/log.h"
#include "net/spawn_guard.h"

namespace weft::http::http2 {

ServerSession::ServerSession(const Executor& executor, DownstreamInfo info, StreamHandler& handler,
                             const Settings& settings, SessionListener& listener)
    : SessionBase(executor, {Role::kServer, Trampolines<ServerSession>::get(), this, settings,
                             kLogName, "client", /*inspect_frames=*/true}),
      info_(std::move(info)),
      handler_(handler),
      listener_(listener),
      starting_(),
      guard_(AbuseLimits{settings.max_premature_resets, settings.max_control_frames}),
      handlers_done_(executor) {
  info_.http2 = true;
}

void ServerSession::runTimers(Clock::time_point now) {
  if (!goaway_at_ || now < *goaway_at_) return;
  goaway_at_.reset();
  nghttp2_submit_goaway(session_, NGHTTP2_FLAG_NONE,
                        nghttp2_session_get_last_proc_stream_id(session_), NGHTTP2_NO_ERROR,
                        nullptr, 0);
}

ServerSession::Clock::time_point ServerSession::nextTimer() const {
  return goaway_at_.value_or(Clock::time_point::max());
}

void ServerSession::drain() {
  if (draining_ || closing_) return;
  draining_ = true;
  nghttp2_submit_shutdown_notice(session_);
  goaway_at_ = Clock::now() + kGoawayGrace;
  wakeWriter();
}

void ServerSession::abort() {
  if (closing_) return;
  closing_ = true;
  for (auto& [id, stream] : streams_) stream->wakeAll();
  wakeWriter();
}

awaitable<void> ServerSession::waitHandlers() {
  while (handlers_ > 0) co_await handlers_done_.waitUntil(Clock::time_point::max());
}

ServerStreamImpl* ServerSession::find(int32_t stream_id) {
  return static_cast<ServerStreamImpl*>(nghttp2_session_get_stream_user_data(session_, stream_id));
}

int ServerSession::onBeginHeaders(const nghttp2_frame& frame) {
  if (frame.hd.type != NGHTTP2_HEADERS || frame.headers.cat != NGHTTP2_HCAT_REQUEST) return 0;
  auto stream =
      std::make_unique<ServerStreamImpl>(*this, frame.hd.stream_id, settings_.max_header_bytes);
  if (nghttp2_session_set_stream_user_data(session_, frame.hd.stream_id, stream.get()) != 0) {
    return 0;  // not a stream nghttp2 opened: it ignores the block
  }
  streams_[frame.hd.stream_id] = std::move(stream);
  return 0;
}

int ServerSession::onHeader(const nghttp2_frame& frame, std::string_view name,
                            std::string_view value) {
  ServerStreamImpl* stream = find(frame.hd.stream_id);
  // Trailers of a request (a later HEADERS) are not forwarded over HTTP/1.1 yet.
  if (stream == nullptr || !stream->builder_ || frame.headers.cat != NGHTTP2_HCAT_REQUEST) {
    return 0;
  }
  stream->builder_->add(name, value);
  return 0;
}

FrameVerdict ServerSession::inspectFrame(const FrameHeader& frame) {
  const bool open = guard_.needsStreamState(frame) &&
                    nghttp2_session_find_stream(session_, frame.stream_id) != nullptr;
  return guard_.frame(frame, open, Clock::now());
}

int ServerSession::onFrameRecv(const nghttp2_frame& frame) {
  if (frame.hd.type == NGHTTP2_RST_STREAM) {
    ServerStreamImpl* stream = find(frame.hd.stream_id);
    guard_.streamEnded(frame.hd.stream_id, StreamEnd::kPeerReset);
    if (stream != nullptr && !stream->response_started_ && !guard_.prematureReset()) {
      log::warn("http2 connection closed: the client reset ", guard_.prematureResets(), " of its ",
                guard_.streamsOpened(), " streams before their response began");
      terminate(NGHTTP2_ENHANCE_YOUR_CALM);
    }
    return 0;
  }
  if (frame.hd.type != NGHTTP2_HEADERS && frame.hd.type != NGHTTP2_DATA) return 0;
  ServerStreamImpl* stream = find(frame.hd.stream_id);
  if (stream == nullptr) return 0;
  const bool end = (frame.hd.flags & NGHTTP2_FLAG_END_STREAM) != 0;
  if (frame.hd.type == NGHTTP2_HEADERS && frame.headers.cat == NGHTTP2_HCAT_REQUEST) {
    stream->request_ended_ = end;
    prepareRequest(*stream);
  } else if (end) {
    stream->requestEnded();
  }
  return 0;
}

void ServerSession::prepareRequest(ServerStreamImpl& stream) {
  absl::Status st = stream.builder_->finish();
  stream.expect_continue_ = stream.builder_->expectContinue();
  stream.builder_.reset();
  RequestHead& req = stream.request_;
  req.body.present = !stream.request_ended_ || !req.upgrade.empty();
  stream.head_request_ = req.method == "HEAD";
  if (!st.ok()) {
    unsigned status = st.code() == absl::StatusCode::kUnimplemented        ? 405
                      : st.code() == absl::StatusCode::kResourceExhausted  ? 431
                      : st.code() == absl::StatusCode::kFailedPrecondition ? 501
                                                                           : 400;
    const std::string reason(weft::sv(st.message()));
    localReply(stream, status, reason);
    return;
  }
  // The stream is the handler's from now on (request DATA is kept for it), but the handler
  // starts only after receive(): a reset in the same read means it never does.
  stream.handler_running_ = true;
  ++handlers_;
  starting_.push_back(&stream);
}

void ServerSession::afterReceive() {
  if (starting_.empty()) return;
  std::vector<ServerStreamImpl*> starting;
  starting.swap(starting_);
  for (ServerStreamImpl* stream : starting) startHandler(*stream);
  if (starting_.empty()) {
    starting.clear();
    starting_.swap(starting);  // keep the capacity
  }
}

void ServerSession::startHandler(ServerStreamImpl& stream) {
  if (stream.closed_ || closing_ || terminated_) {
    // Reset before it started, or the connection is ending: the pipeline never sees it.
    finishHandler(stream);
    return;
  }
  // co_spawn dispatches: the handler runs at once until it first waits. A flush it asks for
  // happens there too (nghttp2 has returned).
  asio::co_spawn(executor_, runHandler(stream),
                 SpawnGuard({"http2 stream handler", {}, static_cast<uint32_t>(stream.id())}));
}

awaitable<void> ServerSession::runHandler(ServerStreamImpl& stream) {
  if (!closing_) co_await handler_.handle(stream);
  finishHandler(stream);
}

void ServerSession::finishHandler(ServerStreamImpl& stream) {
  stream.handler_running_ = false;
  if (!stream.closed_ && !closing_) {
    if (!stream.response_done_) {
      reset(stream.id_, NGHTTP2_INTERNAL_ERROR);
    } else if (stream.end_sent_ && !stream.request_ended_) {
      // The response is complete and nobody reads the rest of the request: stop the upload.
      reset(stream.id_, NGHTTP2_NO_ERROR);
    }  // else onFrameSend does that once END_STREAM is out
  }
  if (size_t unread = stream.discardInput()) consumed(stream.id_, unread);
  if (stream.closed_) erase(stream);
  if (--handlers_ == 0) handlers_done_.notify();
}

void ServerSession::localReply(ServerStreamImpl& stream, unsigned status, std::string_view reason) {
  log::warn("downstream request rejected: status=", status, " reason=\"", reason, "\"");
  std::string body;
  const ResponseHead head = http::localReply(status, reason, body);
  ResponseFields fields;
  buildResponseFields(head, fields);
  stream.response_started_ = true;
  stream.has_body_ = !stream.head_request_;
  if (stream.has_body_) stream.queueLocalBody(std::move(body));
  submitResponse(stream, fields, stream.has_body_);
  stream.response_done_ = true;
}

int ServerSession::onDataChunk(int32_t stream_id, const uint8_t* data, size_t size) {
  ServerStreamImpl* stream = find(stream_id);
  if (stream == nullptr || !stream->handler_running_) {
    consumed(stream_id, size);  // nobody will read it: give the window back at once
    return 0;
  }
  stream->received(data, size);
  return 0;
}

int ServerSession::onFrameSend(const nghttp2_frame& frame) {
  if ((frame.hd.type != NGHTTP2_DATA && frame.hd.type != NGHTTP2_HEADERS) ||
      (frame.hd.flags & NGHTTP2_FLAG_END_STREAM) == 0) {
    return 0;
  }
  ServerStreamImpl* stream = find(frame.hd.stream_id);
  if (stream == nullptr) return 0;
  stream->end_sent_ = true;
  stream->write_signal_.notify();
  if (!stream->handler_running_ && !stream->request_ended_) reset(stream->id_, NGHTTP2_NO_ERROR);
  return 0;
}

int ServerSession::onStreamClose(int32_t stream_id, uint32_t error_code) {
  ServerStreamImpl* stream = find(stream_id);
  if (stream == nullptr) {
    guard_.streamEnded(stream_id, StreamEnd::kLocalReset);
    return 0;
  }
  stream->closed_ = true;
  // A peer's RST_STREAM was recorded when it arrived; else both sides ended it, or we reset it.
  guard_.streamEnded(stream_id, stream->end_sent_ && stream->request_ended_
                                    ? StreamEnd::kCompleted
                                    : StreamEnd::kLocalReset);
  if (!stream->end_sent_) {
    stream->reset_ = true;
    if (stream->handler_running_) {
      log::debug("http2 stream ", stream_id,
                 " reset by client: ", nghttp2_http2_strerror(error_code));
    }
  }
  stream->wakeAll();
  if (!stream->handler_running_) erase(*stream);
  return 0;
}

void ServerSession::erase(ServerStreamImpl& stream) {
  if (size_t unread = stream.discardInput()) consumed(stream.id_, unread);
  streams_.erase(stream.id_);
  if (streams_.empty() && !closing_) listener_.onIdle();
}

bool ServerSession::submitTrailer(int32_t stream_id, const HeaderMap& trailers) {
  std::vector<nghttp2_nv> nva;
  buildTrailerFields(trailers, nva);
  if (int rv = nghttp2_submit_trailer(session_, stream_id, nva.data(), nva.size()); rv != 0) {
    log::warn("http2 trailers not sent on stream ", stream_id, ": ", nghttp2_strerror(rv));
    return false;
  }
  return true;
}

int ServerSession::submitResponse(ServerStreamImpl& stream, const ResponseFields& fields,
                                  bool with_body) {
  nghttp2_data_provider provider;
  provider.source.ptr = &stream;
  provider.read_callback = [](nghttp2_session*, int32_t, uint8_t* buf, size_t length,
                              uint32_t* flags, nghttp2_data_source* source, void*) {
    return static_cast<ServerStreamImpl*>(source->ptr)->readData(buf, length, flags);
  };
  int rv = nghttp2_submit_response(session_, stream.id_, fields.nva.data(), fields.nva.size(),
                                   with_body ? &provider : nullptr);
  wakeWriter();
  return rv;
}

void ServerSession::submitContinue(int32_t stream_id) {
  static constexpr char kStatus[] = ":status";
  static constexpr char k100[] = "100";
  nghttp2_nv nv{reinterpret_cast<uint8_t*>(const_cast<char*>(kStatus)),
                reinterpret_cast<uint8_t*>(const_cast<char*>(k100)), sizeof(kStatus) - 1,
                sizeof(k100) - 1, NGHTTP2_NV_FLAG_NONE};
  nghttp2_submit_headers(session_, NGHTTP2_FLAG_NONE, stream_id, nullptr, &nv, 1, nullptr);
  wakeWriter();
}

void ServerSession::resumeData(int32_t stream_id) {
  nghttp2_session_resume_data(session_, stream_id);
}

void ServerSession::consumed(int32_t stream_id, size_t size) {
  nghttp2_session_consume(session_, stream_id, size);
  if (nghttp2_session_want_write(session_)) wakeWriter();
}

void ServerSession::reset(int32_t stream_id, uint32_t error_code) {
  nghttp2_submit_rst_stream(session_, NGHTTP2_FLAG_NONE, stream_id, error_code);
  wakeWriter();
}

}  // namespace weft::http::http2
