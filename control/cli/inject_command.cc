#include "control/cli/inject_command.h"

#include <sstream>

#include <yaml-cpp/yaml.h>

#include "common/strings.h"
#include "control/api/json_yaml.h"
#include "control/cli/output.h"
#include "control/inject/pod_injector.h"

namespace weft::control::cli {
namespace {

using nlohmann::json;

// The documents of a YAML stream, as written: split at lines that start with "---".
std::vector<std::string> splitDocuments(const std::string& text) {
  std::vector<std::string> docs(1);
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    if (line.starts_with("---") &&
        (line.size() == 3 || line[3] == ' ' || line[3] == '\t' || line[3] == '\r')) {
      docs.emplace_back();
      continue;
    }
    docs.back() += line + "\n";
  }
  return docs;
}

std::string describe(const json& object) {
  return weft::strCat(weft::toLower(object.value("kind", "object")), "/",
                      object.value("metadata", json::object()).value("name", "?"));
}

}  // namespace

int inject(CommandContext& ctx) {
  const std::string what = "inject";
  if (auto st = ctx.args.onlyFlags({"filename", "image", "control", "proxy-uid", "legacy-sidecar"});
      !st.ok()) {
    return fail(ctx.err, what, st);
  }
  auto input = readInput(ctx.args.get("filename"));
  if (!input.ok()) return fail(ctx.err, what, input.status());
  inject::InjectSettings settings;
  settings.image = ctx.args.get("image", settings.image);
  settings.control = ctx.args.get("control", settings.control);
  settings.legacy_sidecar = ctx.args.flags.contains("legacy-sidecar");
  if (const std::string uid = ctx.args.get("proxy-uid"); !uid.empty()) {
    if (!weft::parseUnsigned(uid, &settings.proxy_uid) || settings.proxy_uid == 0) {
      return fail(ctx.err, what,
                  absl::InvalidArgumentError(
                      weft::strCat("--proxy-uid: want a UID other than 0, got '", uid, "'")));
    }
  }
  std::string out;
  const std::vector<std::string> docs = splitDocuments(input->text);
  for (size_t i = 0; i < docs.size(); ++i) {
    const std::string& doc = docs[i];
    if (i > 0) out += "---\n";
    YAML::Node node;
    try {
      node = YAML::Load(doc);
    } catch (const YAML::Exception& e) {
      return fail(ctx.err, what,
                  absl::InvalidArgumentError(
                      weft::strCat(input->source, ": document ", i + 1, ": not YAML: ", e.what())));
    }
    if (!node.IsMap()) {
      out += doc;  // empty, a comment, or not an object: as it was
      continue;
    }
    json object = api::jsonFromYaml(node);
    bool changed = false;
    auto one = [&](json& o) {
      const inject::InjectResult r = inject::injectObject(o, settings);
      if (r.injected) {
        ctx.err << describe(o) << " injected\n";
        changed = true;
      } else if (r.reason.find("not a workload") == std::string::npos) {
        ctx.err << describe(o) << " skipped: " << r.reason << "\n";
      }
    };
    if (object.value("kind", "") == "List" && object.contains("items") &&
        object["items"].is_array()) {
      for (json& item : object["items"]) one(item);
    } else {
      one(object);
    }
    out += changed ? api::yamlText(object) : doc;
  }
  ctx.out << out;
  return kExitOk;
}

}  // namespace weft::control::cli
