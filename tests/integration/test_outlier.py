"""Outlier detection (issue #3): an endpoint whose app answers 503 (or is gone) is
ejected after consecutive 5xx, the success rate recovers while the other endpoint
is healthy, and the ejected endpoint gets traffic again after baseEjectionTime.

web sidecar -> reviews sidecar v1 -> nginx "v1" (healthy)
            -> reviews sidecar v2 -> nginx answering 503 / no app at all
"""

import time

import pytest

import fleet as F
import load
import mesh as M

V1 = b"v1\n"
SVC = dict(dst_service=F.DST_SERVICE)


def mesh_yaml(base_ejection: str, balancer: str = "least_request"):
    def build(addrs):
        policy = F.policy_yaml(loadBalancer=balancer, outlierDetection=(
            "{consecutive5xx: 3, consecutiveGatewayErrors: 3, interval: 1s, "
            f"baseEjectionTime: {base_ejection}, maxEjectionPercent: 50}}"))
        return F.documents(F.service_yaml(addrs, subsets=False), policy)
    return build


def failing_fleet(proxies, make_app, failure: str, config):
    good = make_app("v1")
    bad = make_app("v2", status=503 if failure == "app-503" else 200)
    fleet = F.start_fleet(proxies, {"v1": good.port, "v2": bad.port}, config)
    if failure == "app-down":
        bad.stop()  # its sidecar now answers 503: the app refuses connections
    return fleet, bad


def send_until_ejected(fleet, n_max: int = 500, limit: float = 10.0) -> list[load.Result]:
    """Requests one after another until outlier_ejections_total >= 1 (bounded)."""
    c, sent = fleet.client_for(), []
    deadline = time.monotonic() + limit
    try:
        while len(sent) < n_max and time.monotonic() < deadline:
            sent.append(c.get("/"))
            if len(sent) % 5 == 0 and F.metric(fleet.client, "outlier_ejections_total", **SVC):
                break
    finally:
        c.close()
    return sent


@pytest.mark.parametrize("failure", ["app-503", "app-down"])
def test_failing_endpoint_ejected_success_recovers(proxies, make_app, failure):
    fleet, bad = failing_fleet(proxies, make_app, failure, mesh_yaml("30s"))
    warmup = send_until_ejected(fleet)
    assert any(r.status >= 500 for r in warmup), \
        f"no request reached the failing endpoint: {load.tally(warmup)}"
    ejections = F.metric(fleet.client, "outlier_ejections_total", **SVC)
    assert ejections >= 1, f"no ejection after {len(warmup)} requests: {load.tally(warmup)}"

    results = load.run(fleet.client.outbound, F.SERVICE, 1000, path="/", threads=2)
    ok = sum(1 for r in results if r.status == 200 and r.body == V1)
    assert ok >= 999, f"success rate {ok / 10:.1f}% over 1000 requests after the ejection " \
                      f"(want >= 99.9%): {load.tally(results)}"

    samples = fleet.client.metrics()
    assert M.metric_sum(samples, "outlier_ejected_endpoints", **SVC) == 1, \
        "outlier_ejected_endpoints must show the one ejected endpoint " \
        f"(30 s ejection, 50% of 2): {M.select(samples, 'outlier_ejected_endpoints')}"
    assert M.metric_sum(samples, "outlier_ejections_total", **SVC) == ejections, \
        "the healthy endpoint must not be ejected"
    text = fleet.client.metrics_text()
    assert "# TYPE outlier_ejected_endpoints gauge" in text
    problems = F.promtool_problems(text)
    assert not problems, "unexpected promtool complaints:\n" + "\n".join(problems)


def test_never_more_than_max_ejection_percent(proxies, make_app):
    """Both endpoints fail: with maxEjectionPercent 50 of 2 only one is ever ejected."""
    apps = {v: make_app(v, status=503) for v in ("v1", "v2")}
    fleet = F.start_fleet(proxies, {v: a.port for v, a in apps.items()}, mesh_yaml("30s"))
    results = load.run(fleet.client.outbound, F.SERVICE, 100, path="/", threads=1)
    assert {r.status for r in results} == {503}, load.tally(results)
    assert {r.body for r in results} <= {b"v1 says 503\n", b"v2 says 503\n"}, \
        f"with every endpoint failing, requests still go to one: {load.tally(results)}"
    samples = fleet.client.metrics()
    assert M.metric_sum(samples, "outlier_ejections_total", **SVC) == 1, \
        M.select(samples, "outlier_ejections_total")
    assert M.metric_sum(samples, "outlier_ejected_endpoints", **SVC) == 1, \
        M.select(samples, "outlier_ejected_endpoints")


def test_ejected_endpoint_returns_after_base_ejection_time(proxies, make_app):
    # round robin: once back, the endpoint's turn comes at once
    fleet, bad = failing_fleet(proxies, make_app, "app-503", mesh_yaml("2s", "round_robin"))
    send_until_ejected(fleet)
    t_ejected = time.monotonic()
    assert F.metric(fleet.client, "outlier_ejections_total", **SVC) == 1
    served = bad.requests()

    # light traffic: the failing endpoint gets requests again once its 2 s are over
    # (1 s interval of slack), and is then ejected a second time
    c = fleet.client_for()
    try:
        def returned() -> bool:
            c.get("/")
            return bad.requests() > served
        assert M.wait_until(returned, 8.0, 0.05), \
            "the ejected endpoint got no traffic within 8 s of a 2 s ejection"
        t_back = time.monotonic()

        def ejected_again() -> bool:
            c.get("/")
            return F.metric(fleet.client, "outlier_ejections_total", **SVC) >= 2
        assert M.wait_until(ejected_again, 5.0, 0.02), \
            "the returned endpoint, still failing, was not ejected again"
    finally:
        c.close()
    assert t_back - t_ejected >= 1.5, \
        f"the endpoint got traffic {t_back - t_ejected:.2f} s into a 2 s ejection"
    # With no traffic at all, the gauge still comes down once the (4 s) second ejection ends:
    # the worker's periodic sweep (every 5 s) expires it.
    assert M.wait_until(
        lambda: F.metric(fleet.client, "outlier_ejected_endpoints", **SVC) == 0, 12.0, 0.2), \
        "outlier_ejected_endpoints still counts an endpoint whose ejection ended"
