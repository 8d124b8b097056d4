#include "control/cli/policy_commands.h"

#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <iostream>
#include <iterator>
#include <map>
#include <sstream>

#include <nlohmann/json.hpp>

#include "common/strings.h"
#include "control/api/json_yaml.h"
#include "control/cli/output.h"
#include "control/cli/resource_kinds.h"
#include "control/policy/manifests.h"
#include "runtime/atomic_file.h"

namespace weft::control::cli {
namespace {

using nlohmann::json;

std::string_view contentTypeOf(std::string_view text) {
  const size_t first = text.find_first_not_of(" \t\r\n");
  const bool is_json =
      first != std::string_view::npos && (text[first] == '{' || text[first] == '[');
  return is_json ? "application/json" : "application/yaml";
}

std::string resourcePath(const std::string& kind, const std::string& ns, const std::string& name) {
  std::string path = "/v1/resources";
  if (!kind.empty()) path += "/" + kind;
  if (!ns.empty()) path += "/" + ns;
  if (!name.empty()) path += "/" + name;
  return path;
}

// POST /v1/apply; the parsed answer on success.
std::optional<json> postApply(CommandContext& ctx, const std::string& what, const Input& input,
                              bool dry_run, int& exit) {
  auto response = request(ctx, what, "POST", dry_run ? "/v1/apply?dryRun=true" : "/v1/apply", exit,
                          input.text, contentTypeOf(input.text), input.source);
  if (!response) return std::nullopt;
  return json::parse(response->body, nullptr, false);
}

void printObjects(CommandContext& ctx, const std::vector<json>& objects, bool single) {
  if (ctx.global.output == "json") {
    ctx.out << (single ? objects.front() : json{{"kind", "List"}, {"items", objects}}).dump(2)
            << "\n";
    return;
  }
  for (size_t i = 0; i < objects.size(); ++i) {
    if (i > 0) ctx.out << "---\n";
    ctx.out << api::yamlText(objects[i]);
  }
}

// The key=weight pairs of `split`.
absl::StatusOr<std::map<std::string, uint32_t>> parseWeights(
    const std::vector<std::string>& words) {
  std::map<std::string, uint32_t> out;
  for (const std::string& w : words) {
    const size_t eq = w.find('=');
    uint32_t weight = 0;
    if (eq == std::string::npos || eq == 0 || !weft::parseUnsigned(w.substr(eq + 1), &weight)) {
      return absl::InvalidArgumentError(weft::strCat("'", w, "': want SUBSET=WEIGHT, e.g. v1=90"));
    }
    out[w.substr(0, eq)] = weight;
  }
  if (out.empty()) return absl::InvalidArgumentError("name the weights, e.g. v1=90 v2=10");
  return out;
}

// Sets the weights of `route`'s backendRefs: each is named by its subset, or by its Service
// when it has none. Every backendRef of a rule that the split touches must be named.
absl::Status setWeights(json& route, const std::map<std::string, uint32_t>& weights) {
  json& rules = route["spec"]["rules"];
  if (!rules.is_array()) return absl::FailedPreconditionError("the route has no rules");
  std::map<std::string, bool> known;
  for (const json& rule : rules) {
    for (const json& b : rule.value("backendRefs", json::array())) {
      known[b.value("subset", b.value("name", ""))] = true;
    }
  }
  for (const auto& [key, weight] : weights) {
    if (!known.contains(key)) {
      return absl::InvalidArgumentError(
          weft::strCat("no backendRef of the route has subset or Service '", key, "'"));
    }
  }
  for (size_t r = 0; r < rules.size(); ++r) {
    json& refs = rules[r]["backendRefs"];
    if (!refs.is_array()) continue;
    std::vector<std::string> unnamed;
    bool touched = false;
    for (json& b : refs) {
      const std::string key = b.value("subset", b.value("name", ""));
      auto it = weights.find(key);
      if (it == weights.end()) {
        unnamed.push_back(key);
        continue;
      }
      b["weight"] = it->second;
      touched = true;
    }
    if (touched && !unnamed.empty()) {
      return absl::InvalidArgumentError(
          weft::strCat("rule ", r, " also sends to ", weft::join(unnamed, ", "),
                       ": name every backend of the split (", unnamed.front(), "=0 to stop it)"));
    }
  }
  return absl::OkStatus();
}

}  // namespace

int apply(CommandContext& ctx) {
  const std::string what = "apply";
  if (auto st = ctx.args.onlyFlags({"filename", "dry-run"}); !st.ok())
    return fail(ctx.err, what, st);
  auto input = readInput(ctx.args.get("filename"));
  if (!input.ok()) return fail(ctx.err, what, absl::InvalidArgumentError(input.status().message()));
  const bool dry_run = ctx.args.flags.contains("dry-run");
  int exit = kExitOk;
  std::optional<json> answer = postApply(ctx, what, *input, dry_run, exit);
  if (!answer) return exit;
  if (ctx.global.output != "text") {
    ctx.out << answer->dump(2) << "\n";
    return kExitOk;
  }
  for (const json& r : answer->value("results", json::array())) {
    ctx.out << r.value("kind", "") << " " << r.value("namespace", "") << "/" << r.value("name", "")
            << " " << r.value("action", "") << (dry_run ? " (dry run)" : "") << "\n";
  }
  return kExitOk;
}

int get(CommandContext& ctx) {
  const std::string what = "get";
  if (auto st = ctx.args.onlyFlags({"namespace", "all-namespaces"}); !st.ok()) {
    return fail(ctx.err, what, st);
  }
  const std::vector<std::string>& w = ctx.args.words;
  if (w.size() < 2 || w.size() > 3) {
    return fail(ctx.err, what, absl::InvalidArgumentError("usage: get KIND [NAME] [-n NS]"));
  }
  std::optional<std::string> kind = kindFromWord(w[1]);
  if (!kind) {
    return fail(ctx.err, what,
                absl::InvalidArgumentError(weft::strCat(
                    "unknown kind '", w[1], "' (service, httproute, destinationpolicy, all)")));
  }
  const bool single = w.size() == 3;
  if (single && kind->empty()) {
    return fail(ctx.err, what, absl::InvalidArgumentError("get all takes no NAME"));
  }
  const std::string ns = ctx.args.get("namespace", single ? "default" : "");
  int exit = kExitOk;
  auto response =
      request(ctx, what, "GET",
              resourcePath(*kind, single || !ns.empty() ? ns : "", single ? w[2] : ""), exit);
  if (!response) return exit;
  json doc = json::parse(response->body, nullptr, false);
  std::vector<json> objects;
  if (single) {
    objects.push_back(std::move(doc));
  } else {
    for (json& o : doc["items"]) objects.push_back(std::move(o));
  }
  if (ctx.global.output != "text") {
    printObjects(ctx, objects, single);
    return kExitOk;
  }
  if (objects.empty()) {
    ctx.err << "no resources found" << (ns.empty() ? "" : " in namespace " + ns) << "\n";
    return kExitOk;
  }
  std::vector<std::vector<std::string>> rows = {tableHeader(*kind)};
  for (const json& o : objects) rows.push_back(tableRow(*kind, o));
  printTable(ctx.out, rows);
  return kExitOk;
}

int remove(CommandContext& ctx) {
  const std::string what = "delete";
  if (auto st = ctx.args.onlyFlags({"namespace", "filename"}); !st.ok()) {
    return fail(ctx.err, what, st);
  }
  std::vector<policy::ResourceKey> keys;
  const std::vector<std::string>& w = ctx.args.words;
  if (ctx.args.flags.contains("filename")) {
    auto input = readInput(ctx.args.get("filename"));
    if (!input.ok())
      return fail(ctx.err, what, absl::InvalidArgumentError(input.status().message()));
    auto manifests = policy::parseManifests(input->text, input->source);
    if (!manifests.ok()) {
      return fail(ctx.err, what, absl::InvalidArgumentError(manifests.status().message()));
    }
    for (const policy::Manifest& m : *manifests) keys.push_back(m.key);
  } else if (w.size() == 3) {
    std::optional<std::string> kind = kindFromWord(w[1]);
    if (!kind || kind->empty()) {
      return fail(ctx.err, what,
                  absl::InvalidArgumentError(weft::strCat("unknown kind '", w[1], "'")));
    }
    keys.push_back({*kind, ctx.args.get("namespace", "default"), w[2]});
  } else {
    return fail(ctx.err, what,
                absl::InvalidArgumentError("usage: delete KIND NAME [-n NS] | delete -f FILE"));
  }
  for (const policy::ResourceKey& key : keys) {
    int exit = kExitOk;
    auto response = request(ctx, what, "DELETE", resourcePath(key.kind, key.ns, key.name), exit);
    if (!response) return exit;
    if (ctx.global.output != "text") {
      ctx.out << response->body << "\n";
    } else {
      ctx.out << key.describe() << " deleted\n";
    }
  }
  return kExitOk;
}

int diff(CommandContext& ctx) {
  const std::string what = "diff";
  if (auto st = ctx.args.onlyFlags({"filename"}); !st.ok()) return fail(ctx.err, what, st);
  auto input = readInput(ctx.args.get("filename"));
  if (!input.ok()) return fail(ctx.err, what, absl::InvalidArgumentError(input.status().message()));
  int exit = kExitOk;
  std::optional<json> answer = postApply(ctx, what, *input, true, exit);
  if (!answer) return exit;
  // Like kubectl diff: the live and the would-be objects as files in two directories, compared
  // by diff -u -N (a resource that does not exist yet shows whole).
  const std::filesystem::path base =
      std::filesystem::temp_directory_path() / weft::strCat("weftctl-diff-", ::getpid());
  std::filesystem::create_directories(base / "live");
  std::filesystem::create_directories(base / "merged");
  for (const json& r : answer->value("results", json::array())) {
    const std::string file = weft::strCat(r.value("kind", ""), ".", r.value("namespace", ""), ".",
                                          r.value("name", ""), ".yaml");
    json live = r.value("live", json(nullptr));
    if (!live.is_null()) {
      live["metadata"].erase("resourceVersion");
      (void)runtime::writeFileAtomic((base / "live" / file).string(), api::yamlText(live), 0600);
    }
    (void)runtime::writeFileAtomic((base / "merged" / file).string(),
                                   api::yamlText(r.value("object", json::object())), 0600);
  }
  const std::string command = weft::strCat("cd '", base.string(), "' && diff -u -N -r live merged");
  FILE* pipe = ::popen(command.c_str(), "r");
  std::string out;
  if (pipe != nullptr) {
    char buf[4096];
    for (size_t n; (n = std::fread(buf, 1, sizeof(buf), pipe)) > 0;) out.append(buf, n);
  }
  const int status = pipe != nullptr ? ::pclose(pipe) : -1;
  std::filesystem::remove_all(base);
  ctx.out << out;
  if (status == -1 || !WIFEXITED(status) || WEXITSTATUS(status) > 1) {
    return fail(ctx.err, what, absl::InternalError("could not run diff (is diffutils installed?)"));
  }
  return WEXITSTATUS(status) == 1 ? kExitDiffers : kExitOk;
}

int split(CommandContext& ctx) {
  const std::string what = "split";
  if (auto st = ctx.args.onlyFlags({"namespace"}); !st.ok()) return fail(ctx.err, what, st);
  const std::vector<std::string>& w = ctx.args.words;
  if (w.size() < 3) {
    return fail(ctx.err, what,
                absl::InvalidArgumentError("usage: split ROUTE SUBSET=WEIGHT... [-n NS]"));
  }
  auto weights = parseWeights({w.begin() + 2, w.end()});
  if (!weights.ok()) return fail(ctx.err, what, weights.status());
  const std::string ns = ctx.args.get("namespace", "default");
  // Read, change, write back with the resourceVersion read: a change made in between is not
  // overwritten (409), and the read is done again.
  for (int attempt = 0;; ++attempt) {
    int exit = kExitOk;
    auto response = request(ctx, what, "GET", resourcePath("HTTPRoute", ns, w[1]), exit);
    if (!response) return exit;
    json route = json::parse(response->body, nullptr, false);
    if (auto st = setWeights(route, *weights); !st.ok()) {
      return fail(ctx.err, weft::strCat(what, " ", ns, "/", w[1]), st);
    }
    auto answer =
        ctx.client.call("POST", "/v1/apply", route.dump(), "application/json", "weftctl split");
    if (!answer.ok()) return fail(ctx.err, what, answer.status());
    if (answer->status == 409 && attempt < 3) continue;
    if (answer->status < 200 || answer->status >= 300) return failResponse(ctx.err, what, *answer);
    if (ctx.global.output != "text") {
      ctx.out << answer->body << "\n";
      return kExitOk;
    }
    std::vector<std::string> parts;
    for (const auto& [key, weight] : *weights) parts.push_back(weft::strCat(key, "=", weight));
    const json result = json::parse(answer->body, nullptr, false)["results"][0];
    ctx.out << "HTTPRoute " << ns << "/" << w[1] << ": " << weft::join(parts, " ") << " ("
            << result.value("action", "") << ", resourceVersion "
            << result.value("resourceVersion", "") << ")\n";
    return kExitOk;
  }
}

}  // namespace weft::control::cli
