// `weftctl stat` without Prometheus: the proxies' own /metrics, read twice a window apart.

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>
#include <thread>

#include "common/strings.h"
#include "control/cli/metrics_text.h"
#include "control/cli/stat_sources.h"

namespace weft::control::cli {
namespace {

using nlohmann::json;

struct Scraped {
  std::string admin;
  std::vector<MetricSample> samples;
};

// A series' identity: its name and every label.
std::string seriesKey(const MetricSample& s) {
  std::string key = s.name;
  for (const auto& [k, v] : s.labels) key += weft::strCat("\n", k, "=", v);
  return key;
}

std::string labelOf(const MetricSample& s, const std::string& name) {
  auto it = s.labels.find(name);
  return it == s.labels.end() ? std::string() : it->second;
}

// One proxy's /metrics. No admin token: it is weft-control's, not the proxies'.
absl::StatusOr<std::vector<MetricSample>> scrape(const std::string& admin,
                                                 std::chrono::milliseconds timeout) {
  auto client = ApiClient::create(admin, "", timeout);
  if (!client.ok()) return client.status();
  auto r = client->call("GET", "/metrics");
  if (!r.ok()) return r.status();
  if (r->status != 200)
    return absl::UnavailableError(weft::strCat("/metrics answered ", r->status));
  return parseMetricsText(r->body);
}

std::vector<Scraped> scrapeAll(CommandContext& ctx, const std::vector<std::string>& admins) {
  std::vector<Scraped> out;
  for (const std::string& admin : admins) {
    auto samples = scrape(admin, ctx.global.timeout);
    if (!samples.ok()) {
      ctx.err << "weftctl: stat: proxy admin " << admin << ": " << samples.status().message()
              << " (left out)\n";
      continue;
    }
    out.push_back({admin, std::move(*samples)});
  }
  return out;
}

}  // namespace

std::vector<std::string> proxyAdmins(const std::string& proxies_json, const StatTarget& target) {
  const json doc = json::parse(proxies_json, nullptr, false);
  const json list = doc.is_object() ? doc.value("proxies", json::array()) : json::array();
  std::vector<std::string> out;
  for (const json& p : list) {
    const std::string admin = p.value("admin", "");
    if (admin.empty()) continue;  // a proxy that did not say (older than this weftctl)
    if (!target.service) {
      const json labels = p.value("labels", json::object());
      const bool mine = p.value("namespace", "") == target.ns &&
                        (p.value("service", "") == target.name ||
                         (labels.is_object() && labels.value("app", "") == target.name));
      if (!mine) continue;
    }
    out.push_back(admin);
  }
  return out;
}

double histogramQuantile(double q, std::vector<std::pair<double, double>> buckets) {
  std::sort(buckets.begin(), buckets.end());
  if (buckets.empty() || buckets.back().second <= 0) return NAN;
  const double rank = q * buckets.back().second;
  for (size_t i = 0; i < buckets.size(); ++i) {
    const auto [le, count] = buckets[i];
    if (count < rank) continue;
    if (std::isinf(le)) return i > 0 ? buckets[i - 1].first : NAN;
    const double lower = i > 0 ? buckets[i - 1].first : 0;
    const double below = i > 0 ? buckets[i - 1].second : 0;
    if (count == below) return le;
    return lower + (le - lower) * (rank - below) / (count - below);
  }
  return buckets.back().first;
}

absl::StatusOr<StatFigures> statFromProxies(CommandContext& ctx, const StatTarget& target,
                                            const std::vector<std::string>& admins,
                                            std::chrono::milliseconds window) {
  if (admins.empty()) {
    return absl::NotFoundError(target.service
                                   ? "no proxy is connected to weft-control"
                                   : weft::strCat("no proxy of ", target.name, " in namespace ",
                                                  target.ns, " is connected to weft-control"));
  }
  const auto first = scrapeAll(ctx, admins);
  std::this_thread::sleep_for(window);
  const auto second = scrapeAll(ctx, admins);
  if (second.empty()) return absl::UnavailableError("no proxy's /metrics could be read");

  // Each series' growth over the window (a counter that went back restarted: all of it).
  std::map<std::string, double> before;
  for (const Scraped& s : first) {
    for (const MetricSample& m : s.samples) before[s.admin + "\n" + seriesKey(m)] = m.value;
  }
  const std::string dst = weft::strCat(target.name, ".", target.ns);
  std::map<std::vector<std::string>, double> requests, responses, successes;
  std::map<std::vector<std::string>, std::map<double, double>> buckets;
  for (const Scraped& s : second) {
    for (const MetricSample& m : s.samples) {
      if (labelOf(m, "direction") != "outbound") continue;
      if (target.service && labelOf(m, "dst_service") != dst) continue;
      auto it = before.find(s.admin + "\n" + seriesKey(m));
      const double was = it == before.end() ? 0 : it->second;
      const double grew = m.value >= was ? m.value - was : m.value;
      std::vector<std::string> key;
      for (const std::string& label : target.by) key.push_back(labelOf(m, label));
      if (m.name == "request_total") {
        requests[key] += grew;
      } else if (m.name == "response_total") {
        responses[key] += grew;
        if (labelOf(m, "classification") == "success") successes[key] += grew;
      } else if (m.name == "response_latency_ms_bucket") {
        const std::string le = labelOf(m, "le");
        buckets[key][le == "+Inf" ? INFINITY : std::strtod(le.c_str(), nullptr)] += grew;
      }
    }
  }
  const double seconds = std::chrono::duration<double>(window).count();
  StatFigures figures;
  for (const auto& [key, n] : requests) {
    if (n <= 0 && responses[key] <= 0) continue;  // no traffic in the window
    figures["rps"][key] = n / seconds;
    if (responses[key] <= 0) continue;
    figures["success"][key] = successes[key] / responses[key];
    std::vector<std::pair<double, double>> b(buckets[key].begin(), buckets[key].end());
    figures["p50"][key] = histogramQuantile(0.5, b);
    figures["p95"][key] = histogramQuantile(0.95, b);
    figures["p99"][key] = histogramQuantile(0.99, b);
  }
  return figures;
}

}  // namespace weft::control::cli
