#include "control/api/config_json_writer.h"

#include <string_view>

#include <nlohmann/json.hpp>

namespace weft::api {
namespace {

constexpr auto kReplace = nlohmann::json::error_handler_t::replace;

// `json` pretty-printed as nlohmann does it for an element nested `depth` levels deep: its lines
// indented by 2 spaces per level. (Strings in JSON never hold a raw newline: splitting the
// dump at '\n' finds line boundaries only.)
void appendIndented(std::string& out, const nlohmann::json& json, int depth) {
  const std::string text = json.dump(2, ' ', false, kReplace);
  const std::string indent(static_cast<size_t>(depth) * 2, ' ');
  size_t start = 0;
  for (;;) {
    size_t end = text.find('\n', start);
    out += indent;
    out.append(std::string_view(text).substr(start, end == std::string::npos ? end : end - start));
    if (end == std::string::npos) break;
    out += '\n';
    start = end + 1;
  }
}

}  // namespace

ConfigJsonWriter::ConfigJsonWriter(MeshConfigConstSharedPtr config) : config_(std::move(config)) {}

bool ConfigJsonWriter::next(std::string& out, size_t min_bytes) {
  // nlohmann orders object keys: "resources", "source", "version".
  const size_t count = config_->resourceCount();
  if (!opened_) {
    opened_ = true;
    out += count == 0 ? "{\n  \"resources\": []" : "{\n  \"resources\": [\n";
  }
  while (next_resource_ < count && out.size() < min_bytes) {
    appendIndented(out, config_->resourceJson(next_resource_), 2);
    ++next_resource_;
    out += next_resource_ < count ? ",\n" : "\n  ]";
  }
  if (next_resource_ < count) return true;
  if (!closed_) {
    closed_ = true;
    out += ",\n  \"source\": ";
    out += nlohmann::json(config_->source()).dump(2, ' ', false, kReplace);
    out += ",\n  \"version\": ";
    out += nlohmann::json(config_->version()).dump();
    out += "\n}\n";
  }
  return false;
}

}  // namespace weft::api
