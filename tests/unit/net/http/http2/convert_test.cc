#include "net/http/http2/convert.h"

#include <string>
#include <utility>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace weft::http::http2 {
namespace {

using ::testing::ElementsAre;
using ::testing::Pair;

using Fields = std::vector<std::pair<std::string, std::string>>;

absl::Status build(const Fields& fields, RequestHead& head, size_t limit = 64 * 1024) {
  RequestHeadBuilder builder(head, limit);
  for (const auto& [name, value] : fields) builder.add(name, value);
  return builder.finish();
}

Fields headers(const HeaderMap& map) {
  Fields out;
  for (const auto& h : map) out.emplace_back(h.name, h.value);
  return out;
}

Fields fieldsOf(const ResponseFields& fields) {
  Fields out;
  for (const auto& nv : fields.nva) {
    out.emplace_back(std::string(reinterpret_cast<const char*>(nv.name), nv.namelen),
                     std::string(reinterpret_cast<const char*>(nv.value), nv.valuelen));
  }
  return out;
}

TEST(RequestHeadBuilderTest, PseudoHeadersBecomeTheHead) {
  RequestHead head;
  auto st = build({{":method", "GET"},
                   {":scheme", "http"},
                   {":authority", "backend:8080"},
                   {":path", "/x?y=1"},
                   {"accept", "*/*"}},
                  head);
  ASSERT_TRUE(st.ok()) << st;
  EXPECT_EQ(head.method, "GET");
  EXPECT_EQ(head.scheme, "http");
  EXPECT_EQ(head.authority, "backend:8080");
  EXPECT_EQ(head.path, "/x?y=1");
  EXPECT_THAT(headers(head.headers), ElementsAre(Pair("accept", "*/*")));
  EXPECT_FALSE(head.body.length);
}

TEST(RequestHeadBuilderTest, HostStandsInForMissingAuthority) {
  RequestHead head;
  auto st =
      build({{":method", "GET"}, {":scheme", "http"}, {":path", "/"}, {"host", "reviews"}}, head);
  ASSERT_TRUE(st.ok()) << st;
  EXPECT_EQ(head.authority, "reviews");
  EXPECT_TRUE(headers(head.headers).empty());
}

TEST(RequestHeadBuilderTest, AuthorityWinsOverHost) {
  RequestHead head;
  auto st = build({{":method", "GET"},
                   {":scheme", "http"},
                   {":authority", "backend"},
                   {":path", "/"},
                   {"host", "other"}},
                  head);
  ASSERT_TRUE(st.ok()) << st;
  EXPECT_EQ(head.authority, "backend");
}

TEST(RequestHeadBuilderTest, NoAuthorityAtAllIsRejected) {
  RequestHead head;
  auto st = build({{":method", "GET"}, {":scheme", "http"}, {":path", "/"}}, head);
  EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(st.message(), "request has no :authority or host");
}

TEST(RequestHeadBuilderTest, ContentLengthBecomesBodyLength) {
  RequestHead head;
  auto st = build({{":method", "POST"},
                   {":scheme", "http"},
                   {":authority", "a"},
                   {":path", "/echo"},
                   {"content-length", "1234"},
                   {"content-type", "text/plain"}},
                  head);
  ASSERT_TRUE(st.ok()) << st;
  ASSERT_TRUE(head.body.length);
  EXPECT_EQ(*head.body.length, 1234u);
  EXPECT_THAT(headers(head.headers), ElementsAre(Pair("content-type", "text/plain")));
}

TEST(RequestHeadBuilderTest, ConnectionSpecificAndCodecFieldsAreDropped) {
  RequestHead head;
  RequestHeadBuilder builder(head, 64 * 1024);
  for (auto [name, value] : Fields{{":method", "POST"},
                                   {":scheme", "http"},
                                   {":authority", "a"},
                                   {":path", "/"},
                                   {"te", "trailers"},
                                   {"expect", "100-continue"},
                                   {"proxy-authorization", "Basic x"},
                                   {"x-kept", "1"}}) {
    builder.add(name, value);
  }
  ASSERT_TRUE(builder.finish().ok());
  EXPECT_TRUE(builder.expectContinue());
  // `te: trailers` is end to end for gRPC over HTTP/2 (the HTTP/1.1 writer drops it).
  EXPECT_THAT(headers(head.headers), ElementsAre(Pair("te", "trailers"), Pair("x-kept", "1")));
}

TEST(RequestHeadBuilderTest, SplitCookiesAreJoined) {
  RequestHead head;
  auto st = build({{":method", "GET"},
                   {":scheme", "http"},
                   {":authority", "a"},
                   {":path", "/"},
                   {"cookie", "a=1"},
                   {"x-between", "y"},
                   {"cookie", "b=2"}},
                  head);
  ASSERT_TRUE(st.ok()) << st;
  EXPECT_THAT(headers(head.headers),
              ElementsAre(Pair("x-between", "y"), Pair("cookie", "a=1; b=2")));
}

TEST(RequestHeadBuilderTest, ConnectIsUnimplemented) {
  RequestHead head;
  auto st = build({{":method", "CONNECT"}, {":authority", "a:443"}}, head);
  EXPECT_EQ(st.code(), absl::StatusCode::kUnimplemented);
}

TEST(RequestHeadBuilderTest, MissingPathIsRejected) {
  RequestHead head;
  auto st = build({{":method", "GET"}, {":scheme", "http"}, {":authority", "a"}}, head);
  EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(st.message(), "missing :path");
}

TEST(RequestHeadBuilderTest, OversizedHeaderListIsResourceExhausted) {
  RequestHead head;
  auto st = build({{":method", "GET"},
                   {":scheme", "http"},
                   {":authority", "a"},
                   {":path", "/"},
                   {"x-big", std::string(200, 'x')}},
                  head, 128);
  EXPECT_EQ(st.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(st.message(), "request header larger than 128 bytes");
}

TEST(RequestHeadBuilderTest, BadContentLengthIsRejected) {
  RequestHead head;
  auto st = build({{":method", "POST"},
                   {":scheme", "http"},
                   {":authority", "a"},
                   {":path", "/"},
                   {"content-length", "12x"}},
                  head);
  EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument);
}

TEST(ResponseFieldsTest, StatusFirstThenHeadersThenLength) {
  ResponseHead head;
  head.status = 200;
  head.headers.add("content-type", "text/plain");
  head.headers.add("connection", "keep-alive");
  head.headers.add("x-app", "1");
  head.body = {true, 5};
  ResponseFields fields;
  buildResponseFields(head, fields);
  EXPECT_THAT(fieldsOf(fields),
              ElementsAre(Pair(":status", "200"), Pair("content-type", "text/plain"),
                          Pair("x-app", "1"), Pair("content-length", "5")));
}

TEST(ResponseFieldsTest, StreamedBodyHasNoLength) {
  ResponseHead head;
  head.status = 404;
  head.body = {true, std::nullopt};
  ResponseFields fields;
  buildResponseFields(head, fields);
  EXPECT_THAT(fieldsOf(fields), ElementsAre(Pair(":status", "404")));
}

TEST(ResponseFieldsTest, NoContentLengthOn204) {
  ResponseHead head;
  head.status = 204;
  head.body = {false, 0};
  ResponseFields fields;
  buildResponseFields(head, fields);
  EXPECT_THAT(fieldsOf(fields), ElementsAre(Pair(":status", "204")));
}

// RFC 8441 §4, §5: an extended CONNECT for a WebSocket is the GET + Upgrade it stands for.
TEST(RequestHeadBuilderTest, ExtendedConnectForWebSocketIsATunnelGet) {
  RequestHead head;
  ASSERT_TRUE(build({{":method", "CONNECT"},
                     {":protocol", "websocket"},
                     {":scheme", "https"},
                     {":path", "/chat?room=1"},
                     {":authority", "chat"},
                     {"sec-websocket-version", "13"}},
                    head)
                  .ok());
  EXPECT_EQ(head.method, "GET");
  EXPECT_EQ(head.upgrade, "websocket");
  EXPECT_EQ(head.path, "/chat?room=1");
  EXPECT_TRUE(head.body.present);
  EXPECT_FALSE(head.body.length);
  EXPECT_THAT(headers(head.headers), ElementsAre(Pair("sec-websocket-version", "13")));
}

TEST(RequestHeadBuilderTest, ExtendedConnectForAnotherProtocolIs501) {
  RequestHead head;
  auto st = build({{":method", "CONNECT"},
                   {":protocol", "webtransport"},
                   {":scheme", "https"},
                   {":path", "/"},
                   {":authority", "chat"}},
                  head);
  EXPECT_EQ(st.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(st.message(), "extended CONNECT for 'webtransport' is not supported through the mesh");
}

TEST(RequestHeadBuilderTest, ProtocolOnlyWithConnect) {
  RequestHead head;
  auto st = build(
      {{":method", "GET"}, {":protocol", "websocket"}, {":path", "/"}, {":authority", "chat"}},
      head);
  EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(st.message(), ":protocol is only for CONNECT");
}

// HTTP/2 has no 101 (RFC 9113 §8.6): the tunnel opens with a 200 and no content-length.
TEST(BuildResponseFieldsTest, TunnelOpensWith200) {
  ResponseHead head;
  head.status = kTunnelOpen;
  head.body = Body{.present = true, .length = 0};
  head.headers.add("sec-websocket-accept", "x");
  ResponseFields fields;
  buildResponseFields(head, fields);
  EXPECT_THAT(fieldsOf(fields),
              ElementsAre(Pair(":status", "200"), Pair("sec-websocket-accept", "x")));
}

}  // namespace
}  // namespace weft::http::http2
