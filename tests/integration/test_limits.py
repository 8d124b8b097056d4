"""Circuit breaking and request timeouts (issue #3), toward a slow app.

web sidecar (1 worker) -> reviews sidecar -> Python echo app (/slow?ms=N answers after N ms)
"""

import fleet as F
import load
import mesh as M

SVC = dict(dst_service=F.DST_SERVICE)
SLOW_MS = 1000
BURST = 10


def test_pending_overflow_answered_503_at_once(proxies, echo_app):
    # Over HTTP/1.1 one connection carries one request at a time: one request in
    # progress, one waiting for it, and the other eight are refused at once.
    fleet = F.start_fleet(proxies, {"v1": echo_app.port}, lambda addrs: F.documents(
        F.service_yaml(addrs, subsets=False),
        F.policy_yaml(connectionPool="{maxConnections: 1, maxPendingRequests: 1, "
                                     "maxRequests: 100, connectTimeout: 10s}")))
    c = fleet.client_for()
    warm = c.get("/")  # the upstream connection is open and pooled before the burst
    c.close()
    assert warm.status == 200, warm

    done = load.burst(fleet.client.outbound, F.SERVICE, f"/slow?ms={SLOW_MS}", BURST)
    assert len(done) == BURST, [str(r) for r in done]
    ok = [r for r in done if r.status == 200]
    refused = [r for r in done if r.status == 503]
    assert len(ok) == 2 and len(refused) == BURST - 2, \
        f"want 2 served (1 in progress + 1 pending) and {BURST - 2} refused: {load.tally(done)}"
    assert all(r.body == b"slow\n" for r in ok), load.tally(ok)
    want = "circuit open: maxPendingRequests=1"
    wrong = [r for r in refused if r.weft_error != want]
    assert not wrong, f"refused requests must carry x-weft-error: {want}: {[str(r) for r in wrong]}"
    # refused at once: every 503 arrived before the first slow request finished
    assert max(r.end for r in refused) < min(r.end for r in ok), \
        "an overflow 503 waited for the slow request: " + \
        ", ".join(f"{r.status}@{r.end - done[0].start:.3f}s" for r in done)

    counted = F.settled(fleet.client, len(refused), "circuit_breaker_overflow_total",
                        limit="maxPendingRequests", **SVC)
    assert counted == len(refused), \
        f"circuit_breaker_overflow_total{{limit=maxPendingRequests}} = {counted}, " \
        f"{len(refused)} requests were refused"
    samples = fleet.client.metrics()
    for limit in ("maxConnections", "maxRequests", "maxRetries"):
        series = M.select(samples, "circuit_breaker_overflow_total", limit=limit, **SVC)
        assert sum(s.value for s in series) == 0, f"{limit} counted overflows: {series}"
    problems = F.promtool_problems(fleet.client.metrics_text())
    assert not problems, "unexpected promtool complaints:\n" + "\n".join(problems)

    # the breaker closes again: the next request is served
    c = fleet.client_for()
    after = c.get("/slow?ms=10")
    c.close()
    assert after.status == 200 and after.body == b"slow\n", after


def test_request_timeout_504(proxies, echo_app):
    fleet = F.start_fleet(proxies, {"v1": echo_app.port}, lambda addrs: F.documents(
        F.service_yaml(addrs, subsets=False),
        F.route_yaml("""
            - backendRefs: [{name: reviews}]
              timeouts: {request: 1s}
            """)))
    c = fleet.client_for()
    try:
        fast = c.get("/slow?ms=10")
        slow = c.get("/slow?ms=3000")
    finally:
        c.close()
    assert fast.status == 200 and fast.body == b"slow\n", fast
    assert slow.status == 504, slow
    assert "timed out" in (slow.weft_error or ""), f"x-weft-error must say 'timed out': {slow}"
    assert (slow.weft_error or "").startswith("request timed out after 1s: "), \
        f"x-weft-error must name the route's timeout: {slow}"
    assert b"timed out" in slow.body, f"generated 504 must give the reason in its body: {slow}"


def test_grpc_timeout_is_honoured_as_deadline_exceeded(proxies, echo_app):
    # No route timeout at all: the gRPC caller's own grpc-timeout bounds the call, and the
    # failure comes back as a gRPC status (DEADLINE_EXCEEDED), not an HTTP 504.
    fleet = F.start_fleet(proxies, {"v1": echo_app.port}, lambda addrs: F.documents(
        F.service_yaml(addrs, subsets=False),
        F.route_yaml("""
            - backendRefs: [{name: reviews}]
            """)))
    url = f"http://127.0.0.1:{fleet.client.outbound}"
    grpc = ("-H", "Host: reviews", "-H", "content-type: application/grpc", "-H", "te: trailers")
    r = M.curl(*grpc, "-H", "grpc-timeout: 500m", url + "/slow?ms=3000")
    assert r.rc == 0 and r.status == 200, r
    assert r.header("grpc-status") == "4", r
    assert "timed out after 500ms (grpc-timeout)" in (r.header("x-weft-error") or ""), r
    assert M.wait_until(lambda: M.metric_sum(
        fleet.client.metrics(), "response_total", direction="outbound", grpc_status="4",
        classification="failure") == 1, 5.0), "counted once, as a failure with grpc_status 4"
    fast = M.curl(*grpc, "-H", "grpc-timeout: 5S", url + "/slow?ms=10")
    assert fast.status == 200 and fast.header("grpc-status") is None and fast.body == b"slow\n", fast


def test_limits_apply_per_worker(proxies, echo_app):
    """With --workers 2 the sidecar admits up to twice each limit (docs/policy.md, Circuit
    breaking): 30 connections spread over both workers' listeners (SO_REUSEPORT) find one
    request in progress and one pending on each, so exactly 4 are served. A process-wide count
    would serve 2. (All 30 land on one worker, or all but one, with probability below 10^-7.)"""
    n = 30
    fleet = F.start_fleet(proxies, {"v1": echo_app.port}, lambda addrs: F.documents(
        F.service_yaml(addrs, subsets=False),
        F.policy_yaml(connectionPool="{maxConnections: 1, maxPendingRequests: 1, "
                                     "maxRequests: 100, connectTimeout: 10s}")),
        client_workers=2)
    done = load.burst(fleet.client.outbound, F.SERVICE, f"/slow?ms={SLOW_MS}", n)
    assert len(done) == n, [str(r) for r in done]
    statuses = sorted(r.status for r in done)
    assert statuses == [200] * 4 + [503] * (n - 4), load.tally(done)
