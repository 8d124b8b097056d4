// ConfigJsonWriter (control/api/config_json_writer.cc): the admin /config streams the config one
// resource at a time; the text must be exactly what dumping MeshConfig::toJson() whole gives.

#include "control/api/config_json_writer.h"

#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/unit/control/api/mesh_examples.h"

namespace weft::api {
namespace {

using testing::decodeOk;
using testing::kIssueExample;
using testing::kRatings;

std::string whole(const MeshConfig& config) {
  return config.toJson().dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

// Everything the writer gives with pieces of at least `min_bytes`; counts the pieces.
std::string streamed(MeshConfigConstSharedPtr config, size_t min_bytes, int* pieces) {
  ConfigJsonWriter writer(std::move(config));
  std::string all;
  *pieces = 0;
  for (bool more = true; more;) {
    std::string piece;
    more = writer.next(piece, min_bytes);
    all += piece;
    ++*pieces;
    EXPECT_LT(*pieces, 10000) << "the writer does not end";
    if (*pieces >= 10000) break;
  }
  return all;
}

void expectSameText(const MeshConfigConstSharedPtr& config) {
  for (size_t min_bytes : {size_t{1}, size_t{100}, size_t{1} << 20}) {
    int pieces = 0;
    EXPECT_EQ(streamed(config, min_bytes, &pieces), whole(*config)) << "min_bytes=" << min_bytes;
  }
}

TEST(ConfigJsonWriterTest, SameTextAsWholeDump) {
  expectSameText(decodeOk(kIssueExample));
  expectSameText(decodeOk(std::string(kIssueExample) + "---\n" + kRatings));
}

TEST(ConfigJsonWriterTest, EmptyConfig) {
  expectSameText(std::make_shared<const MeshConfig>(Resources{}, "(none)", 0));
}

TEST(ConfigJsonWriterTest, SourceIsEscaped) {
  auto base = decodeOk(kRatings);
  Resources copy{base->services(), base->routes(), base->policies()};
  expectSameText(std::make_shared<const MeshConfig>(copy, "dir/\"odd\"\\name\xff.yaml", 7));
}

// Small pieces: one resource per piece, not the whole JSON at once.
TEST(ConfigJsonWriterTest, WritesOneResourceAtATime) {
  auto config = decodeOk(std::string(kIssueExample) + "---\n" + kRatings);
  int pieces = 0;
  streamed(config, 1, &pieces);
  EXPECT_EQ(pieces, static_cast<int>(config->resourceCount()) + 1);
}

}  // namespace
}  // namespace weft::api
