#include "net/http/http1/convert.h"

#include <array>
#include <optional>
#include <string_view>
#include <vector>

#include <boost/beast/core/string.hpp>

#include "common/strings.h"
#include "net/http/websocket.h"

namespace weft::http::http1 {
namespace {

// Connection-scoped headers (RFC 9110 §7.6.1) and those the codec owns. All are fields Beast
// knows, so the check is an enum compare.
bool isHopByHop(bhttp::field f) {
  switch (f) {
    case bhttp::field::connection:
    case bhttp::field::keep_alive:
    case bhttp::field::proxy_connection:
    case bhttp::field::te:
    case bhttp::field::trailer:
    case bhttp::field::transfer_encoding:
    case bhttp::field::upgrade:
    case bhttp::field::proxy_authorization:
    case bhttp::field::host:
    case bhttp::field::content_length:
    case bhttp::field::expect:
      return true;
    default:
      return false;
  }
}

// Lowercase names of the fields Beast knows, indexed by bhttp::field: built once, so a known
// field's name is copied, not lowercased character by character.
const std::vector<std::string>& lowercaseNames() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> out;
    for (unsigned i = 0;; ++i) {
      auto f = static_cast<bhttp::field>(i);
      out.push_back(i == 0 ? std::string() : weft::toLower(bhttp::to_string(f)));
      if (f == bhttp::field::xref) break;  // the last enumerator
    }
    return out;
  }();
  return names;
}

// The hop-by-hop facts of a head, gathered in one pass over its fields (Beast's find() walks a
// tree comparing names case-insensitively; each lookup cost more than this whole pass).
class HopScan {
 public:
  template <typename Fields>
  explicit HopScan(const Fields& in) {
    for (const auto& f : in) {
      switch (f.name()) {
        case bhttp::field::connection:
          addConnection(f.value(), !saw_connection_);
          saw_connection_ = true;
          break;
        case bhttp::field::host:
          if (!host_) host_ = f.value();
          ++host_count_;
          break;
        case bhttp::field::transfer_encoding:
          has_transfer_encoding_ = true;
          break;
        case bhttp::field::expect:
          if (!expect_) expect_ = f.value();
          break;
        default:
          break;
      }
    }
  }

  // Whether a field named `name` is listed in Connection (RFC 9110 §7.6.1).
  bool lists(std::string_view name) const {
    for (size_t i = 0; i < count_; ++i) {
      if (boost::beast::iequals(inline_[i], name)) return true;
    }
    for (std::string_view t : more_) {
      if (boost::beast::iequals(t, name)) return true;
    }
    return false;
  }
  bool listsAny() const { return count_ != 0; }
  // Beast's keep_alive(), from the first Connection field as Beast reads it.
  bool keepAlive(unsigned version) const {
    return version < 11 ? first_keep_alive_ : !first_close_;
  }
  const std::optional<std::string_view>& host() const { return host_; }
  size_t hostCount() const { return host_count_; }
  bool hasTransferEncoding() const { return has_transfer_encoding_; }
  const std::optional<std::string_view>& expect() const { return expect_; }

 private:
  void addConnection(std::string_view value, bool first) {
    while (!value.empty()) {
      size_t comma = value.find(',');
      std::string_view tok = weft::trim(value.substr(0, comma));
      value = comma == std::string_view::npos ? std::string_view() : value.substr(comma + 1);
      if (tok.empty()) continue;
      // "close" and "keep-alive" name no field that survives isHopByHop.
      if (boost::beast::iequals(tok, "close")) {
        first_close_ = first_close_ || first;
      } else if (boost::beast::iequals(tok, "keep-alive")) {
        first_keep_alive_ = first_keep_alive_ || first;
      } else if (count_ < inline_.size()) {
        inline_[count_++] = tok;
      } else {
        more_.push_back(tok);
      }
    }
  }

  std::array<std::string_view, 4> inline_;
  size_t count_ = 0;
  std::vector<std::string_view> more_;  // rarely more than a few
  bool saw_connection_ = false;
  bool first_close_ = false;
  bool first_keep_alive_ = false;
  std::optional<std::string_view> host_;
  size_t host_count_ = 0;
  bool has_transfer_encoding_ = false;
  std::optional<std::string_view> expect_;
};

// An authority without the default port of http, lowercase, for comparing two spellings.
std::string canonicalAuthority(std::string_view authority) {
  std::string out = weft::toLower(authority);
  if (out.ends_with(":80")) out.resize(out.size() - 3);
  return out;
}

// Copies end-to-end fields, dropping hop-by-hop ones and any named in Connection.
template <typename Fields>
void copyEndToEnd(const Fields& in, const HopScan& scan, HeaderMap& out) {
  const auto& names = lowercaseNames();
  size_t n = 0;
  for (auto it = in.begin(); it != in.end(); ++it) ++n;
  out.reserve(n);
  for (const auto& f : in) {
    bhttp::field id = f.name();
    if (isHopByHop(id)) continue;
    if (scan.listsAny() && scan.lists(f.name_string())) continue;
    auto index = static_cast<size_t>(id);
    std::string name = id != bhttp::field::unknown && index < names.size()
                           ? names[index]
                           : weft::toLower(f.name_string());
    out.add(std::move(name), std::string(f.value()));
  }
}

}  // namespace

absl::Status checkRequestFraming(const bhttp::request_header<>& in, bool chunked) {
  bool transfer_encoding = false;
  std::string codings;
  for (const auto& f : in) {
    if (f.name() != bhttp::field::transfer_encoding) continue;
    transfer_encoding = true;
    if (!codings.empty()) codings.append(", ");
    codings.append(f.value());
  }
  if (!transfer_encoding) return absl::OkStatus();
  if (in.version() < 11) {
    return absl::InvalidArgumentError(
        weft::strCat("Transfer-Encoding '", codings, "' on an HTTP/1.0 request"));
  }
  if (!chunked) {
    return absl::InvalidArgumentError(weft::strCat(
        "Transfer-Encoding '", codings, "' does not end with chunked: the body length is unknown"));
  }
  // chunked is last (the parser says so): anything before it is a coding a proxy would pass on
  // undecoded without saying so.
  if (!weft::equalsIgnoreCase(weft::trim(codings), "chunked")) {
    return absl::UnimplementedError(
        weft::strCat("Transfer-Encoding '", codings, "': only chunked is supported"));
  }
  return absl::OkStatus();
}

absl::Status toRequestHead(const bhttp::request_header<>& in, RequestHead& out, HopInfo* hop) {
  const HopScan scan(in);
  if (hop) {
    hop->keep_alive = scan.keepAlive(in.version());
    hop->expect_continue = scan.expect() && boost::beast::iequals(*scan.expect(), "100-continue");
  }
  out.method = std::string(in.method_string());
  if (in.method() == bhttp::verb::connect) {
    return absl::UnimplementedError("CONNECT is not supported");
  }
  // RFC 9110 §7.2 / RFC 9112 §3.2: one Host, and it must not name another authority than an
  // absolute-form target does (the route would follow one, the app see the other).
  if (scan.hostCount() > 1) {
    return absl::InvalidArgumentError(
        weft::strCat("request has ", scan.hostCount(), " Host headers"));
  }
  std::string_view target = in.target();
  if (weft::startsWithIgnoreCase(target, "http://")) {
    // Absolute form (the app uses us as an HTTP proxy): the authority is the URI's, up to the
    // first '/', '?' or '#'.
    std::string_view rest = target.substr(7);
    size_t end = rest.find_first_of("/?#");
    out.authority = std::string(rest.substr(0, end));
    if (end == std::string_view::npos) {
      out.path = "/";
    } else if (rest[end] == '/') {
      out.path = std::string(rest.substr(end));
    } else {
      out.path = weft::strCat("/", rest.substr(end));
    }
    if (scan.host() && canonicalAuthority(*scan.host()) != canonicalAuthority(out.authority)) {
      return absl::InvalidArgumentError(weft::strCat(
          "Host '", *scan.host(), "' disagrees with the request target's '", out.authority, "'"));
    }
  } else if (target == "*" && in.method() != bhttp::verb::options) {
    return absl::InvalidArgumentError(
        weft::strCat("request target '*' is only for OPTIONS, not ", in.method_string()));
  } else if (target == "*" || (!target.empty() && target.front() == '/')) {
    if (!scan.host() || scan.host()->empty()) {
      return absl::InvalidArgumentError("request has no Host header");
    }
    out.authority = std::string(*scan.host());
    out.path = std::string(target);
  } else {
    return absl::InvalidArgumentError(weft::strCat("unsupported request target '", target, "'"));
  }
  if (out.authority.empty()) return absl::InvalidArgumentError("request has an empty authority");
  out.scheme = "http";
  copyEndToEnd(in, scan, out.headers);
  return absl::OkStatus();
}

namespace {

// Header values come from parsed messages (Beast rejects CR/LF in them) or from the proxy itself;
// dropping CR and LF here keeps any value from splitting the head regardless.
void appendHeader(std::string& out, std::string_view name, std::string_view value) {
  out.append(name);
  out.append(": ");
  // Two memchr scans: find_first_of would call memchr once per character.
  if (value.find('\r') == std::string_view::npos && value.find('\n') == std::string_view::npos) {
    out.append(value);
  } else {
    for (char c : value) {
      if (c != '\r' && c != '\n') out.push_back(c);
    }
  }
  out.append("\r\n");
}

void appendFraming(std::string& out, const Body& body, bool chunked_allowed) {
  if (body.length) {
    appendHeader(out, "content-length", weft::strCat(*body.length));
  } else if (body.present && chunked_allowed) {
    appendHeader(out, "transfer-encoding", "chunked");
  }
}

}  // namespace

void appendRequestHead(const RequestHead& in, std::string& out) {
  weft::strAppend(out, in.method, " ", in.path, " HTTP/1.1\r\n");
  appendHeader(out, "host", in.authority);
  for (const auto& h : in.headers) {
    if (h.name != "te") appendHeader(out, h.name, h.value);  // hop-by-hop in HTTP/1.1
  }
  if (in.upgrade.empty()) {
    appendFraming(out, in.body, true);
  } else {
    // The body is the tunnel, after a 101: no framing.
    appendHeader(out, "connection", "upgrade");
    appendHeader(out, "upgrade", in.upgrade);
    // An extended CONNECT (RFC 8441 §5) carries no key; an HTTP/1.1 app needs one.
    if (in.upgrade == websocket::kProtocol) {
      if (in.headers.get("sec-websocket-key") == nullptr) {
        appendHeader(out, "sec-websocket-key", websocket::newKey());
      }
      if (in.headers.get("sec-websocket-version") == nullptr) {
        appendHeader(out, "sec-websocket-version", "13");
      }
    }
  }
  out.append("\r\n");
}

void toResponseHead(const bhttp::response_header<>& in, ResponseHead& out, HopInfo* hop) {
  const HopScan scan(in);
  if (hop) {
    hop->keep_alive = scan.keepAlive(in.version());
    hop->expect_continue = false;
  }
  out.status = in.result_int();
  copyEndToEnd(in, scan, out.headers);
}

void appendResponseHead(const ResponseHead& in, bool body_allowed, bool keep_alive,
                        std::string& out, bool chunked_allowed) {
  bhttp::status known = bhttp::int_to_status(in.status);
  std::string_view reason = known == bhttp::status::unknown ? "" : bhttp::obsolete_reason(known);
  weft::strAppend(out, "HTTP/1.1 ", in.status, " ", reason, "\r\n");
  for (const auto& h : in.headers) appendHeader(out, h.name, h.value);
  appendFraming(out, in.body, body_allowed && chunked_allowed);
  if (!in.body.length && !in.body.present && body_allowed) appendHeader(out, "content-length", "0");
  if (!keep_alive) appendHeader(out, "connection", "close");
  out.append("\r\n");
}

void appendTunnelResponseHead(const ResponseHead& in, const RequestHead& request,
                              std::string& out) {
  out.append("HTTP/1.1 101 Switching Protocols\r\n");
  for (const auto& h : in.headers) appendHeader(out, h.name, h.value);
  appendHeader(out, "connection", "upgrade");
  appendHeader(out, "upgrade", request.upgrade);
  // An HTTP/2 app's 2xx (RFC 8441) has no Accept; the HTTP/1.1 client checks it.
  if (request.upgrade == websocket::kProtocol &&
      in.headers.get("sec-websocket-accept") == nullptr) {
    if (const std::string* key = request.headers.get("sec-websocket-key")) {
      appendHeader(out, "sec-websocket-accept", websocket::acceptFor(*key));
    }
  }
  out.append("\r\n");
}

}  // namespace weft::http::http1
