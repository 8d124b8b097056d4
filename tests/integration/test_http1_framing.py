"""HTTP/1.1 message framing as an attacker sends it (issue #14 §2; RFC 9112 §6, §7, RFC 9110
§7.2), on raw sockets to the client sidecar's outbound port:

web sidecar -> backend sidecar -> nginx (module mesh), or a raw-socket app where the app
misbehaves.

A request whose body length is unknown is refused with 400 and the connection closed, so
nothing after it is taken as a next request (smuggling). Chunk lines and trailers are bounded
so one client cannot grow a sidecar's memory.
"""

from __future__ import annotations

import socket
import socketserver
import time

import pytest

import mesh as M

SMUGGLED = b"GET /hello HTTP/1.1\r\nHost: backend\r\n\r\n"


def exchange(port: int, payload: bytes, timeout: float = 5.0):
    data, eof = M.raw_exchange(port, payload, timeout=timeout)
    return M.parse_responses(data), eof, data


def assert_refused(port: int, payload: bytes, status: int, reason: str) -> None:
    """One response with `status` and x-weft-error containing `reason`, then EOF."""
    responses, eof, data = exchange(port, payload)
    assert len(responses) == 1, f"want exactly one response, got {data[:600]!r}"
    r = responses[0]
    assert r.status == status and reason in (r.header("x-weft-error") or ""), \
        f"want {status} with x-weft-error containing {reason!r}: {data[:600]!r}"
    assert eof, "the connection must be closed after a request refused for its framing"


@pytest.mark.parametrize("te", [b"xchunked", b"gzip", b"chunked, identity", b"chunked, chunked"])
def test_last_coding_not_chunked_is_400_and_nothing_smuggled(mesh, te):
    req = (b"POST /hello HTTP/1.1\r\nHost: backend\r\nTransfer-Encoding: " + te +
           b"\r\n\r\n" + SMUGGLED)
    assert_refused(mesh.client.outbound, req, 400, "does not end with chunked")


def test_transfer_encoding_split_over_two_fields_ending_in_identity_is_400(mesh):
    req = (b"POST /hello HTTP/1.1\r\nHost: backend\r\nTransfer-Encoding: chunked\r\n"
           b"Transfer-Encoding: identity\r\n\r\n0\r\n\r\n" + SMUGGLED)
    responses, eof, data = exchange(mesh.client.outbound, req)
    assert [r.status for r in responses] == [400] and eof, data[:600]


def test_coding_before_chunked_is_501(mesh):
    req = (b"POST /hello HTTP/1.1\r\nHost: backend\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"
           b"0\r\n\r\n" + SMUGGLED)
    assert_refused(mesh.client.outbound, req, 501, "only chunked is supported")


def test_transfer_encoding_on_http10_is_400(mesh):
    req = (b"POST /hello HTTP/1.0\r\nHost: backend\r\nTransfer-Encoding: chunked\r\n\r\n"
           b"5\r\nhello\r\n0\r\n\r\n")
    assert_refused(mesh.client.outbound, req, 400, "on an HTTP/1.0 request")


def test_content_length_and_transfer_encoding_is_400(mesh):
    for req in (b"POST /hello HTTP/1.1\r\nHost: backend\r\nContent-Length: 5\r\n"
                b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n" + SMUGGLED,
                b"POST /hello HTTP/1.1\r\nHost: backend\r\nTransfer-Encoding: chunked\r\n"
                b"Content-Length: 5\r\n\r\n0\r\n\r\n" + SMUGGLED):
        assert_refused(mesh.client.outbound, req, 400, "malformed HTTP/1.1 request")


def test_two_host_headers_is_400(mesh):
    req = b"GET /hello HTTP/1.1\r\nHost: backend\r\nHost: other\r\n\r\n"
    assert_refused(mesh.client.outbound, req, 400, "2 Host headers")


def test_host_disagreeing_with_absolute_form_is_400(mesh):
    req = b"GET http://backend/hello HTTP/1.1\r\nHost: other\r\n\r\n"
    assert_refused(mesh.client.outbound, req, 400, "disagrees with the request target")


def test_asterisk_target_only_for_options(mesh):
    assert_refused(mesh.client.outbound, b"GET * HTTP/1.1\r\nHost: backend\r\n\r\n", 400,
                   "only for OPTIONS")
    responses, _, data = exchange(mesh.client.outbound,
                                  b"OPTIONS * HTTP/1.1\r\nHost: backend\r\nConnection: close\r\n\r\n")
    assert len(responses) == 1 and "OPTIONS" not in (responses[0].header("x-weft-error") or ""), \
        data[:600]


def test_malformed_chunk_is_400_then_close(mesh):
    req = b"POST /hello HTTP/1.1\r\nHost: backend\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"
    assert_refused(mesh.client.outbound, req, 400, "malformed request body")


def rss_kb(pid: int) -> int:
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def stream_until_refused(port: int, head: bytes, filler: bytes, total: int) -> bytes:
    """Sends head, then `filler` repeatedly up to `total` bytes or until the proxy stops
    reading; returns what the proxy answered."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(head)
        sent = 0
        try:
            while sent < total:
                s.sendall(filler)
                sent += len(filler)
        except OSError:
            pass  # the proxy answered and closed: the rest is refused
        data, _ = M.recv_all(s, 5)
        return data


def test_huge_chunk_extension_is_400_and_memory_stays_flat(echo_mesh):
    mesh = echo_mesh  # answers only after the body: see test_huge_trailers_are_400
    before = (rss_kb(mesh.client.proc.pid), rss_kb(mesh.server.proc.pid))
    head = (b"POST /hello HTTP/1.1\r\nHost: reviews\r\nTransfer-Encoding: chunked\r\n\r\n"
            b"5;ext=")
    data = stream_until_refused(mesh.client.outbound, head, b"a" * 65536, 64 << 20)
    responses = M.parse_responses(data)
    assert responses and responses[0].status == 400, data[:600]
    assert "chunk size line longer than 4096 bytes" in responses[0].header("x-weft-error"), \
        data[:600]
    after = (rss_kb(mesh.client.proc.pid), rss_kb(mesh.server.proc.pid))
    assert after[0] - before[0] < 16 * 1024, f"client sidecar RSS grew {before} -> {after} kB"


def test_huge_trailers_are_400(echo_mesh):
    # The echo app answers only once the body has ended, i.e. after the trailers: nginx may
    # answer a POST before reading its body, and its 200 would then win the race.
    mesh = echo_mesh
    head = (b"POST /hello HTTP/1.1\r\nHost: reviews\r\nTransfer-Encoding: chunked\r\n\r\n"
            b"5\r\nhello\r\n0\r\n")
    data = stream_until_refused(mesh.client.outbound, head, b"x-trailer: " + b"b" * 1000 + b"\r\n",
                                8 << 20)
    responses = M.parse_responses(data)
    assert responses and responses[0].status == 400, data[:600]
    assert "trailers larger than 65536 bytes" in responses[0].header("x-weft-error"), data[:600]


def test_slow_header_gets_408(proxies, app):
    pair = proxies.sidecar_pair(app_port=app.port, service="backend",
                                extra_args=["--idle-timeout", "1"])
    with socket.create_connection(("127.0.0.1", pair.client.outbound), timeout=10) as s:
        s.sendall(b"GET /hello HTTP/1.1\r\nHost: backend\r\n")  # never finished
        data, eof = M.recv_all(s, 8)
    responses = M.parse_responses(data)
    assert [r.status for r in responses] == [408] and eof, data[:600]
    assert "read deadline" in responses[0].header("x-weft-error"), data[:600]


# ---------------------------------------------------------------------------------------------
# An app whose response body is malformed from its start.

class _HugeChunkLineApp(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        s = self.request
        s.settimeout(10)
        if not M.recv_head(s)[0].endswith(b"\r\n\r\n"):
            return
        try:
            s.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=" +
                      b"a" * 65536)
            deadline = time.monotonic() + 10
            sent = 0
            while sent < (32 << 20) and time.monotonic() < deadline:
                s.sendall(b"a" * 65536)
                sent += 65536
        except OSError:
            pass


def test_app_response_with_huge_chunk_line_is_502(proxies):
    server = M.tcp_app(_HugeChunkLineApp)
    try:
        pair = proxies.sidecar_pair(app_port=server.server_address[1], service="backend",
                                    extra_args=M.app_protocol_args("http1"))
        before = rss_kb(pair.server.proc.pid)
        responses, _, data = exchange(pair.client.outbound,
                                      b"GET / HTTP/1.1\r\nHost: backend\r\n\r\n", timeout=15)
        assert responses and responses[0].status == 502, data[:600]
        err = responses[0].header("x-weft-error") or ""
        assert "app sent a malformed response body" in err and "chunk size line" in err, err
        assert rss_kb(pair.server.proc.pid) - before < 16 * 1024
    finally:
        M.stop_tcp_app(server)


# ---------------------------------------------------------------------------------------------
# Upgrades the mesh cannot carry are refused in words (WebSocket is carried: test_websocket.py).

def test_unknown_upgrade_gets_a_clear_501(mesh):
    req = (b"GET /chat HTTP/1.1\r\nHost: backend\r\nConnection: Upgrade\r\n"
           b"Upgrade: IRC/6.9\r\n\r\n")
    assert_refused(mesh.client.outbound, req, 501,
                   "Upgrade 'IRC/6.9' is not supported through the mesh")


def test_h2c_upgrade_is_served_as_http11(mesh):
    req = (b"GET /hello HTTP/1.1\r\nHost: backend\r\nConnection: Upgrade, HTTP2-Settings\r\n"
           b"Upgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQCAAAAAAIAAAAA\r\n"
           b"Connection: close\r\n\r\n")
    responses, _, data = exchange(mesh.client.outbound, req)
    assert [r.status for r in responses] == [200], data[:600]
