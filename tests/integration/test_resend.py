"""Resends (issue #14 §1, RFC 9110 §9.2.2): a request goes out again on its own only when the
app cannot have seen it; anything else is resent only under the route's retry policy, only
when idempotent (method, or an Idempotency-Key), only with its whole body at hand, and is
counted in retry_total{reason}.

web sidecar -> reviews sidecar -> recording app (tests/integration/recording_app.py), which
processes a request and then closes the connection unanswered the first time it sees that
request's id on a connection it already answered on: a keep-alive connection the app closed
at exactly the wrong moment.
"""

from __future__ import annotations

import collections
import http.client
import socket
import threading
import time

import h2.config
import h2.connection
import h2.events
import h2.exceptions
import pytest

import fleet as F
import load
import mesh as M
from h2_clients import h2_events
from recording_app import RecordingApp

SVC = dict(dst_service=F.DST_SERVICE)
# Retries are asked for on every failure kind; the budget and outlier detection never decide.
POLICY = dict(retryBudget="{percent: 100, minRetriesPerSecond: 100000}",
              outlierDetection="{consecutive5xx: 1000000, consecutiveGatewayErrors: 1000000}",
              loadBalancer="round_robin")
RETRY = "{attempts: 2, on: [5xx, reset, connect-failure]}"


def mesh_yaml(addrs: dict[str, str]) -> str:
    route = F.route_yaml(f"""
        - backendRefs: [{{name: reviews}}]
          retry: {RETRY}
        """)
    return F.documents(F.service_yaml(addrs, subsets=False), route, F.policy_yaml(**POLICY))


@pytest.fixture
def closing_app():
    a = RecordingApp("v1", close_on_reuse=True).start()
    yield a
    a.stop()


@pytest.fixture
def closing_fleet(proxies, closing_app):
    return F.start_fleet(proxies, {"v1": closing_app.port}, mesh_yaml)


def body_for(rid: str) -> bytes | None:
    """Half the requests carry a body (the id), half none: a body-less POST is the easy one
    to send twice."""
    return rid.encode() if int(rid.rsplit("-", 1)[1]) % 2 else None


def send_all(fleet, method: str, ids: list[str], headers: dict[str, str] | None = None,
             threads: int = 4, limit: float = 120.0) -> dict[str, load.Result]:
    """One request per id (header x-test-id, body_for(id)), over `threads` keep-alive
    connections; results by id."""
    out: dict[str, load.Result] = {}
    lock = threading.Lock()

    def worker(part: list[str]) -> None:
        c = fleet.client_for()
        try:
            for rid in part:
                if time.monotonic() > deadline:
                    return
                r = c.request(method, "/pay", {"x-test-id": rid, **(headers or {})},
                              body_for(rid))
                with lock:
                    out[rid] = r
        finally:
            c.close()

    deadline = time.monotonic() + limit
    ts = [threading.Thread(target=worker, args=(ids[i::threads],)) for i in range(threads)]
    for t in ts:
        t.start()
    load._join(ts, deadline + 5)
    assert len(out) == len(ids), f"only {len(out)} of {len(ids)} requests ran in {limit}s"
    return out


def test_post_reaches_the_app_at_most_once(closing_fleet, closing_app):
    ids = [f"post-{i}" for i in range(10_000)]
    before = F.metric(closing_fleet.client, "retry_total", **SVC)
    results = send_all(closing_fleet, "POST", ids)

    seen = closing_app.seen
    twice = [rid for rid in ids if seen[rid] > 1]
    assert not twice, (f"{len(twice)} POSTs reached the app more than once, e.g. "
                       f"{[(r, seen[r], str(results[r])) for r in twice[:3]]}")
    statuses = collections.Counter(r.status for r in results.values())
    assert set(statuses) <= {200, 502, 503}, statuses
    # The app's wrong moments did happen, and the client saw each of them as a 502 that says
    # so, or, when even the fresh connections a request that never left was moved to were
    # closed under it (a slow sanitizer build), as a 503 for a request the app never saw.
    failed = [rid for rid, r in results.items() if r.status != 200]
    assert len(failed) > 1000, statuses
    for rid in failed:
        r = results[rid]
        assert r.weft_error and str(closing_app.port) in r.weft_error, str(r)
        if r.status == 502:
            assert "closed before response headers" in r.weft_error, str(r)
        else:
            assert "closed before the request was sent" in r.weft_error and seen[rid] == 0, \
                (str(r), seen[rid])
    ok = [rid for rid, r in results.items() if r.status == 200]
    assert all(seen[rid] == 1 and results[rid].text == f"v1 got {len(body_for(rid) or b'')} bytes"
               for rid in ok), "a 200 must come from the app's one handling of the request"
    # A POST is never retried, although the route asks for retries on 5xx.
    assert F.metric(closing_fleet.client, "retry_total", **SVC) == before
    assert F.metric(closing_fleet.backends["v1"], "retry_total") == 0


def test_get_is_retried_by_the_route_and_counted(closing_fleet, closing_app):
    ids = [f"get-{i}" for i in range(300)]
    before = F.metric(closing_fleet.client, "retry_total", reason="5xx", **SVC)
    results = send_all(closing_fleet, "GET", ids, threads=1)
    bad = {rid: str(r) for rid, r in results.items() if r.status != 200}
    assert not bad, f"GETs the route's retry policy should have recovered: {list(bad.items())[:3]}"
    retried = [rid for rid in ids if closing_app.seen[rid] == 2]
    assert len(retried) > 50, "the app never closed a reused connection: the test proves nothing"
    assert max(closing_app.seen[rid] for rid in ids) == 2
    # Each GET the app saw twice was one retry by the client sidecar's route, counted with the
    # status that caused it; the server sidecar (no route) resent nothing.
    assert F.settled(closing_fleet.client, before + len(retried), "retry_total", reason="5xx",
                     **SVC) == before + len(retried)
    assert F.metric(closing_fleet.backends["v1"], "retry_total") == 0


def test_post_with_idempotency_key_is_retried(closing_fleet, closing_app):
    ids = [f"key-{i}" for i in range(200)]
    results = send_all(closing_fleet, "POST", ids, threads=1,
                       headers={"Idempotency-Key": "k"})
    bad = {rid: str(r) for rid, r in results.items() if r.status != 200}
    assert not bad, list(bad.items())[:3]
    assert sum(1 for rid in ids if closing_app.seen[rid] == 2) > 30


# ---------------------------------------------------------------------------------------------
# A fresh connection whose TLS handshake the peer rejects after the request was written
# (TLS 1.3 checks the client certificate after the client finished its handshake).

def chunked_post(port: int, body: bytes) -> load.Result:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    t0 = time.monotonic()
    try:
        conn.request("POST", "/upload", body=iter([body[:7], body[7:]]),
                     headers={"Host": F.SERVICE, "x-test-id": body.decode()},
                     encode_chunked=True)
        r = conn.getresponse()
        return load.Result(t0, time.monotonic(), r.status, r.read(), r.getheader("x-weft-error"))
    finally:
        conn.close()


def chunked_post_h2(port: int, body: bytes) -> load.Result:
    """The same over HTTP/2 (python3-h2, prior knowledge): no content-length, and the body's
    second piece leaves only after a pause, so the client sidecar is still pumping it while
    it reads the response. A RST_STREAM(NO_ERROR) after a complete response only stops the
    upload (RFC 9113 §8.1)."""
    t0 = time.monotonic()
    conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
    status, data, err = 0, b"", None
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        conn.initiate_connection()
        conn.send_headers(1, [(":method", "POST"), (":path", "/upload"), (":scheme", "http"),
                              (":authority", F.SERVICE), ("x-test-id", body.decode())])
        conn.send_data(1, body[:7])
        s.sendall(conn.data_to_send())
        time.sleep(0.02)
        try:
            conn.send_data(1, body[7:], end_stream=True)
            s.sendall(conn.data_to_send())
        except (h2.exceptions.StreamClosedError, OSError):
            pass  # the response came first and the upload was stopped
        for e in h2_events(s, conn):
            if isinstance(e, h2.events.ResponseReceived):
                fields = {k.decode(): v.decode() for k, v in e.headers}
                status, err = int(fields[":status"]), fields.get("x-weft-error")
            elif isinstance(e, h2.events.DataReceived):
                data += e.data
                conn.acknowledge_received_data(e.flow_controlled_length, 1)
            elif isinstance(e, (h2.events.StreamEnded, h2.events.StreamReset,
                                h2.events.ConnectionTerminated)):
                break
    return load.Result(t0, time.monotonic(), status, data, err)


@pytest.mark.parametrize("send", [chunked_post, chunked_post_h2], ids=["http1", "h2"])
def test_streamed_body_is_never_resent_empty(proxies, send):
    apps = {v: RecordingApp(v).start() for v in ("v1", "v2")}
    try:
        # The web sidecar's certificate comes from rogue-ca: v2's sidecar trusts that CA too,
        # v1's rejects it once the web sidecar has finished its side of the handshake.
        both = proxies.certs / "ca-and-rogue-ca.pem"
        both.write_bytes((proxies.certs / "ca.pem").read_bytes() +
                         (proxies.certs / "rogue-ca.pem").read_bytes())
        backends = {
            "v1": proxies.start(f"{F.SERVICE}-v1", service=F.SERVICE, app_port=apps["v1"].port,
                                extra_args=["--labels", "version=v1",
                                            *M.app_protocol_args("http1")]),
            "v2": proxies.start(f"{F.SERVICE}-v2", service=F.SERVICE, app_port=apps["v2"].port,
                                trust_bundle="ca-and-rogue-ca",
                                extra_args=["--labels", "version=v2",
                                            *M.app_protocol_args("http1")]),
        }
        addrs = {v: f"127.0.0.1:{p.inbound}" for v, p in backends.items()}
        route = F.route_yaml("""
            - backendRefs: [{name: reviews}]
              retry: {attempts: 1, on: [connect-failure]}
            """)
        client = proxies.start("web", service="web", app_port=apps["v1"].port, cert="rogue",
                               trust_bundle="ca-and-rogue-ca", config=F.documents(
            F.service_yaml(addrs, subsets=False), route, F.policy_yaml(**POLICY)))
        results = [send(client.outbound, f"chunked-body-{i:04d}".encode()) for i in range(20)]
        bodies = [body for _, _, body in apps["v2"].requests]
        assert all(len(b) == len("chunked-body-0000") for b in bodies), \
            f"v2's app got a body cut short by a resend: {bodies}"
        assert len(bodies) == sum(1 for r in results if r.status == 200)
        assert apps["v1"].requests == [], "v1's sidecar let a request through"
        refused = [r for r in results if r.status != 200]
        assert refused, "no request met v1's rejecting sidecar (or each was resent)"
        for r in refused:
            assert r.status == 503 and r.weft_error and "connect failed" in r.weft_error \
                and "alert" in r.weft_error, str(r)
    finally:
        for a in apps.values():
            a.stop()
