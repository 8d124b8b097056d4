"""HTTPRoute through real sidecars (issue #3): a 90/10 canary split, a header-pinned
canary, requests that match no rule, and the route / dst_subset metric labels.

web sidecar (issue #3's YAML) -> reviews sidecar v1 -> nginx answering "v1"
                              -> reviews sidecar v2 -> nginx answering "v2"
"""

import pytest

import fleet as F
import load
import mesh as M
from stats import binomial_bounds

# issue #3's HTTPRoute and DestinationPolicy, as written there
ROUTE = """
- matches: [{headers: [{name: canary, value: "true"}]}]
  backendRefs: [{name: reviews, subset: v2}]
- matches: [{path: {type: PathPrefix, value: /api}}]
  backendRefs:
    - {name: reviews, subset: v1, weight: 90}
    - {name: reviews, subset: v2, weight: 10}
  timeouts: {request: 5s}
  retry: {attempts: 2, perTryTimeout: 1s, on: [connect-failure, refused-stream, "503"]}
"""
POLICY = F.policy_yaml(
    loadBalancer="least_request",
    connectionPool="{maxConnections: 100, maxPendingRequests: 50, maxRequests: 1024, "
                   "maxRetries: 3, connectTimeout: 2s}",
    outlierDetection="{consecutive5xx: 5, consecutiveGatewayErrors: 5, interval: 10s, "
                     "baseEjectionTime: 30s, maxEjectionPercent: 50}",
    retryBudget="{percent: 20, minRetriesPerSecond: 10}")

N_SPLIT = 10_000
N_CANARY = 200
V1, V2 = b"v1\n", b"v2\n"
OUT = dict(direction="outbound", dst_service=F.DST_SERVICE)


def mesh_yaml(addrs):
    # plus `ratings`: a Service without HTTPRoutes (its v1 endpoint is reviews' v1 sidecar)
    return F.documents(F.service_yaml(addrs), F.route_yaml(ROUTE), POLICY,
                       F.service_yaml({"v1": addrs["v1"]}, name="ratings", subsets=False))


@pytest.fixture(scope="module")
def fleet(module_proxies, version_apps):
    return F.start_fleet(module_proxies, {v: a.port for v, a in version_apps.items()},
                         mesh_yaml, client_workers=2)


def golden(proxy, **labels):
    """(request_total, response_total, response_latency_ms_count) for these labels."""
    s = proxy.metrics()
    return (M.metric_sum(s, "request_total", **labels),
            M.metric_sum(s, "response_total", **labels),
            M.metric_sum(s, "response_latency_ms_count", **labels))


def assert_golden_grew(proxy, before, n, **labels):
    F.settled(proxy, before[1] + n, "response_total", **labels)
    after = golden(proxy, **labels)
    grown = tuple(a - b for a, b in zip(after, before))
    assert grown == (n, n, n), \
        f"{labels}: (request_total, response_total, response_latency_ms_count) grew by {grown}, " \
        f"expected {n} each"


def test_split_90_10_over_10000_requests(fleet):
    before = {v: golden(fleet.client, route="reviews", dst_subset=v, **OUT) for v in ("v1", "v2")}
    results = load.run(fleet.client.outbound, F.SERVICE, N_SPLIT, path="/api", threads=4)
    bad = [r for r in results if r.status != 200 or r.body not in (V1, V2)]
    assert not bad, f"{len(bad)} of {N_SPLIT} requests failed: {load.tally(bad).most_common(5)}"
    n2 = sum(1 for r in results if r.body == V2)
    n1 = N_SPLIT - n2
    lo, hi = binomial_bounds(N_SPLIT, 0.10)  # a fair 10% split fails 1 run in 10^6
    assert lo <= n2 <= hi, f"v2 got {n2} of {N_SPLIT} requests (want {lo}..{hi})"
    # each request is counted once, under the route and the subset it went to
    assert_golden_grew(fleet.client, before["v1"], n1, route="reviews", dst_subset="v1", **OUT)
    assert_golden_grew(fleet.client, before["v2"], n2, route="reviews", dst_subset="v2", **OUT)


def test_split_holds_on_longer_paths_under_prefix(fleet):
    results = load.run(fleet.client.outbound, F.SERVICE, 1000, path="/api/reviews/7?x=1")
    assert {r.status for r in results} == {200}, load.tally(results)
    n2 = sum(1 for r in results if r.body == V2)
    assert n2 + sum(1 for r in results if r.body == V1) == 1000, load.tally(results)
    # 10% of 1000: 4.5 standard deviations either side
    assert 55 <= n2 <= 145, f"v2 got {n2} of 1000"


@pytest.mark.parametrize("path", ["/reviews/1", "/", "/api", "/api/reviews/7?x=1"])
def test_canary_header_always_reaches_v2(fleet, path):
    # Under /api the 90/10 rule matches too: a header match without a path outranks path
    # prefixes (docs/policy.md, "Which rule a request takes"), so testers stay pinned.
    before = golden(fleet.client, route="reviews", dst_subset="v2", **OUT)
    c = fleet.client_for()
    try:
        results = [c.get(path, {"canary": "true"}) for _ in range(N_CANARY)]
    finally:
        c.close()
    assert all(r.status == 200 and r.body == V2 for r in results), load.tally(results)
    assert_golden_grew(fleet.client, before, N_CANARY, route="reviews", dst_subset="v2", **OUT)


@pytest.mark.parametrize("path,headers", [
    ("/reviews/1", {}),
    ("/", {}),
    ("/apix", {}),  # PathPrefix matches whole path elements
    ("/API", {}),  # and is case-sensitive
    ("/reviews/1", {"canary": "false"}),  # header values match exactly
    ("/reviews/1", {"canary": "TRUE"}),
])
def test_request_matching_no_rule_is_404_no_route(fleet, version_apps, path, headers):
    served = {v: a.requests() for v, a in version_apps.items()}
    c = fleet.client_for()
    try:
        r = c.get(path, headers)
        ok = c.get("/api")  # and the client sidecar still routes
    finally:
        c.close()
    assert r.status == 404, r
    assert "no route" in (r.weft_error or ""), f"x-weft-error must say 'no route': {r}"
    assert b"no route" in r.body, f"generated 404 must give the reason in its body: {r}"
    assert ok.status == 200 and ok.body in (V1, V2), ok
    assert M.wait_until(lambda: sum(a.requests() for a in version_apps.values())
                        == sum(served.values()) + 1, 2.0), "only /api should reach an app"


def test_service_without_routes_labelled_default(fleet):
    lbl = dict(direction="outbound", dst_service=f"ratings.{M.NAMESPACE}", route="default",
               dst_subset="")
    before = golden(fleet.client, **lbl)
    results = load.run(fleet.client.outbound, "ratings", 50, path="/anything", threads=1)
    assert all(r.status == 200 and r.body == V1 for r in results), load.tally(results)
    assert_golden_grew(fleet.client, before, 50, **lbl)


def test_outbound_golden_metrics_carry_route_and_subset(fleet):
    load.run(fleet.client.outbound, F.SERVICE, 20, path="/api", threads=1)
    samples = fleet.client.metrics()
    for name in ("request_total", "response_total", "response_latency_ms_count"):
        series = M.select(samples, name, direction="outbound")
        assert series, f"no outbound {name}"
        missing = [s.labels for s in series if "route" not in s.labels
                   or "dst_subset" not in s.labels]
        assert not missing, f"outbound {name} series without route/dst_subset: {missing}"
        routed = {(s.labels["route"], s.labels["dst_subset"])
                  for s in series if s.labels.get("dst_service") == F.DST_SERVICE}
        assert {("reviews", "v1"), ("reviews", "v2")} <= routed, routed


@pytest.mark.parametrize("which", ["client", "v1"])
def test_promtool_accepts_metrics(fleet, which):
    load.run(fleet.client.outbound, F.SERVICE, 20, path="/api", threads=1)
    proxy = fleet.client if which == "client" else fleet.backends[which]
    problems = F.promtool_problems(proxy.metrics_text())
    assert not problems, "unexpected promtool complaints:\n" + "\n".join(problems)


def test_rule_with_all_weights_zero_is_refused(module_proxies, version_apps):
    """No request can meet a rule whose weights add up to 0: the config is refused, with the
    field and the reason (the pipeline's 500 for it is a guard that no config reaches)."""
    zero = """
    - backendRefs:
        - {name: reviews, subset: v1, weight: 0}
        - {name: reviews, subset: v2, weight: 0}
    """
    with pytest.raises(M.ProxyStartError) as refused:
        F.start_fleet(module_proxies, {v: a.port for v, a in version_apps.items()},
                      lambda addrs: F.documents(F.service_yaml(addrs), F.route_yaml(zero)))
    assert "spec.rules[0].backendRefs: weights add up to 0" in str(refused.value), refused.value
