#include "common/strings.h"

#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace weft {
namespace {

using ::testing::ElementsAre;

TEST(StrCatTest, MixedArguments) {
  std::string s = "str";
  std::string_view v = "view";
  absl::string_view a = "absl";
  EXPECT_EQ(strCat(s, '-', v, "-", a, ':', 42, ' ', -7, ' ', uint16_t{65535}),
            "str-view-absl:42 -7 65535");
  EXPECT_EQ(strCat(), "");
  EXPECT_EQ(strCat(std::numeric_limits<uint64_t>::max()), "18446744073709551615");
  EXPECT_EQ(strCat(std::numeric_limits<int64_t>::min()), "-9223372036854775808");
  EXPECT_EQ(strCat(size_t{0}), "0");
}

TEST(StrCatTest, StatusMessage) {
  absl::Status st = absl::InvalidArgumentError("bad thing");
  EXPECT_EQ(strCat("error: ", st.message()), "error: bad thing");
  EXPECT_EQ(sv(st.message()), std::string_view("bad thing"));
}

TEST(StrAppendTest, Appends) {
  std::string out = "a";
  strAppend(out, "b", std::string_view("c"), 1);
  strAppend(out);
  EXPECT_EQ(out, "abc1");
}

TEST(SplitTest, KeepsEmptyPiecesByDefault) {
  EXPECT_THAT(split("a,b,,c", ','), ElementsAre("a", "b", "", "c"));
  EXPECT_THAT(split(",a,", ','), ElementsAre("", "a", ""));
  EXPECT_THAT(split("", ','), ElementsAre(""));
  EXPECT_THAT(split("abc", ','), ElementsAre("abc"));
}

TEST(SplitTest, SkipEmpty) {
  EXPECT_THAT(split(",a,,b,", ',', true), ElementsAre("a", "b"));
  EXPECT_TRUE(split("", ',', true).empty());
  EXPECT_TRUE(split(",,,", ',', true).empty());
}

TEST(TrimTest, SpacesAndTabsOnly) {
  EXPECT_EQ(trim("  a b\t "), "a b");
  EXPECT_EQ(trim("\t\t"), "");
  EXPECT_EQ(trim(""), "");
  EXPECT_EQ(trim("x"), "x");
  EXPECT_EQ(trim("\na\r"), "\na\r");  // only SP and HTAB are optional whitespace
}

TEST(CaseTest, ToLowerAsciiOnly) {
  EXPECT_EQ(toLower("Content-TYPE"), "content-type");
  EXPECT_EQ(toLower("AZaz09-@[`{"), "azaz09-@[`{");
  EXPECT_EQ(toLower("\xC3\x89"), "\xC3\x89");  // non-ASCII bytes untouched
  EXPECT_EQ(lowerChar('Q'), 'q');
  EXPECT_EQ(lowerChar('@'), '@');
}

TEST(CaseTest, EqualsIgnoreCase) {
  EXPECT_TRUE(equalsIgnoreCase("Host", "hOST"));
  EXPECT_TRUE(equalsIgnoreCase("", ""));
  EXPECT_FALSE(equalsIgnoreCase("host", "hos"));
  EXPECT_FALSE(equalsIgnoreCase("[", "{"));  // 0x5B vs 0x7B differ by 32 but are not letters
}

TEST(CaseTest, StartsWithIgnoreCase) {
  EXPECT_TRUE(startsWithIgnoreCase("HTTP://backend", "http://"));
  EXPECT_TRUE(startsWithIgnoreCase("abc", ""));
  EXPECT_FALSE(startsWithIgnoreCase("htt", "http"));
  EXPECT_FALSE(startsWithIgnoreCase("https://x", "http://"));
}

TEST(ParseUnsignedTest, WholeStringDecimal) {
  uint32_t v = 0;
  EXPECT_TRUE(parseUnsigned("0", &v));
  EXPECT_EQ(v, 0u);
  EXPECT_TRUE(parseUnsigned("4294967295", &v));
  EXPECT_EQ(v, 4294967295u);
  EXPECT_TRUE(parseUnsigned("007", &v));
  EXPECT_EQ(v, 7u);
  for (const char* bad : {"", "4294967296", "-1", "+1", " 1", "1 ", "1a", "0x10", "1.0"}) {
    EXPECT_FALSE(parseUnsigned(bad, &v)) << bad;
  }
  uint8_t small = 0;
  EXPECT_TRUE(parseUnsigned("255", &small));
  EXPECT_EQ(small, 255);
  EXPECT_FALSE(parseUnsigned("256", &small));
}

TEST(JoinTest, Separators) {
  EXPECT_EQ(join({}, ", "), "");
  EXPECT_EQ(join({"a"}, ", "), "a");
  EXPECT_EQ(join({"a", "", "c"}, ", "), "a, , c");
}

}  // namespace
}  // namespace weft
