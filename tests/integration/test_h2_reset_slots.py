"""Rapid reset and the circuit breaker (issue 14 section 3): a request its HTTP/2 client resets
while it waits for a breaker slot gives its pending place back at once.

web sidecar (1 worker, maxConnections 1, maxPendingRequests 1) -> reviews sidecar -> Python
echo app (/slow?ms=N answers after N ms)."""

import time

import fleet as F
import mesh as M
from h2_clients import RawH2, frame, hpack_literal, HEADERS, RST_STREAM, END_STREAM, \
    END_HEADERS

SLOW_MS = 3000


def get(h2: RawH2, stream: int, path: str) -> None:
    block = hpack_literal([(":method", "GET"), (":scheme", "http"), (":path", path),
                           (":authority", F.SERVICE)])
    h2.sock.sendall(frame(HEADERS, END_STREAM | END_HEADERS, stream, block))


def settle(h2: RawH2, seconds: float = 0.3) -> None:
    h2.pump(lambda: False, seconds)


def test_reset_while_pending_gives_the_pending_place_back(proxies, echo_app):
    backend = proxies.start(f"{F.SERVICE}-v1", service=F.SERVICE, app_port=echo_app.port,
                            extra_args=["--labels", "version=v1", *M.app_protocol_args("http1")])
    config = F.documents(
        F.service_yaml({"v1": f"127.0.0.1:{backend.inbound}"}, subsets=False),
        F.policy_yaml(connectionPool="{maxConnections: 1, maxPendingRequests: 1, "
                                     "maxRequests: 100, connectTimeout: 10s}"))
    client = proxies.start("web", service="web", app_port=echo_app.port, config=config)

    h2 = RawH2(client.outbound).connect()
    try:
        settle(h2)
        get(h2, 1, f"/slow?ms={SLOW_MS}")  # holds the one slot
        settle(h2)
        get(h2, 3, "/slow?ms=10")  # waits for it: the one pending place
        settle(h2)
        h2.sock.sendall(frame(RST_STREAM, 0, 3, b"\x00\x00\x00\x08"))  # CANCEL
        settle(h2)
        start = time.monotonic()
        get(h2, 5, "/slow?ms=10")  # the pending place is free again: it waits, then is served
        assert h2.pump(lambda: 5 in h2.ended, SLOW_MS / 1000 + 10), "stream 5 got no response"
        assert bytes(h2.data.get(5, b"")) == b"slow\n", \
            f"stream 5 was not served after the slot came free: {bytes(h2.data.get(5, b''))!r}"
        assert time.monotonic() - start > 0.5, "stream 5 did not wait for the slot"
        assert h2.pump(lambda: 1 in h2.ended, 10) and bytes(h2.data[1]) == b"slow\n"
        assert h2.goaway is None
    finally:
        h2.close()
    overflows = F.metric(client, "circuit_breaker_overflow_total", limit="maxPendingRequests",
                         dst_service=F.DST_SERVICE)
    assert overflows == 0, f"{overflows} requests were refused for maxPendingRequests"
