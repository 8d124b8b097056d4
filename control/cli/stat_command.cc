#include "control/cli/stat_command.h"

#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>

#include "common/strings.h"
#include "control/cli/output.h"

namespace weft::control::cli {
namespace {

using nlohmann::json;

std::string urlEncode(std::string_view s) {
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      char buf[4];
      std::snprintf(buf, sizeof(buf), "%%%02X", c);
      out += buf;
    }
  }
  return out;
}

// What a row is keyed on, and the selector, for each way of asking.
struct Target {
  std::string selector;             // PromQL label matchers, without braces
  std::vector<std::string> by;      // the row's labels
  std::vector<std::string> header;  // their column names
};

absl::StatusOr<Target> targetOf(const std::vector<std::string>& words, const std::string& ns) {
  std::string kind, name;
  if (words.size() == 3) {
    kind = words[1];
    name = words[2];
  } else if (words.size() == 2 && words[1].find('/') != std::string::npos) {
    kind = words[1].substr(0, words[1].find('/'));
    name = words[1].substr(words[1].find('/') + 1);
  } else {
    return absl::InvalidArgumentError("want `stat service NAME` or `stat deploy/NAME`");
  }
  if (name.empty() || name.find_first_of("\"\\{}") != std::string::npos) {
    return absl::InvalidArgumentError(weft::strCat("'", name, "' is not a name"));
  }
  if (kind == "service" || kind == "svc" || kind == "services") {
    return Target{weft::strCat("direction=\"outbound\",dst_service=\"", name, ".", ns, "\""),
                  {"dst_subset", "route"},
                  {"SUBSET", "ROUTE"}};
  }
  if (kind == "deploy" || kind == "deployment" || kind == "deployments") {
    return Target{weft::strCat("direction=\"outbound\",app=\"", name, "\",namespace=\"", ns, "\""),
                  {"dst_service", "dst_subset"},
                  {"TO SERVICE", "SUBSET"}};
  }
  return absl::InvalidArgumentError(
      weft::strCat("unknown kind '", kind, "': service (svc) or deploy (deployment)"));
}

// One instant query; its samples as (row key, value).
absl::StatusOr<std::map<std::vector<std::string>, double>> query(
    const ApiClient& prometheus, const std::string& promql, const std::vector<std::string>& by) {
  auto r = prometheus.call("GET", "/api/v1/query?query=" + urlEncode(promql));
  if (!r.ok()) return r.status();
  const json doc = json::parse(r->body, nullptr, false);
  if (r->status != 200 || !doc.is_object() || doc.value("status", "") != "success") {
    return absl::UnavailableError(
        weft::strCat("Prometheus answered ", r->status, ": ",
                     doc.is_object() ? doc.value("error", r->body) : r->body.substr(0, 200)));
  }
  std::map<std::vector<std::string>, double> out;
  for (const json& sample : doc["data"].value("result", json::array())) {
    std::vector<std::string> key;
    const json metric = sample.value("metric", json::object());
    for (const std::string& label : by) key.push_back(metric.value(label, ""));
    const json value = sample.value("value", json::array());
    if (value.size() == 2 && value[1].is_string()) {
      out[key] = std::strtod(value[1].get<std::string>().c_str(), nullptr);
    }
  }
  return out;
}

std::string fixed(double v, int digits) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.*f", digits, v);
  return buf;
}

}  // namespace

int stat(CommandContext& ctx) {
  const std::string what = "stat";
  if (auto st = ctx.args.onlyFlags({"namespace", "prometheus", "window"}); !st.ok()) {
    return fail(ctx.err, what, st);
  }
  const std::string ns = ctx.args.get("namespace", "default");
  auto target = targetOf(ctx.args.words, ns);
  if (!target.ok()) return fail(ctx.err, what, target.status());
  const std::string url = ctx.args.get("prometheus");
  if (url.empty()) {
    return fail(ctx.err, what,
                absl::InvalidArgumentError(
                    "--prometheus URL is required (the Prometheus that scrapes the mesh, "
                    "deploy/prometheus)"));
  }
  const std::string window = ctx.args.get("window", "1m");
  if (window.empty() || window.find_first_not_of("0123456789smhd") != std::string::npos) {
    return fail(ctx.err, what, absl::InvalidArgumentError("--window: want a duration like 1m"));
  }
  auto prometheus = ApiClient::create(url, "", ctx.global.timeout);
  if (!prometheus.ok()) return fail(ctx.err, what, prometheus.status());

  const std::string by = weft::join(target->by, ", ");
  const std::string sel = target->selector;
  auto rate = [&](const std::string& metric, const std::string& extra) {
    return weft::strCat("sum by (", by, ") (rate(", metric, "{", sel, extra, "}[", window, "]))");
  };
  auto quantile = [&](const char* q) {
    return weft::strCat("histogram_quantile(", q, ", sum by (", by, ", le) (rate(",
                        "response_latency_ms_bucket{", sel, "}[", window, "])))");
  };
  const std::vector<std::pair<std::string, std::string>> queries = {
      {"rps", rate("request_total", "")},
      {"success", weft::strCat(rate("response_total", ",classification=\"success\""), " / ",
                               rate("response_total", ""))},
      {"p50", quantile("0.5")},
      {"p95", quantile("0.95")},
      {"p99", quantile("0.99")},
  };
  std::map<std::string, std::map<std::vector<std::string>, double>> results;
  for (const auto& [name, promql] : queries) {
    auto r = query(*prometheus, promql, target->by);
    if (!r.ok()) {
      ctx.err << "weftctl: stat: " << url << ": " << r.status().message() << "\n";
      return kExitUnreachable;
    }
    results[name] = std::move(*r);
  }
  const auto& rows_by_key = results["rps"];
  if (ctx.global.output == "json" || ctx.global.output == "yaml") {
    json rows = json::array();
    for (const auto& [key, rps] : rows_by_key) {
      json row;
      for (size_t i = 0; i < key.size(); ++i) row[target->by[i]] = key[i];
      row["requestsPerSecond"] = rps;
      for (const char* k : {"success", "p50", "p95", "p99"}) {
        auto it = results[k].find(key);
        const std::string field =
            std::string(k) == "success" ? "successRate" : weft::strCat("latencyMs", k);
        row[field] =
            it != results[k].end() && it->second == it->second ? json(it->second) : json(nullptr);
      }
      rows.push_back(row);
    }
    ctx.out << json{{"window", window}, {"rows", rows}}.dump(2) << "\n";
    return kExitOk;
  }
  if (rows_by_key.empty()) {
    ctx.err << "no traffic in the last " << window << " (" << target->selector << ")\n";
    return kExitOk;
  }
  std::vector<std::vector<std::string>> table = {target->header};
  for (const char* h : {"SUCCESS", "RPS", "LATENCY_P50", "LATENCY_P95", "LATENCY_P99"}) {
    table[0].push_back(h);
  }
  auto cell = [&](const char* k, const std::vector<std::string>& key, bool percent) {
    auto it = results[k].find(key);
    if (it == results[k].end() || it->second != it->second) return std::string("-");
    return percent ? fixed(100 * it->second, 2) + "%" : fixed(it->second, 0) + "ms";
  };
  for (const auto& [key, rps] : rows_by_key) {
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
  return kExitOk;
}

}  // namespace weft::control::cli
