"""Retries (issue #3): a killed endpoint's requests are retried on the other one; a
request body over 64 KiB is never retried.  `attempts` counts retries after the
first try.

web sidecar -> reviews sidecar v1 -> nginx "v1"
            -> reviews sidecar v2 -> nginx "v2"
"""

import os

import pytest

import fleet as F
import load
import mesh as M

SVC = dict(dst_service=F.DST_SERVICE)
BUDGET = "{percent: 50, minRetriesPerSecond: 100}"  # never the limit in these tests


def mesh_yaml(retry: str, **policy: str):
    def build(addrs):
        route = F.route_yaml(f"""
            - backendRefs: [{{name: reviews}}]
              retry: {retry}
            """)
        return F.documents(F.service_yaml(addrs, subsets=False), route,
                           F.policy_yaml(retryBudget=BUDGET, **policy))
    return build


def test_retry_recovers_requests_from_killed_endpoint(proxies, version_apps):
    fleet = F.start_fleet(proxies, {v: a.port for v, a in version_apps.items()},
                          mesh_yaml("{attempts: 2, on: [connect-failure]}",
                                    loadBalancer="round_robin"))
    # both endpoints serve, and the client sidecar has a pooled connection to each
    warm = load.run(fleet.client.outbound, F.SERVICE, 20, path="/", threads=1)
    assert {r.body for r in warm} == {b"v1\n", b"v2\n"}, load.tally(warm)
    before = F.metric(fleet.client, "retry_total", **SVC)

    victim = fleet.backends["v2"]
    victim.kill()  # SIGKILL of that sidecar's own PID
    assert M.wait_until(lambda: not M.port_open(victim.inbound), 5), "killed sidecar still listens"

    results = load.run(fleet.client.outbound, F.SERVICE, 200, path="/", threads=1)
    assert all(r.status == 200 and r.body == b"v1\n" for r in results), \
        f"requests failed although v1 was healthy: {load.tally(results)}"
    assert F.metric(fleet.client, "retry_total", **SVC) > before, \
        "retry_total did not count the retries of the requests sent to the killed endpoint"


@pytest.fixture
def failing_fleet(proxies, make_app):
    """Both endpoints answer 503; retry once on 503; nothing is ever ejected, so every
    try reaches an app and shows in its access log."""
    apps = {v: make_app(v, status=503) for v in ("v1", "v2")}
    fleet = F.start_fleet(proxies, {v: a.port for v, a in apps.items()}, mesh_yaml(
        '{attempts: 1, on: ["503"]}', loadBalancer="round_robin",
        outlierDetection="{consecutive5xx: 100000, consecutiveGatewayErrors: 100000}"))
    return fleet, apps


def inbound(fleet) -> float:
    """Requests the backend sidecars took: each try is counted there before it is forwarded,
    so once the client has its answers the count is complete (no waiting for a try too many)."""
    return sum(F.metric(b, "request_total", direction="inbound") for b in fleet.backends.values())


def tries(fleet, apps, method: str, since: float) -> int:
    """Tries since `since` (an inbound() reading), exact; the apps' access logs must agree."""
    n = int(inbound(fleet) - since)
    logged = lambda: sum(a.requests(method) for a in apps.values())  # noqa: E731
    assert M.wait_until(lambda: logged() >= n, 5.0) and logged() == n, \
        f"the backend sidecars forwarded {n} {method} tries, the apps logged {logged()}"
    return n


def test_get_answered_503_is_retried_once(failing_fleet):
    fleet, apps = failing_fleet
    before = F.metric(fleet.client, "retry_total", **SVC)
    since = inbound(fleet)
    c = fleet.client_for()
    try:
        results = [c.get("/reviews") for _ in range(5)]
    finally:
        c.close()
    assert all(r.status == 503 for r in results), load.tally(results)
    assert tries(fleet, apps, "GET", since) == 10, "each GET: one try and attempts=1 retry"
    assert F.settled(fleet.client, before + 5, "retry_total", **SVC) == before + 5


@pytest.mark.parametrize("size", [64 * 1024 + 1, 1024 * 1024])
def test_body_over_64k_is_not_retried(failing_fleet, size):
    fleet, apps = failing_fleet
    body = os.urandom(size)
    c = fleet.client_for()
    try:
        # control: in this setup a request without a body is retried
        since = inbound(fleet)
        assert c.get("/reviews").status == 503
        assert tries(fleet, apps, "GET", since) == 2, "the control GET was not retried"
        before = F.metric(fleet.client, "retry_total", **SVC)
        since = inbound(fleet)
        results = [c.request("POST", "/upload", {"Content-Type": "application/octet-stream"},
                             body) for _ in range(5)]
    finally:
        c.close()
    assert [r.status for r in results] == [503] * 5, load.tally(results)
    assert all(r.body in (b"v1 says 503\n", b"v2 says 503\n") for r in results), \
        f"the client must see the app's own 503: {load.tally(results)}"
    assert tries(fleet, apps, "POST", since) == 5, "a body over 64 KiB must reach one app once"
    assert F.metric(fleet.client, "retry_total", **SVC) == before


def test_zero_budget_refuses_every_retry_and_counts_it(proxies, make_app):
    """retryBudget {percent: 0, minRetriesPerSecond: 0} turns retries off whatever the route
    says; each retry not made counts in retry_budget_exhausted_total (docs/policy.md)."""
    apps = {v: make_app(v, status=503) for v in ("v1", "v2")}
    route = F.route_yaml("""
        - backendRefs: [{name: reviews}]
          retry: {attempts: 1, on: ["503"]}
        """)
    fleet = F.start_fleet(proxies, {v: a.port for v, a in apps.items()}, lambda addrs: F.documents(
        F.service_yaml(addrs, subsets=False), route,
        F.policy_yaml(retryBudget="{percent: 0, minRetriesPerSecond: 0}",
                      outlierDetection="{consecutive5xx: 100000, consecutiveGatewayErrors: 100000}")))
    since = inbound(fleet)
    results = load.run(fleet.client.outbound, F.SERVICE, 10, path="/", threads=1)
    assert [r.status for r in results] == [503] * 10, load.tally(results)
    assert tries(fleet, apps, "GET", since) == 10, "one try each: no retry"
    assert F.metric(fleet.client, "retry_total", **SVC) == 0
    assert F.settled(fleet.client, 10, "retry_budget_exhausted_total", **SVC) == 10
