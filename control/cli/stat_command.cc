#include "control/cli/stat_command.h"

#include <cstdio>
#include <nlohmann/json.hpp>

#include "common/strings.h"
#include "control/api/duration.h"
#include "control/cli/output.h"
#include "control/cli/stat_sources.h"

namespace weft::control::cli {
namespace {

using nlohmann::json;

constexpr std::chrono::milliseconds kMaxScrapeWindow = std::chrono::minutes(5);

std::string fixed(double v, int digits) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.*f", digits, v);
  return buf;
}

void printJson(CommandContext& ctx, const StatTarget& target, StatFigures& figures,
               const std::string& window, const std::string& source) {
  json rows = json::array();
  for (const auto& [key, rps] : figures["rps"]) {
    json row;
    for (size_t i = 0; i < key.size(); ++i) row[target.by[i]] = key[i];
    row["requestsPerSecond"] = rps;
    for (const char* k : {"success", "p50", "p95", "p99"}) {
      auto it = figures[k].find(key);
      const std::string field =
          std::string(k) == "success" ? "successRate" : weft::strCat("latencyMs", k);
      row[field] =
          it != figures[k].end() && it->second == it->second ? json(it->second) : json(nullptr);
    }
    rows.push_back(row);
  }
  ctx.out << json{{"window", window}, {"source", source}, {"rows", rows}}.dump(2) << "\n";
}

void printText(CommandContext& ctx, const StatTarget& target, StatFigures& figures) {
  std::vector<std::vector<std::string>> table = {target.header};
  for (const char* h : {"SUCCESS", "RPS", "LATENCY_P50", "LATENCY_P95", "LATENCY_P99"}) {
    table[0].push_back(h);
  }
  auto cell = [&](const char* k, const std::vector<std::string>& key, bool percent) {
    auto it = figures[k].find(key);
    if (it == figures[k].end() || it->second != it->second) return std::string("-");
    return percent ? fixed(100 * it->second, 2) + "%" : fixed(it->second, 0) + "ms";
  };
  for (const auto& [key, rps] : figures["rps"]) {
    std::vector<std::string> row;
    for (const std::string& k : key) row.push_back(k.empty() ? "-" : k);
    row.push_back(cell("success", key, true));
    row.push_back(fixed(rps, 1));
    row.push_back(cell("p50", key, false));
    row.push_back(cell("p95", key, false));
    row.push_back(cell("p99", key, false));
    table.push_back(std::move(row));
  }
  printTable(ctx.out, table);
}

}  // namespace

int stat(CommandContext& ctx) {
  const std::string what = "stat";
  if (auto st = ctx.args.onlyFlags({"namespace", "prometheus", "window"}); !st.ok()) {
    return fail(ctx.err, what, st);
  }
  const std::string ns = ctx.args.get("namespace", "default");
  auto target = statTargetOf(ctx.args.words, ns);
  if (!target.ok()) return fail(ctx.err, what, target.status());
  const std::string url = ctx.args.get("prometheus");
  // Prometheus has the scrapes already: a rate over the last minute. The proxies are read now,
  // so their window is waited out: a shorter one.
  const std::string window = ctx.args.get("window", url.empty() ? "10s" : "1m");
  const std::optional<api::Duration> span = api::parseDuration(window);
  if (!span || *span < std::chrono::seconds(1) || (url.empty() && *span > kMaxScrapeWindow)) {
    return fail(
        ctx.err, what,
        absl::InvalidArgumentError(weft::strCat(
            "--window: want a duration of at least 1s like 1m",
            url.empty() ? " (at most 5m when reading the proxies)" : "", ", got '", window, "'")));
  }
  absl::StatusOr<StatFigures> figures = absl::UnknownError("");
  std::string source;
  if (!url.empty()) {
    auto prometheus = ApiClient::create(url, "", ctx.global.timeout);
    if (!prometheus.ok()) return fail(ctx.err, what, prometheus.status());
    figures = statFromPrometheus(*prometheus, *target, window);
    source = url;
    if (!figures.ok()) {
      ctx.err << "weftctl: stat: " << url << ": " << figures.status().message() << "\n";
      return kExitUnreachable;
    }
  } else {
    int exit = kExitOk;
    auto proxies = request(ctx, what, "GET", "/v1/proxies", exit);
    if (!proxies) return exit;
    const std::vector<std::string> admins = proxyAdmins(proxies->body, *target);
    figures = statFromProxies(ctx, *target, admins, *span);
    source = weft::strCat(admins.size(), " proxies' /metrics");
    if (figures.status().code() == absl::StatusCode::kNotFound) {
      return fail(ctx.err, what, figures.status());
    }
    if (!figures.ok()) {
      ctx.err << "weftctl: stat: " << figures.status().message() << "\n";
      return kExitUnreachable;
    }
  }
  if (ctx.global.output == "json" || ctx.global.output == "yaml") {
    printJson(ctx, *target, *figures, window, source);
    return kExitOk;
  }
  if ((*figures)["rps"].empty()) {
    ctx.err << "no traffic in the last " << window << " (" << target->selector << ")\n";
    return kExitOk;
  }
  printText(ctx, *target, *figures);
  return kExitOk;
}

}  // namespace weft::control::cli
