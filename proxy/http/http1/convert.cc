#include "proxy/http/http1/convert.h"

#include <array>
#include <string_view>
#include <vector>

#include <boost/beast/core/string.hpp>

#include "common/strings.h"

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

// The Connection header's tokens that name other fields (RFC 9110 §7.6.1). "close" and
// "keep-alive" are left out: neither names a field that survives isHopByHop.
class ConnectionTokens {
 public:
  template <typename Fields>
  explicit ConnectionTokens(const Fields& in) {
    for (auto it = in.find(bhttp::field::connection);
         it != in.end() && it->name() == bhttp::field::connection; ++it) {
      std::string_view value = it->value();
      while (!value.empty()) {
        size_t comma = value.find(',');
        std::string_view tok = weft::trim(value.substr(0, comma));
        value = comma == std::string_view::npos ? std::string_view() : value.substr(comma + 1);
        if (tok.empty() || boost::beast::iequals(tok, "close") ||
            boost::beast::iequals(tok, "keep-alive")) {
          continue;
        }
        if (count_ < inline_.size()) {
          inline_[count_++] = tok;
        } else {
          more_.push_back(tok);
        }
      }
    }
  }
  bool lists(std::string_view name) const {
    for (size_t i = 0; i < count_; ++i) {
      if (boost::beast::iequals(inline_[i], name)) return true;
    }
    for (std::string_view t : more_) {
      if (boost::beast::iequals(t, name)) return true;
    }
    return false;
  }
  bool empty() const { return count_ == 0; }

 private:
  std::array<std::string_view, 4> inline_;
  size_t count_ = 0;
  std::vector<std::string_view> more_;  // rarely more than a few
};

// Copies end-to-end fields, dropping hop-by-hop ones and any named in Connection.
template <typename Fields>
void copyEndToEnd(const Fields& in, HeaderMap& out) {
  const ConnectionTokens listed(in);
  out.reserve(std::distance(in.begin(), in.end()));
  for (const auto& f : in) {
    if (isHopByHop(f.name())) continue;
    std::string_view name = f.name_string();
    if (!listed.empty() && listed.lists(name)) continue;
    out.add(weft::toLower(name), std::string(f.value()));
  }
}

}  // namespace

absl::Status toRequestHead(const bhttp::request_header<>& in, RequestHead& out) {
  out.method = std::string(in.method_string());
  if (in.method() == bhttp::verb::connect) {
    return absl::UnimplementedError("CONNECT is not supported");
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
  } else if (target == "*" || (!target.empty() && target.front() == '/')) {
    auto host = in.find(bhttp::field::host);
    if (host == in.end() || host->value().empty()) {
      return absl::InvalidArgumentError("request has no Host header");
    }
    out.authority = std::string(host->value());
    out.path = std::string(target);
  } else {
    return absl::InvalidArgumentError(weft::strCat("unsupported request target '", target, "'"));
  }
  if (out.authority.empty()) return absl::InvalidArgumentError("request has an empty authority");
  out.scheme = "http";
  copyEndToEnd(in, out.headers);
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
  for (const auto& h : in.headers) appendHeader(out, h.name, h.value);
  appendFraming(out, in.body, true);
  out.append("\r\n");
}

void toResponseHead(const bhttp::response_header<>& in, ResponseHead& out) {
  out.status = in.result_int();
  copyEndToEnd(in, out.headers);
}

void appendResponseHead(const ResponseHead& in, bool body_allowed, bool keep_alive,
                        std::string& out) {
  bhttp::status known = bhttp::int_to_status(in.status);
  std::string_view reason = known == bhttp::status::unknown ? "" : bhttp::obsolete_reason(known);
  weft::strAppend(out, "HTTP/1.1 ", in.status, " ", reason, "\r\n");
  for (const auto& h : in.headers) appendHeader(out, h.name, h.value);
  appendFraming(out, in.body, body_allowed);
  if (!in.body.length && !in.body.present && body_allowed) appendHeader(out, "content-length", "0");
  if (!keep_alive) appendHeader(out, "connection", "close");
  out.append("\r\n");
}

}  // namespace weft::http::http1
