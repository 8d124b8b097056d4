// The control-stream messages (control/api/push_protocol.h): what one side encodes the other
// decodes, bad lines are refused with a reason, and a line cannot grow without bound.

#include "control/api/push_protocol.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "control/api/resource_key.h"

namespace weft::api::push {
namespace {

using ::testing::HasSubstr;

TEST(PushProtocolTest, MessagesRoundTrip) {
  Hello h{{"reviews", "default", {{"version", "v1"}}, ":15006", {"pay/ledger"}},
          "41",
          {{"Service/default/reviews", "abc"}}};
  auto m = decode(encode(h));
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(m->type, Message::Type::kHello);
  EXPECT_EQ(m->hello.node.labels.at("version"), "v1");
  EXPECT_EQ(m->hello.node.egress, std::vector<std::string>{"pay/ledger"});
  EXPECT_EQ(m->hello.held.at("Service/default/reviews"), "abc");

  Update u{"43", "7", {{"Service/default/a", "v", {{"kind", "Service"}}}}, {"Service/default/b"}};
  m = decode(encode(u));
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->update.nonce, "7");
  EXPECT_EQ(m->update.resources[0].object["kind"], "Service");
  EXPECT_EQ(m->update.removed[0], "Service/default/b");

  m = decode(encode(Ack{"7", "43", std::string("no")}));
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->ack.error, "no");
  m = decode(encode(Ack{"7", "43", std::nullopt}));
  EXPECT_FALSE(m->ack.error.has_value());
  EXPECT_EQ(decode(encodePing())->type, Message::Type::kPing);
}

TEST(PushProtocolTest, BadLinesSayWhy) {
  EXPECT_THAT(std::string(decode("nope").status().message()), HasSubstr("not a JSON object"));
  EXPECT_THAT(std::string(decode(R"({"type":"shout"})").status().message()),
              HasSubstr("unknown type 'shout'"));
  EXPECT_THAT(std::string(decode(R"({"type":"hello","node":{"labels":[1]}})").status().message()),
              HasSubstr("wrong type"));
  EXPECT_FALSE(decode(R"({"type":"update","resources":[{"key":"x"}]})").ok());
  // A field of the wrong type is an error, never an exception that would end the process.
  EXPECT_THAT(std::string(decode(R"({"type":5})").status().message()), HasSubstr("type"));
  EXPECT_FALSE(decode(R"({"type":"update","resources":[{"key":5,"object":{}}]})").ok());
  EXPECT_FALSE(decode(R"({"type":"update","resources":[{"version":[],"object":{}}]})").ok());
  EXPECT_FALSE(decode(R"({"type":"nack","nonce":"1","error":{}})").ok());
}

TEST(PushProtocolTest, LineReaderSplitsLinesAndBoundsOne) {
  LineReader r;
  ASSERT_TRUE(r.append("{\"a\":1}\n{\"b\"").ok());
  EXPECT_EQ(r.next(), "{\"a\":1}");
  EXPECT_FALSE(r.next().has_value());
  ASSERT_TRUE(r.append(":2}\n").ok());
  EXPECT_EQ(r.next(), "{\"b\":2}");
  LineReader big;
  const std::string chunk(1 << 20, 'x');
  absl::Status st;
  for (int i = 0; i < 17 && st.ok(); ++i) st = big.append(chunk);
  EXPECT_TRUE(absl::IsResourceExhausted(st)) << st;
}

TEST(PushProtocolTest, ContentVersionFollowsContent) {
  nlohmann::json a = {{"kind", "Service"}, {"spec", {{"port", 80}}}};
  nlohmann::json b = a;
  EXPECT_EQ(contentVersion(a), contentVersion(b));
  b["spec"]["port"] = 81;
  EXPECT_NE(contentVersion(a), contentVersion(b));
  EXPECT_EQ(contentVersion(a).size(), 16u);
  EXPECT_EQ(resourceKeyOf({{"kind", "Service"}, {"metadata", {{"name", "x"}}}}).path(),
            "Service/default/x");
  // A part of the wrong type is empty, not an exception.
  EXPECT_EQ(resourceKeyOf({{"kind", 1}, {"metadata", {{"name", "x"}, {"namespace", 2}}}}).path(),
            "/default/x");
}

}  // namespace
}  // namespace weft::api::push
