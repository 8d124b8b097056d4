// `weftctl stat` from a Prometheus server: the target and five instant queries.

#include <cstdio>
#include <nlohmann/json.hpp>

#include "common/strings.h"
#include "control/cli/stat_sources.h"

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

}  // namespace

absl::StatusOr<StatTarget> statTargetOf(const std::vector<std::string>& words,
                                        const std::string& ns) {
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
    return StatTarget{true,
                      name,
                      ns,
                      weft::strCat("direction=\"outbound\",dst_service=\"", name, ".", ns, "\""),
                      {"dst_subset", "route"},
                      {"SUBSET", "ROUTE"}};
  }
  if (kind == "deploy" || kind == "deployment" || kind == "deployments") {
    return StatTarget{
        false,
        name,
        ns,
        weft::strCat("direction=\"outbound\",app=\"", name, "\",namespace=\"", ns, "\""),
        {"dst_service", "dst_subset"},
        {"TO SERVICE", "SUBSET"}};
  }
  return absl::InvalidArgumentError(
      weft::strCat("unknown kind '", kind, "': service (svc) or deploy (deployment)"));
}

absl::StatusOr<StatFigures> statFromPrometheus(const ApiClient& prometheus,
                                               const StatTarget& target,
                                               const std::string& window) {
  const std::string by = weft::join(target.by, ", ");
  const std::string& sel = target.selector;
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
  StatFigures figures;
  for (const auto& [name, promql] : queries) {
    auto r = query(prometheus, promql, target.by);
    if (!r.ok()) return r.status();
    figures[name] = std::move(*r);
  }
  return figures;
}

}  // namespace weft::control::cli
