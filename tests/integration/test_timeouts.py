"""Per-try timeouts, retries to another endpoint, and connectTimeout, as docs/policy.md states
them (issue #15 §3).

web sidecar -> reviews sidecar v1 -> an app that takes requests and never answers
            -> reviews sidecar v2 -> nginx answering "v2"
"""

from __future__ import annotations

import socket
import socketserver
import threading

import pytest

import fleet as F
import load
import mesh as M

SVC = dict(dst_service=F.DST_SERVICE)
NEVER_EJECT = "{consecutive5xx: 100000, consecutiveGatewayErrors: 100000}"


class _SilentHandler(socketserver.BaseRequestHandler):
    """Reads request heads and never answers; counts them. The connection is held until the
    peer goes (at most 30 s)."""

    def handle(self) -> None:
        self.request.settimeout(30)
        buf = b""
        try:
            while True:
                chunk = self.request.recv(65536)
                if not chunk:
                    return
                buf += chunk
                while b"\r\n\r\n" in buf:
                    _, buf = buf.split(b"\r\n\r\n", 1)
                    with self.server.lock:
                        self.server.heads += 1
        except OSError:
            return


@pytest.fixture
def silent_app():
    server = M.tcp_app(_SilentHandler, heads=0, lock=threading.Lock())
    yield server
    M.stop_tcp_app(server)


def test_try_that_times_out_is_retried_on_the_other_endpoint(proxies, make_app, silent_app):
    apps = {"v1": silent_app.server_address[1], "v2": make_app("v2").port}
    route = F.route_yaml("""
        - backendRefs: [{name: reviews}]
          retry: {attempts: 1, perTryTimeout: 1s, on: [reset]}
        """)
    fleet = F.start_fleet(proxies, apps, lambda addrs: F.documents(
        F.service_yaml(addrs, subsets=False), route,
        F.policy_yaml(loadBalancer="round_robin", outlierDetection=NEVER_EJECT,
                      retryBudget="{percent: 100, minRetriesPerSecond: 100}")))
    before = F.metric(fleet.client, "retry_total", reason="timeout", **SVC)
    results = load.run(fleet.client.outbound, F.SERVICE, 4, path="/", threads=1)
    # Every request answered by v2: a retry of a try that timed out on v1 never went to v1
    # again (with attempts: 1, that would have been a 504).
    assert all(r.status == 200 and r.body == b"v2\n" for r in results), load.tally(results)
    hung = silent_app.heads
    assert 1 <= hung <= 4, hung  # round robin sent some first tries to v1
    assert F.settled(fleet.client, before + hung, "retry_total", reason="timeout",
                     **SVC) == before + hung


def test_per_try_timeout_ends_the_request_with_504_naming_it(proxies, silent_app):
    route = F.route_yaml("""
        - backendRefs: [{name: reviews}]
          timeouts: {backendRequest: 300ms}
        """)
    fleet = F.start_fleet(proxies, {"v1": silent_app.server_address[1]},
                          lambda addrs: F.documents(F.service_yaml(addrs, subsets=False), route))
    r = load.run(fleet.client.outbound, F.SERVICE, 1, path="/", threads=1)[0]
    assert r.status == 504, r
    assert "timed out waiting for the response" in (r.weft_error or ""), r
    assert silent_app.heads == 1


def test_connect_timeout_fails_the_try_with_503(proxies, app):
    """An endpoint that accepts TCP but never speaks TLS: connectTimeout ends the handshake."""
    with socket.socket() as mute:
        mute.bind(("127.0.0.1", 0))
        mute.listen(16)
        addr = f"127.0.0.1:{mute.getsockname()[1]}"
        config = F.documents(
            M.service_yaml(F.SERVICE, [(addr, M.spiffe(F.SERVICE))]),
            F.policy_yaml(connectionPool="{connectTimeout: 300ms}"))
        web = proxies.start("web", service="web", app_port=app.port, config=config)
        r = M.curl("-H", f"Host: {F.SERVICE}", web.out_url("/"))
    assert r.status == 503, r
    err = r.header("x-weft-error") or ""
    assert err.startswith(f"upstream connect failed: {addr}: "), r
    assert err == f"upstream connect failed: {addr}: tls handshake timed out", r
