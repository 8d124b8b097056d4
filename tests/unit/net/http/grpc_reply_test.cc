#include "net/http/grpc_reply.h"

#include <gtest/gtest.h>

namespace weft::http {
namespace {

RequestHead withContentType(std::string type) {
  RequestHead r;
  r.method = "POST";
  if (!type.empty()) r.headers.add("content-type", std::move(type));
  return r;
}

TEST(GrpcReplyTest, RecognisesGrpcContentTypes) {
  EXPECT_TRUE(isGrpcRequest(withContentType("application/grpc")));
  EXPECT_TRUE(isGrpcRequest(withContentType("application/grpc+proto")));
  EXPECT_TRUE(isGrpcRequest(withContentType("Application/GRPC;charset=utf-8")));
  EXPECT_FALSE(isGrpcRequest(withContentType("application/grpc-web")));
  EXPECT_FALSE(isGrpcRequest(withContentType("application/json")));
  EXPECT_FALSE(isGrpcRequest(withContentType("")));
}

TEST(GrpcReplyTest, TimeoutsAreDeadlineExceededEverythingElseUnavailable) {
  EXPECT_EQ(grpcStatusForLocalReply(504), kGrpcDeadlineExceeded);
  for (unsigned s : {404u, 500u, 502u, 503u})
    EXPECT_EQ(grpcStatusForLocalReply(s), kGrpcUnavailable);
}

TEST(GrpcReplyTest, TrailersOnlyResponseCarriesStatusMessageAndReason) {
  const ResponseHead head =
      grpcLocalReply(503, "upstream connect failed: 127.0.0.1:1: 100% refused");
  EXPECT_EQ(head.status, 200u);
  EXPECT_FALSE(head.body.present);
  ASSERT_NE(head.headers.get("grpc-status"), nullptr);
  EXPECT_EQ(*head.headers.get("grpc-status"), "14");
  EXPECT_EQ(*head.headers.get("grpc-message"),
            "upstream connect failed: 127.0.0.1:1: 100%25 refused");
  EXPECT_EQ(*head.headers.get("content-type"), "application/grpc");
  EXPECT_EQ(*head.headers.get("x-weft-error"),
            "upstream connect failed: 127.0.0.1:1: 100% refused");
}

TEST(GrpcReplyTest, ParsesGrpcTimeout) {
  using std::chrono::milliseconds;
  EXPECT_EQ(parseGrpcTimeout("1S"), milliseconds(1000));
  EXPECT_EQ(parseGrpcTimeout("250m"), milliseconds(250));
  EXPECT_EQ(parseGrpcTimeout("2M"), milliseconds(120'000));
  EXPECT_EQ(parseGrpcTimeout("1H"), milliseconds(3'600'000));
  EXPECT_EQ(parseGrpcTimeout("1500u"), milliseconds(2));  // rounded up
  EXPECT_EQ(parseGrpcTimeout("99999999n"), milliseconds(100));
  EXPECT_EQ(parseGrpcTimeout("1"), std::nullopt);
  EXPECT_EQ(parseGrpcTimeout("S"), std::nullopt);
  EXPECT_EQ(parseGrpcTimeout("123456789S"), std::nullopt);  // more than 8 digits
  EXPECT_EQ(parseGrpcTimeout("1s"), std::nullopt);
  EXPECT_EQ(parseGrpcTimeout("-1S"), std::nullopt);
}

TEST(GrpcReplyTest, PercentEncodesNonPrintableBytes) {
  EXPECT_EQ(percentEncodeGrpcMessage("a\nb\xc3\xa9"), "a%0Ab%C3%A9");
  EXPECT_EQ(percentEncodeGrpcMessage("plain text ~"), "plain text ~");
}

}  // namespace
}  // namespace weft::http
