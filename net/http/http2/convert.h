#pragma once

// Translation between HTTP/2 header fields (as nghttp2 delivers and takes them) and the
// codec-neutral heads. nghttp2's HTTP messaging checks run first: names are lowercase,
// pseudo-headers come first and are well-formed, connection-specific fields are refused, and
// `te` is at most "trailers" (RFC 9113 §8.2, §8.3). What is left here is the mapping itself.

#include <nghttp2/nghttp2.h>

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "net/http/message.h"

namespace weft::http::http2 {

// Collects one request's header fields into `out` as they arrive. Pseudo-headers become method,
// scheme, authority and path; `host` stands in for a missing :authority; split `cookie` fields are
// joined again (RFC 9113 §8.2.3); content-length becomes Body::length; connection-specific and
// codec-owned fields (te, expect, ...) are dropped.
class RequestHeadBuilder {
 public:
  // `max_header_bytes` bounds the field section as SETTINGS_MAX_HEADER_LIST_SIZE counts it:
  // name + value + 32 per field.
  RequestHeadBuilder(RequestHead& out, size_t max_header_bytes)
      : out_(out), limit_(max_header_bytes) {}

  void add(std::string_view name, std::string_view value);

  // Completes the head. An extended CONNECT for a WebSocket (RFC 8441) becomes a GET with
  // `upgrade` set and a streamed body. Errors say what to answer: InvalidArgument 400,
  // Unimplemented 405 (CONNECT), FailedPrecondition 501 (a :protocol other than websocket),
  // ResourceExhausted 431 (header list over the limit).
  absl::Status finish();

  bool expectContinue() const { return expect_continue_; }

 private:
  RequestHead& out_;
  size_t limit_;
  size_t bytes_ = 0;
  std::string host_;
  std::string cookie_;
  std::string protocol_;
  std::string error_;
  bool saw_method_ = false;
  bool saw_path_ = false;
  bool expect_continue_ = false;
};

// nghttp2 name/value pairs for a response head: :status first, then the end-to-end fields,
// then content-length when the length is known and the status allows one. The pairs point into
// `head` and into this object, so both must outlive the submission (nghttp2 copies them).
struct ResponseFields {
  std::string status;
  std::string length;
  std::vector<nghttp2_nv> nva;
};

void buildResponseFields(const ResponseHead& head, ResponseFields& out);

// nghttp2 name/value pairs (pointing into `trailers`) for a trailer section: no pseudo-headers,
// no connection-specific fields.
void buildTrailerFields(const HeaderMap& trailers, std::vector<nghttp2_nv>& out);

}  // namespace weft::http::http2
