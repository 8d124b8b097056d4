#include "control/cli/ca_commands.h"

#include <ostream>

#include <nlohmann/json.hpp>

#include "control/cli/output.h"

namespace weft::control::cli {
namespace {

std::string shortFingerprint(const std::string& fp) { return fp.substr(0, 23); }

}  // namespace

int tokenCreate(CommandContext& ctx) {
  const std::string what = "token create";
  if (auto st = ctx.args.onlyFlags({"namespace", "service-account", "ttl"}); !st.ok()) {
    return fail(ctx.err, what, st);
  }
  if (ctx.args.get("namespace").empty() || ctx.args.get("service-account").empty()) {
    return fail(ctx.err, what,
                absl::InvalidArgumentError("--namespace and --service-account are required"));
  }
  const nlohmann::json body = {{"namespace", ctx.args.get("namespace")},
                               {"serviceAccount", ctx.args.get("service-account")},
                               {"ttl", ctx.args.get("ttl", "24h")}};
  int exit = kExitOk;
  auto response = request(ctx, what, "POST", "/v1/tokens", exit, body.dump());
  if (!response) return exit;
  const nlohmann::json doc = nlohmann::json::parse(response->body, nullptr, false);
  if (ctx.global.output == "json") {
    ctx.out << response->body;
    return kExitOk;
  }
  // The token alone on stdout (`weftctl token create … > web.token`); what it is on stderr.
  ctx.out << doc.value("token", "") << "\n";
  ctx.err << "join token for " << doc.value("identity", "") << ", valid until "
          << doc.value("expiresAt", "") << "\n";
  return kExitOk;
}

int caBundle(CommandContext& ctx) {
  const std::string what = "ca bundle";
  if (auto st = ctx.args.onlyFlags({}); !st.ok()) return fail(ctx.err, what, st);
  int exit = kExitOk;
  auto response = request(ctx, what, "GET", "/v1/ca/bundle", exit);
  if (!response) return exit;
  if (ctx.global.output == "json") {
    ctx.out << nlohmann::json({{"trustBundle", response->body}}).dump(2) << "\n";
  } else {
    ctx.out << response->body;
  }
  return kExitOk;
}

int caStatus(CommandContext& ctx) {
  const std::string what = "ca status";
  if (auto st = ctx.args.onlyFlags({}); !st.ok()) return fail(ctx.err, what, st);
  int exit = kExitOk;
  auto response = request(ctx, what, "GET", "/v1/ca/status", exit);
  if (!response) return exit;
  if (ctx.global.output == "json") {
    ctx.out << response->body;
    return kExitOk;
  }
  const nlohmann::json doc = nlohmann::json::parse(response->body, nullptr, false);
  if (!doc.is_object()) {
    return fail(ctx.err, what, absl::InternalError("weft-control answered with malformed JSON"));
  }
  const nlohmann::json rotation = doc.value("rotation", nlohmann::json::object());
  ctx.out << "trust domain: " << doc.value("trustDomain", "") << "\n"
          << "phase:        " << doc.value("phase", "") << " (trust bundle version "
          << rotation.value("bundleVersion", 0) << ")\n";
  if (rotation.contains("waitingFor")) {
    ctx.out << "waiting for:  " << rotation.value("waitingFor", "") << "\n";
  }
  ctx.out << "cert ttl:     " << doc.value("certTtl", "") << "\n\n";
  std::vector<std::vector<std::string>> cas = {{"ROLE", "SUBJECT", "NOT AFTER", "FINGERPRINT"}};
  for (const auto& root : doc.value("roots", nlohmann::json::array())) {
    cas.push_back({"root", root.value("subject", ""), root.value("notAfter", ""),
                   shortFingerprint(root.value("fingerprint", ""))});
  }
  const nlohmann::json issuer = doc.value("issuer", nlohmann::json::object());
  cas.push_back({issuer.value("operatorSupplied", false) ? "issuer (operator's)" : "issuer",
                 issuer.value("subject", ""), issuer.value("notAfter", ""),
                 shortFingerprint(issuer.value("fingerprint", ""))});
  printTable(ctx.out, cas);
  ctx.out << "\n";
  const nlohmann::json holders = doc.value("holders", nlohmann::json::array());
  if (holders.empty()) {
    ctx.out << "no workload holds a certificate from this CA\n";
    return kExitOk;
  }
  std::vector<std::vector<std::string>> rows = {
      {"IDENTITY", "SERIAL", "ISSUER", "BUNDLE", "EXPIRES", "PEER"}};
  for (const auto& h : holders) {
    rows.push_back({h.value("identity", ""), h.value("serial", ""),
                    shortFingerprint(h.value("issuer", "")),
                    std::to_string(h.value("bundleVersion", 0)), h.value("notAfter", ""),
                    h.value("peer", "")});
  }
  printTable(ctx.out, rows);
  return kExitOk;
}

int caRotate(CommandContext& ctx) {
  const bool finish = ctx.args.flags.contains("finish");
  const std::string what = finish ? "ca rotate --finish" : "ca rotate";
  if (auto st = ctx.args.onlyFlags({"finish"}); !st.ok()) return fail(ctx.err, what, st);
  if (finish && ctx.args.get("finish") != "true") {
    return fail(ctx.err, what, absl::InvalidArgumentError("--finish takes no value"));
  }
  int exit = kExitOk;
  auto response =
      request(ctx, what, "POST", finish ? "/v1/ca/rotate/finish" : "/v1/ca/rotate", exit, "{}");
  if (!response) return exit;
  if (ctx.global.output == "json") {
    ctx.out << response->body;
    return kExitOk;
  }
  const nlohmann::json doc = nlohmann::json::parse(response->body, nullptr, false);
  ctx.out << "phase: " << doc.value("phase", "") << " (trust bundle version "
          << doc.value("bundleVersion", 0) << ")\n";
  if (doc.contains("waitingFor")) ctx.out << "waiting for " << doc.value("waitingFor", "") << "\n";
  return kExitOk;
}

}  // namespace weft::control::cli
