#pragma once

#include <string_view>

#include <nghttp2/nghttp2.h>

#include "net/log.h"

namespace weft::http::http2 {

// nghttp2's C callbacks for a session class, as small trampolines: each casts user_data back to
// the session and forwards to its member function. Session provides onBeginHeaders, onHeader,
// onFrameRecv, onDataChunk and onStreamClose; onFrameSend and onFrameNotSend when its
// `static constexpr bool kOnFrameSend / kOnFrameNotSend` say so; and a
// `static constexpr std::string_view kLogName`. It befriends Trampolines<Session>.
template <typename Session>
struct Trampolines {
  static Session& self(void* user_data) { return *static_cast<Session*>(user_data); }

  static int beginHeaders(nghttp2_session*, const nghttp2_frame* frame, void* user_data) {
    return self(user_data).onBeginHeaders(*frame);
  }
  static int header(nghttp2_session*, const nghttp2_frame* frame, const uint8_t* name,
                    size_t namelen, const uint8_t* value, size_t valuelen, uint8_t,
                    void* user_data) {
    return self(user_data).onHeader(
        *frame, std::string_view(reinterpret_cast<const char*>(name), namelen),
        std::string_view(reinterpret_cast<const char*>(value), valuelen));
  }
  static int frameRecv(nghttp2_session*, const nghttp2_frame* frame, void* user_data) {
    return self(user_data).onFrameRecv(*frame);
  }
  static int dataChunk(nghttp2_session*, uint8_t, int32_t stream_id, const uint8_t* data,
                       size_t len, void* user_data) {
    return self(user_data).onDataChunk(stream_id, data, len);
  }
  static int frameSend(nghttp2_session*, const nghttp2_frame* frame, void* user_data) {
    return self(user_data).onFrameSend(*frame);
  }
  static int frameNotSend(nghttp2_session*, const nghttp2_frame* frame, int, void* user_data) {
    return self(user_data).onFrameNotSend(*frame);
  }
  static int streamClose(nghttp2_session*, int32_t stream_id, uint32_t error_code,
                         void* user_data) {
    return self(user_data).onStreamClose(stream_id, error_code);
  }
  static int error(nghttp2_session*, int, const char* msg, size_t len, void*) {
    log::debug(Session::kLogName, ": ", std::string_view(msg, len));
    return 0;
  }

  // Built once per process; nghttp2 copies them into each session.
  static const nghttp2_session_callbacks* get() {
    static nghttp2_session_callbacks* callbacks = [] {
      nghttp2_session_callbacks* cbs = nullptr;
      nghttp2_session_callbacks_new(&cbs);
      nghttp2_session_callbacks_set_on_begin_headers_callback(cbs, &beginHeaders);
      nghttp2_session_callbacks_set_on_header_callback(cbs, &header);
      nghttp2_session_callbacks_set_on_frame_recv_callback(cbs, &frameRecv);
      nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cbs, &dataChunk);
      if constexpr (requires(Session & s, const nghttp2_frame& f) { s.onFrameSend(f); }) {
        nghttp2_session_callbacks_set_on_frame_send_callback(cbs, &frameSend);
      }
      if constexpr (requires(Session & s, const nghttp2_frame& f) { s.onFrameNotSend(f); }) {
        nghttp2_session_callbacks_set_on_frame_not_send_callback(cbs, &frameNotSend);
      }
      nghttp2_session_callbacks_set_on_stream_close_callback(cbs, &streamClose);
      nghttp2_session_callbacks_set_error_callback2(cbs, &error);
      return cbs;
    }();
    return callbacks;
  }
};

}  // namespace weft::http::http2
