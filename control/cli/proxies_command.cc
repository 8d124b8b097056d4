#include "control/cli/proxies_command.h"

#include <nlohmann/json.hpp>

#include "common/strings.h"
#include "control/cli/output.h"

namespace weft::control::cli {
namespace {

using nlohmann::json;

std::string labelsText(const json& labels) {
  std::vector<std::string> out;
  if (labels.is_object()) {
    for (const auto& [k, v] : labels.items()) {
      out.push_back(weft::strCat(k, "=", v.is_string() ? v.get<std::string>() : v.dump()));
    }
  }
  return out.empty() ? "-" : weft::join(out, ",");
}

std::string expiresIn(const json& p) {
  if (!p.contains("certExpiresIn")) return "-";
  const int64_t s = p.value("certExpiresIn", int64_t{0});
  if (s >= 3600) return weft::strCat(s / 3600, "h", (s % 3600) / 60, "m");
  if (s >= 60) return weft::strCat(s / 60, "m", s % 60, "s");
  return weft::strCat(s, "s");
}

}  // namespace

int proxies(CommandContext& ctx) {
  const std::string what = "proxies";
  if (auto st = ctx.args.onlyFlags({}); !st.ok()) return fail(ctx.err, what, st);
  int exit = kExitOk;
  auto response = request(ctx, what, "GET", "/v1/proxies", exit);
  if (!response) return exit;
  if (ctx.global.output != "text") {
    ctx.out << response->body << "\n";
    return kExitOk;
  }
  const json doc = json::parse(response->body, nullptr, false);
  const json list = doc.value("proxies", json::array());
  if (list.empty()) {
    ctx.err << "no proxy is connected (mesh version " << doc.value("version", "") << ")\n";
    return kExitOk;
  }
  std::vector<std::vector<std::string>> rows = {
      {"SERVICE", "ADDRESS", "LABELS", "IDENTITY", "VERSION", "STATUS", "CERT EXPIRES"}};
  std::vector<std::string> reasons;
  for (const json& p : list) {
    const std::string status = p.value("status", "");
    rows.push_back({weft::strCat(p.value("service", "-"), ".", p.value("namespace", "-")),
                    p.value("address", "-"), labelsText(p.value("labels", json::object())),
                    p.value("identity", ""), p.value("version", ""), status, expiresIn(p)});
    if (p.contains("reason")) {
      reasons.push_back(weft::strCat(p.value("service", ""), ".", p.value("namespace", ""), " at ",
                                     p.value("address", ""), ": ", p.value("reason", "")));
    }
  }
  printTable(ctx.out, rows);
  for (const std::string& r : reasons) ctx.out << "NACKED " << r << "\n";
  return kExitOk;
}

int authzCheck(CommandContext& ctx) {
  const std::string what = "authz check";
  if (auto st = ctx.args.onlyFlags({"from", "to", "namespace", "method", "path"}); !st.ok()) {
    return fail(ctx.err, what, st);
  }
  if (ctx.args.get("from").empty() || ctx.args.get("to").empty()) {
    return fail(ctx.err, what, absl::InvalidArgumentError("--from and --to are required"));
  }
  const json body = {{"from", ctx.args.get("from")},
                     {"to", ctx.args.get("to")},
                     {"namespace", ctx.args.get("namespace", "default")},
                     {"method", ctx.args.get("method", "GET")},
                     {"path", ctx.args.get("path", "/")}};
  int exit = kExitOk;
  auto response = request(ctx, what, "POST", "/v1/authz/check", exit, body.dump());
  if (!response) return exit;
  const json doc = json::parse(response->body, nullptr, false);
  const bool allowed = doc.value("allowed", false);
  if (ctx.global.output != "text") {
    ctx.out << response->body << "\n";
  } else {
    ctx.out << (allowed ? "ALLOWED: " : "DENIED: ") << doc.value("reason", "") << "\n";
  }
  return allowed ? kExitOk : kExitDenied;
}

}  // namespace weft::control::cli
