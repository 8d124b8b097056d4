#include "net/http/http1/convert.h"

#include <string>
#include <utility>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <boost/asio/buffer.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/parser.hpp>

#include "common/strings.h"

namespace weft::http::http1 {
namespace {

using ::testing::ElementsAre;
using ::testing::Pair;
using ::testing::UnorderedElementsAre;

// Parses a raw HTTP/1.1 request head the way the server codec does.
bhttp::request_header<> parse(std::string raw) {
  bhttp::request_parser<bhttp::empty_body> parser;
  boost::system::error_code ec;
  parser.put(boost::asio::buffer(raw), ec);
  EXPECT_FALSE(ec) << ec.message();
  EXPECT_TRUE(parser.is_header_done());
  return parser.release().base();
}

std::vector<std::pair<std::string, std::string>> headers(const HeaderMap& map) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& h : map) out.emplace_back(h.name, h.value);
  return out;
}

TEST(ToRequestHeadTest, OriginFormWithHost) {
  RequestHead head;
  auto st = toRequestHead(parse("GET /x?y=1 HTTP/1.1\r\nHost: backend:8080\r\nAccept: */*\r\n\r\n"),
                          head);
  ASSERT_TRUE(st.ok()) << st;
  EXPECT_EQ(head.method, "GET");
  EXPECT_EQ(head.scheme, "http");
  EXPECT_EQ(head.authority, "backend:8080");
  EXPECT_EQ(head.path, "/x?y=1");
  EXPECT_THAT(headers(head.headers), ElementsAre(Pair("accept", "*/*")));
}

TEST(ToRequestHeadTest, DropsHopByHopHeaders) {
  RequestHead head;
  auto st = toRequestHead(parse("POST /upload HTTP/1.1\r\n"
                                "Host: backend\r\n"
                                "Connection: keep-alive, X-Secret\r\n"
                                "Keep-Alive: timeout=5\r\n"
                                "TE: trailers\r\n"
                                "Transfer-Encoding: chunked\r\n"
                                "Upgrade: websocket\r\n"
                                "Proxy-Connection: keep-alive\r\n"
                                "X-Secret: 1\r\n"
                                "X-Request-Id: abc\r\n"
                                "Content-Type: text/plain\r\n"
                                "\r\n"),
                          head);
  ASSERT_TRUE(st.ok()) << st;
  EXPECT_THAT(headers(head.headers),
              ElementsAre(Pair("x-request-id", "abc"), Pair("content-type", "text/plain")));
  EXPECT_EQ(head.headers.get("host"), nullptr);
}

TEST(ToRequestHeadTest, DropsHeadersNamedInAnyConnectionHeader) {
  RequestHead head;
  auto st = toRequestHead(parse("GET / HTTP/1.1\r\n"
                                "Connection: X-A\r\n"
                                "Host: backend\r\n"
                                "X-A: 1\r\n"
                                "Connection: x-b \r\n"
                                "X-B: 2\r\n"
                                "X-C: 3\r\n"
                                "\r\n"),
                          head);
  ASSERT_TRUE(st.ok()) << st;
  EXPECT_THAT(headers(head.headers), ElementsAre(Pair("x-c", "3")));
}

// Beast keeps same-named fields together; only the order among them carries meaning.
TEST(ToRequestHeadTest, KeepsRepeatedEndToEndHeadersInOrder) {
  RequestHead head;
  auto st =
      toRequestHead(parse("GET / HTTP/1.1\r\nHost: b\r\nX-A: 1\r\nX-B: 2\r\nx-a: 3\r\n\r\n"), head);
  ASSERT_TRUE(st.ok()) << st;
  EXPECT_THAT(headers(head.headers),
              UnorderedElementsAre(Pair("x-a", "1"), Pair("x-b", "2"), Pair("x-a", "3")));
  std::vector<std::string> xa;
  for (const auto& h : head.headers) {
    if (h.name == "x-a") xa.push_back(h.value);
  }
  EXPECT_THAT(xa, ElementsAre("1", "3"));
  EXPECT_EQ(*head.headers.get("x-a"), "1");
}

TEST(ToRequestHeadTest, AbsoluteForm) {
  RequestHead head;
  auto st = toRequestHead(
      parse("GET http://backend:8080/x?y HTTP/1.1\r\nHost: Backend:8080\r\n\r\n"), head);
  ASSERT_TRUE(st.ok()) << st;
  EXPECT_EQ(head.authority, "backend:8080");
  EXPECT_EQ(head.path, "/x?y");
  EXPECT_EQ(head.headers.size(), 0u);

  RequestHead bare;
  ASSERT_TRUE(toRequestHead(parse("GET HTTP://backend HTTP/1.1\r\n\r\n"), bare).ok());
  EXPECT_EQ(bare.authority, "backend");
  EXPECT_EQ(bare.path, "/");
}

// RFC 9112 §3.2.2: the authority ends at the first '/', '?' or '#'.
TEST(ToRequestHeadTest, AbsoluteFormQueryWithoutPath) {
  RequestHead head;
  auto st = toRequestHead(parse("GET http://backend:8080?y=1 HTTP/1.1\r\n\r\n"), head);
  ASSERT_TRUE(st.ok()) << st;
  EXPECT_EQ(head.authority, "backend:8080");
  EXPECT_EQ(head.path, "/?y=1");
}

TEST(ToRequestHeadTest, ConnectIsUnimplemented) {
  RequestHead head;
  auto st = toRequestHead(parse("CONNECT backend:443 HTTP/1.1\r\nHost: backend:443\r\n\r\n"), head);
  EXPECT_EQ(st.code(), absl::StatusCode::kUnimplemented);
}

TEST(ToRequestHeadTest, MissingOrEmptyHostRejected) {
  RequestHead head;
  EXPECT_EQ(toRequestHead(parse("GET / HTTP/1.1\r\n\r\n"), head).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(toRequestHead(parse("GET / HTTP/1.1\r\nHost:\r\n\r\n"), head).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(toRequestHead(parse("GET http:///x HTTP/1.1\r\nHost: b\r\n\r\n"), head).code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(ToRequestHeadTest, UnsupportedTargetsRejected) {
  RequestHead head;
  EXPECT_EQ(toRequestHead(parse("GET https://b/x HTTP/1.1\r\nHost: b\r\n\r\n"), head).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(toRequestHead(parse("GET x HTTP/1.1\r\nHost: b\r\n\r\n"), head).code(),
            absl::StatusCode::kInvalidArgument);
  RequestHead options;
  ASSERT_TRUE(toRequestHead(parse("OPTIONS * HTTP/1.1\r\nHost: b\r\n\r\n"), options).ok());
  EXPECT_EQ(options.path, "*");
}

RequestHead requestWith(Body body) {
  RequestHead head;
  head.method = "POST";
  head.authority = "backend:8080";
  head.path = "/submit?a=1";
  head.headers.add("x-request-id", "abc");
  head.body = body;
  return head;
}

// The serialized head, parsed back by Beast as a peer would.
bhttp::request_header<> written(const RequestHead& head) {
  std::string wire;
  appendRequestHead(head, wire);
  EXPECT_TRUE(wire.ends_with("\r\n\r\n"));
  bhttp::request_parser<bhttp::empty_body> parser;
  parser.eager(false);
  boost::system::error_code ec;
  parser.put(boost::asio::buffer(wire), ec);
  EXPECT_FALSE(ec) << ec.message();
  EXPECT_TRUE(parser.is_header_done());
  return parser.release().base();
}

TEST(AppendRequestHeadTest, HostTargetAndHeaders) {
  bhttp::request_header<> out = written(requestWith({}));
  EXPECT_EQ(out.version(), 11u);
  EXPECT_EQ(out.method(), bhttp::verb::post);
  EXPECT_EQ(out.target(), "/submit?a=1");
  EXPECT_EQ(out[bhttp::field::host], "backend:8080");
  EXPECT_EQ(out["x-request-id"], "abc");
  EXPECT_EQ(out.count(bhttp::field::content_length), 0u);
  EXPECT_EQ(out.count(bhttp::field::transfer_encoding), 0u);
}

// An HTTP/2 caller's `te: trailers` is hop-by-hop in HTTP/1.1: an HTTP/1.1 app never sees it.
TEST(AppendRequestHeadTest, TeIsNotWritten) {
  RequestHead head = requestWith({});
  head.headers.add("te", "trailers");
  bhttp::request_header<> out = written(head);
  EXPECT_EQ(out.count(bhttp::field::te), 0u);
  EXPECT_EQ(out["x-request-id"], "abc");
}

TEST(AppendRequestHeadTest, Framing) {
  bhttp::request_header<> sized = written(requestWith({.present = true, .length = 42}));
  EXPECT_EQ(sized[bhttp::field::content_length], "42");
  EXPECT_EQ(sized.count(bhttp::field::transfer_encoding), 0u);

  bhttp::request_header<> streamed =
      written(requestWith({.present = true, .length = std::nullopt}));
  EXPECT_EQ(streamed[bhttp::field::transfer_encoding], "chunked");
  EXPECT_EQ(streamed.count(bhttp::field::content_length), 0u);
}

// A value can never split the head, whatever it holds.
TEST(AppendRequestHeadTest, LineBreaksInValuesAreDropped) {
  RequestHead head = requestWith({});
  head.headers.add("x-note", "a\r\nx-injected: 1");
  bhttp::request_header<> out = written(head);
  EXPECT_EQ(out.count("x-injected"), 0u);
  EXPECT_EQ(out["x-note"], "ax-injected: 1");
}

TEST(ToResponseHeadTest, StatusAndEndToEndHeaders) {
  bhttp::response_header<> in;
  in.result(bhttp::status::created);
  in.set(bhttp::field::connection, "close, X-Hop");
  in.set(bhttp::field::transfer_encoding, "chunked");
  in.set("X-Hop", "1");
  in.set(bhttp::field::content_type, "application/json");
  ResponseHead out;
  toResponseHead(in, out);
  EXPECT_EQ(out.status, 201u);
  EXPECT_THAT(headers(out.headers), UnorderedElementsAre(Pair("content-type", "application/json")));
}

// The codec's keep-alive and 100-continue decisions come from the conversion: they must agree
// with Beast's own reading of the head.
TEST(HopInfoTest, KeepAliveAsBeastReadsIt) {
  const char* cases[] = {
      "GET / HTTP/1.1\r\nHost: b\r\n\r\n",
      "GET / HTTP/1.1\r\nHost: b\r\nConnection: close\r\n\r\n",
      "GET / HTTP/1.1\r\nHost: b\r\nConnection: X-A, CLOSE\r\n\r\n",
      "GET / HTTP/1.1\r\nHost: b\r\nConnection: keep-alive\r\nConnection: close\r\n\r\n",
      "GET / HTTP/1.0\r\nHost: b\r\n\r\n",
      "GET / HTTP/1.0\r\nHost: b\r\nConnection: Keep-Alive\r\n\r\n",
      "GET / HTTP/1.0\r\nHost: b\r\nConnection: x\r\nConnection: keep-alive\r\n\r\n",
  };
  for (const char* raw : cases) {
    bhttp::request_header<> in = parse(raw);
    RequestHead head;
    HopInfo hop;
    ASSERT_TRUE(toRequestHead(in, head, &hop).ok()) << raw;
    EXPECT_EQ(hop.keep_alive, bhttp::request<bhttp::empty_body>(in).keep_alive()) << raw;
  }
  bhttp::response_header<> closing;
  closing.version(11);
  closing.set(bhttp::field::connection, "close");
  ResponseHead out;
  HopInfo hop;
  hop.keep_alive = true;
  toResponseHead(closing, out, &hop);
  EXPECT_FALSE(hop.keep_alive);
}

TEST(HopInfoTest, ExpectContinue) {
  RequestHead head;
  HopInfo hop;
  ASSERT_TRUE(
      toRequestHead(parse("PUT /x HTTP/1.1\r\nHost: b\r\nExpect: 100-Continue\r\n\r\n"), head, &hop)
          .ok());
  EXPECT_TRUE(hop.expect_continue);
  RequestHead plain;
  ASSERT_TRUE(toRequestHead(parse("PUT /x HTTP/1.1\r\nHost: b\r\n\r\n"), plain, &hop).ok());
  EXPECT_FALSE(hop.expect_continue);
}

TEST(HopInfoTest, KnownAndUnknownFieldNamesLowercased) {
  RequestHead head;
  ASSERT_TRUE(toRequestHead(parse("GET / HTTP/1.1\r\nHost: b\r\nCONTENT-TYPE: a\r\n"
                                  "X-Custom-Thing: b\r\nWWW-Authenticate: c\r\n\r\n"),
                            head)
                  .ok());
  EXPECT_THAT(headers(head.headers),
              ElementsAre(Pair("content-type", "a"), Pair("x-custom-thing", "b"),
                          Pair("www-authenticate", "c")));
}

ResponseHead responseWith(Body body) {
  ResponseHead head;
  head.status = 200;
  head.headers.add("content-type", "text/plain");
  head.body = body;
  return head;
}

// The serialized head, parsed back by Beast as a client would (`head_request`: it asked HEAD).
bhttp::response_header<> writtenResponse(const ResponseHead& head, bool body_allowed,
                                         bool keep_alive = true) {
  std::string wire;
  appendResponseHead(head, body_allowed, keep_alive, wire);
  bhttp::response_parser<bhttp::empty_body> parser;
  parser.eager(false);
  if (!body_allowed) parser.skip(true);
  boost::system::error_code ec;
  parser.put(boost::asio::buffer(wire), ec);
  EXPECT_FALSE(ec) << ec.message();
  EXPECT_TRUE(parser.is_header_done());
  return parser.release().base();
}

TEST(AppendResponseHeadTest, Framing) {
  bhttp::response_header<> sized =
      writtenResponse(responseWith({.present = true, .length = 5}), true);
  EXPECT_EQ(sized.result_int(), 200u);
  EXPECT_EQ(sized.reason(), "OK");
  EXPECT_EQ(sized[bhttp::field::content_type], "text/plain");
  EXPECT_EQ(sized[bhttp::field::content_length], "5");
  EXPECT_EQ(sized.count(bhttp::field::transfer_encoding), 0u);

  bhttp::response_header<> streamed =
      writtenResponse(responseWith({.present = true, .length = std::nullopt}), true);
  EXPECT_EQ(streamed[bhttp::field::transfer_encoding], "chunked");
  EXPECT_EQ(streamed.count(bhttp::field::content_length), 0u);

  bhttp::response_header<> empty = writtenResponse(responseWith({}), true);
  EXPECT_EQ(empty[bhttp::field::content_length], "0");
}

TEST(AppendResponseHeadTest, NoBodyAllowed) {
  bhttp::response_header<> streamed =  // e.g. a response to HEAD
      writtenResponse(responseWith({.present = true, .length = std::nullopt}), false);
  EXPECT_EQ(streamed.count(bhttp::field::transfer_encoding), 0u);
  EXPECT_EQ(streamed.count(bhttp::field::content_length), 0u);

  bhttp::response_header<> none = writtenResponse(responseWith({}), false);  // e.g. 204
  EXPECT_EQ(none.count(bhttp::field::content_length), 0u);
}

TEST(AppendResponseHeadTest, ConnectionCloseAndUnknownStatus) {
  ResponseHead head = responseWith({});
  head.status = 299;
  bhttp::response_header<> out = writtenResponse(head, true, false);
  EXPECT_EQ(out.result_int(), 299u);
  EXPECT_EQ(out[bhttp::field::connection], "close");
}

// RFC 9112 §3.2.2 / issue #14: a Host naming another authority than the absolute-form target
// would route by one and show the app the other.
TEST(ToRequestHeadTest, HostDisagreeingWithAbsoluteFormRejected) {
  RequestHead head;
  auto st =
      toRequestHead(parse("GET http://backend:8080/x HTTP/1.1\r\nHost: admin:8080\r\n\r\n"), head);
  EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(st.message(), "Host 'admin:8080' disagrees with the request target's 'backend:8080'");
  // The default port is the same authority.
  RequestHead same;
  EXPECT_TRUE(
      toRequestHead(parse("GET http://backend:80/x HTTP/1.1\r\nHost: backend\r\n\r\n"), same).ok());
}

TEST(ToRequestHeadTest, TwoHostHeadersRejected) {
  RequestHead head;
  auto st = toRequestHead(parse("GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n"), head);
  EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(st.message(), "request has 2 Host headers");
}

TEST(ToRequestHeadTest, AsteriskOnlyForOptions) {
  RequestHead head;
  auto st = toRequestHead(parse("GET * HTTP/1.1\r\nHost: a\r\n\r\n"), head);
  EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(st.message(), "request target '*' is only for OPTIONS, not GET");
  RequestHead options;
  ASSERT_TRUE(toRequestHead(parse("OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n"), options).ok());
  EXPECT_EQ(options.path, "*");
}

// RFC 9112 §6.3: a request's body length is known only from chunked as the last (here: only)
// coding or from Content-Length; HTTP/1.0 has no Transfer-Encoding.
absl::Status framing(std::string raw) {
  bhttp::request_parser<bhttp::empty_body> parser;
  boost::system::error_code ec;
  parser.put(boost::asio::buffer(raw), ec);
  EXPECT_TRUE(parser.is_header_done()) << ec.message();
  return checkRequestFraming(parser.get().base(), parser.chunked());
}

TEST(CheckRequestFramingTest, ChunkedAloneOrNoTransferEncoding) {
  EXPECT_TRUE(framing("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n").ok());
  EXPECT_TRUE(framing("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: Chunked\r\n\r\n").ok());
  EXPECT_TRUE(framing("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\n").ok());
  EXPECT_TRUE(framing("GET / HTTP/1.0\r\n\r\n").ok());
}

TEST(CheckRequestFramingTest, LastCodingNotChunkedIs400) {
  for (const char* te : {"xchunked", "gzip", "chunked, identity", "chunked, chunked"}) {
    auto st =
        framing(weft::strCat("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: ", te, "\r\n\r\n"));
    EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument) << te;
    EXPECT_EQ(st.message(),
              weft::strCat("Transfer-Encoding '", te,
                           "' does not end with chunked: the body length is unknown"));
  }
}

TEST(CheckRequestFramingTest, OtherCodingBeforeChunkedIs501) {
  auto st = framing("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n");
  EXPECT_EQ(st.code(), absl::StatusCode::kUnimplemented);
  EXPECT_EQ(st.message(), "Transfer-Encoding 'gzip, chunked': only chunked is supported");
}

TEST(CheckRequestFramingTest, TransferEncodingOnHttp10Is400) {
  auto st = framing("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n");
  EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(st.message(), "Transfer-Encoding 'chunked' on an HTTP/1.0 request");
}

// A tunnel request goes out as an Upgrade without framing; a WebSocket from an HTTP/2 client
// (RFC 8441: no key) gets the key and version an HTTP/1.1 app asks for.
TEST(AppendRequestHeadTest, TunnelIsAnUpgradeWithoutFraming) {
  RequestHead head;
  head.method = "GET";
  head.authority = "chat";
  head.path = "/ws";
  head.upgrade = "websocket";
  head.body = Body{.present = true, .length = std::nullopt};
  head.headers.add("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ==");
  head.headers.add("sec-websocket-version", "13");
  std::string out;
  appendRequestHead(head, out);
  EXPECT_EQ(out,
            "GET /ws HTTP/1.1\r\nhost: chat\r\nsec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
            "sec-websocket-version: 13\r\nconnection: upgrade\r\nupgrade: websocket\r\n\r\n");

  RequestHead from_h2 = head;
  from_h2.headers = HeaderMap{};
  out.clear();
  appendRequestHead(from_h2, out);
  EXPECT_THAT(out, ::testing::MatchesRegex("GET /ws HTTP/1.1\r\nhost: chat\r\n"
                                           "connection: upgrade\r\nupgrade: websocket\r\n"
                                           "sec-websocket-key: [A-Za-z0-9+/]{22}==\r\n"
                                           "sec-websocket-version: 13\r\n\r\n"));
}

// The 101 names the protocol, and carries the accept the client's key asks for (RFC 6455
// §1.3's example) when the app's answer (an HTTP/2 200) had none.
TEST(AppendTunnelResponseHeadTest, SwitchingProtocolsWithAccept) {
  RequestHead request;
  request.upgrade = "websocket";
  request.headers.add("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ==");
  ResponseHead head;
  head.status = kTunnelOpen;
  head.headers.add("x-app", "1");
  std::string out;
  appendTunnelResponseHead(head, request, out);
  EXPECT_EQ(out,
            "HTTP/1.1 101 Switching Protocols\r\nx-app: 1\r\nconnection: upgrade\r\n"
            "upgrade: websocket\r\nsec-websocket-accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n");

  head.headers.add("sec-websocket-accept", "from-app");
  out.clear();
  appendTunnelResponseHead(head, request, out);
  EXPECT_EQ(out,
            "HTTP/1.1 101 Switching Protocols\r\nx-app: 1\r\nsec-websocket-accept: from-app\r\n"
            "connection: upgrade\r\nupgrade: websocket\r\n\r\n");
}

}  // namespace
}  // namespace weft::http::http1
