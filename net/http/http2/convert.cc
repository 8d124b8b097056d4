#include "net/http/http2/convert.h"

#include "common/strings.h"
#include "net/http/websocket.h"

namespace weft::http::http2 {
namespace {

// Fields that describe one connection or belong to a codec: never forwarded as they are.
bool isConnectionSpecific(std::string_view name) {
  return name == "connection" || name == "keep-alive" || name == "proxy-connection" ||
         name == "transfer-encoding" || name == "upgrade" || name == "te" || name == "trailer" ||
         name == "proxy-authorization" || name == "host" || name == "content-length" ||
         name == "expect";
}

nghttp2_nv field(std::string_view name, std::string_view value) {
  // nghttp2 takes non-const pointers but only reads them (and copies: no NO_COPY flags).
  return nghttp2_nv{reinterpret_cast<uint8_t*>(const_cast<char*>(name.data())),
                    reinterpret_cast<uint8_t*>(const_cast<char*>(value.data())), name.size(),
                    value.size(), NGHTTP2_NV_FLAG_NONE};
}

}  // namespace

void RequestHeadBuilder::add(std::string_view name, std::string_view value) {
  bytes_ += name.size() + value.size() + 32;
  if (bytes_ > limit_ || !error_.empty()) return;
  if (!name.empty() && name.front() == ':') {
    if (name == ":method") {
      out_.method = std::string(value);
      saw_method_ = true;
    } else if (name == ":scheme") {
      out_.scheme = std::string(value);
    } else if (name == ":authority") {
      out_.authority = std::string(value);
    } else if (name == ":path") {
      out_.path = std::string(value);
      saw_path_ = true;
    } else if (name == ":protocol") {
      protocol_ = weft::toLower(value);  // extended CONNECT (RFC 8441 §4)
    } else {
      error_ = weft::strCat("unsupported pseudo-header ", name);
    }
    return;
  }
  if (name == "cookie") {
    if (!cookie_.empty()) cookie_.append("; ");
    cookie_.append(value);
    return;
  }
  if (name == "host") {
    if (host_.empty()) host_ = std::string(value);
    return;
  }
  if (name == "content-length") {
    uint64_t length = 0;
    if (!weft::parseUnsigned(value, &length)) {
      error_ = weft::strCat("invalid content-length '", value, "'");
    } else {
      out_.body.length = length;
    }
    return;
  }
  if (name == "expect") {
    expect_continue_ = weft::equalsIgnoreCase(weft::trim(value), "100-continue");
    return;
  }
  // `te: trailers` travels on over HTTP/2 (gRPC servers insist on it); HTTP/1.1 drops it.
  if (name == "te" && weft::equalsIgnoreCase(weft::trim(value), "trailers")) {
    out_.headers.add("te", "trailers");
    return;
  }
  if (isConnectionSpecific(name)) return;
  out_.headers.add(std::string(name), std::string(value));
}

absl::Status RequestHeadBuilder::finish() {
  if (bytes_ > limit_) {
    return absl::ResourceExhaustedError(
        weft::strCat("request header larger than ", limit_, " bytes"));
  }
  if (!error_.empty()) return absl::InvalidArgumentError(error_);
  if (!saw_method_ || out_.method.empty()) return absl::InvalidArgumentError("missing :method");
  if (out_.method == "CONNECT" && !protocol_.empty()) {
    // An extended CONNECT for a WebSocket is the HTTP/1.1 GET + Upgrade it stands for (RFC
    // 8441 §5); its DATA frames are the tunnel.
    if (protocol_ != websocket::kProtocol) {
      return absl::FailedPreconditionError(
          weft::strCat("extended CONNECT for '", protocol_, "' is not supported through the mesh"));
    }
    out_.method = "GET";
    out_.upgrade = std::move(protocol_);
    out_.body = Body{.present = true, .length = std::nullopt};
  } else if (!protocol_.empty()) {
    return absl::InvalidArgumentError(":protocol is only for CONNECT");
  }
  if (out_.method == "CONNECT") return absl::UnimplementedError("CONNECT is not supported");
  if (!saw_path_ || out_.path.empty()) return absl::InvalidArgumentError("missing :path");
  if (out_.path.front() != '/' && !(out_.path == "*" && out_.method == "OPTIONS")) {
    return absl::InvalidArgumentError(weft::strCat("unsupported request target '", out_.path, "'"));
  }
  if (out_.authority.empty()) out_.authority = std::move(host_);
  if (out_.authority.empty()) {
    return absl::InvalidArgumentError("request has no :authority or host");
  }
  if (!cookie_.empty()) out_.headers.add("cookie", std::move(cookie_));
  return absl::OkStatus();
}

void buildResponseFields(const ResponseHead& head, ResponseFields& out) {
  // HTTP/2 has no 101 (RFC 9113 §8.6): a tunnel opens with 200 to the extended CONNECT.
  out.status = weft::strCat(head.status == kTunnelOpen ? 200u : head.status);
  out.nva.clear();
  out.nva.reserve(head.headers.size() + 2);
  out.nva.push_back(field(":status", out.status));
  for (const auto& h : head.headers) {
    if (isConnectionSpecific(h.name) || h.name.empty() || h.name.front() == ':') continue;
    out.nva.push_back(field(h.name, h.value));
  }
  bool length_allowed = head.status >= 200 && head.status != 204 && head.status != kTunnelOpen;
  if (head.body.length && length_allowed) {
    out.length = weft::strCat(*head.body.length);
    out.nva.push_back(field("content-length", out.length));
  }
}

void buildTrailerFields(const HeaderMap& trailers, std::vector<nghttp2_nv>& out) {
  out.clear();
  out.reserve(trailers.size());
  for (const auto& h : trailers) {
    if (isConnectionSpecific(h.name) || h.name.empty() || h.name.front() == ':' ||
        h.name == "content-length") {
      continue;
    }
    out.push_back(field(h.name, h.value));
  }
}

}  // namespace weft::http::http2
