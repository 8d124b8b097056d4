"""Request and response bodies through the sidecar pair, byte-exact."""

import hashlib
import socket
import socketserver

import pytest

import mesh as M
from h2_clients import h2_events

SIZES = M.BODY_SIZES


@pytest.fixture(scope="module")
def big_static(app):
    sha = M.write_random(app.www / "big.bin", 10 << 20)
    return "/big.bin", sha


def test_get_10mb_static(mesh, big_static, tmp_path):
    path, sha = big_static
    r = mesh.get(path, timeout=60)
    assert r.rc == 0 and r.status == 200, r
    assert len(r.body) == 10 << 20, f"got {len(r.body)} bytes"
    assert hashlib.sha256(r.body).hexdigest() == sha
    assert r.header("content-length") in (None, str(10 << 20)), r


def test_get_10mb_static_absolute_form(mesh, big_static):
    path, sha = big_static
    r = M.curl("-x", f"http://127.0.0.1:{mesh.client.outbound}", f"http://backend:8080{path}",
               timeout=60)
    assert r.status == 200, r
    assert hashlib.sha256(r.body).hexdigest() == sha


@pytest.mark.parametrize("framing", ["content-length", "chunked"])
@pytest.mark.parametrize("size", list(SIZES))
@pytest.mark.parametrize("response", ["length", "chunked"])
def test_post_echo(echo_mesh, payloads, size, framing, response):
    path, sha = payloads[size]
    args = ["-X", "POST", "--data-binary", f"@{path}", "-H", "Content-Type: application/octet-stream"]
    if framing == "chunked":
        args += ["-H", "Transfer-Encoding: chunked"]
    q = "?chunked=1" if response == "chunked" else ""
    r = echo_mesh.get(f"/echo{q}", *args, timeout=60)
    assert r.rc == 0 and r.status == 200, r
    assert len(r.body) == SIZES[size], f"echoed {len(r.body)} of {SIZES[size]} bytes: {r}"
    assert hashlib.sha256(r.body).hexdigest() == sha
    assert r.header("x-echo-peer") == M.spiffe("web"), r


def test_post_empty_body(echo_mesh):
    r = echo_mesh.get("/echo", "--data-binary", "")
    assert r.status == 200 and r.body == b"", r


def test_keepalive_after_bodies(echo_mesh, payloads):
    """Several POSTs on one client connection keep framing intact."""
    path, sha = payloads["64KiB"]
    body = path.read_bytes()
    one = (b"POST /echo HTTP/1.1\r\nHost: reviews\r\nContent-Length: %d\r\n\r\n" % len(body)) + body
    chunked = (b"POST /echo?chunked=1 HTTP/1.1\r\nHost: reviews\r\nTransfer-Encoding: chunked\r\n\r\n"
               + b"%x\r\n" % len(body) + body + b"\r\n0\r\n\r\n")
    last = b"GET /x HTTP/1.1\r\nHost: reviews\r\nConnection: close\r\n\r\n"
    data, eof = M.raw_exchange(echo_mesh.client.outbound, one + chunked + one + last, timeout=10)
    resps = M.parse_responses(data)
    assert [r.status for r in resps] == [200, 200, 200, 200], data[:300]
    for r in resps[:3]:
        assert r.body == body
    assert resps[3].body == b"echo\n"


@pytest.mark.parametrize("framing", ["content-length", "chunked"])
@pytest.mark.parametrize("size", list(SIZES))
def test_put_then_get_via_dav(mesh, payloads, size, framing):
    path, sha = payloads[size]
    url_path = f"/dav/{framing}/{size}.bin"
    args = ["-T", str(path)]
    if framing == "chunked":
        args += ["-H", "Transfer-Encoding: chunked"]
    put = mesh.get(url_path, *args, timeout=60)
    assert put.rc == 0 and put.status in (201, 204), put
    got = mesh.get(url_path, timeout=60)
    assert got.status == 200, got
    assert len(got.body) == SIZES[size]
    assert hashlib.sha256(got.body).hexdigest() == sha
    dele = mesh.get(url_path, "-X", "DELETE")
    assert dele.status == 204, dele
    assert mesh.get(url_path).status == 404


# ---------------------------------------------------------------------------------------------
# A failure after the response head was sent can only cut the response (docs/architecture.md,
# Errors): HTTP/1.1 closes the connection before the announced length, HTTP/2 resets the
# stream with INTERNAL_ERROR. The client sees a broken response -- or, when the server sidecar
# resets its stream before the head has left it, a 502 that says so; or, when the client
# sidecar's reset overtakes the head it queued, the reset alone -- never a short response that
# looks complete.

class _CutShortApp(socketserver.BaseRequestHandler):
    """Announces 1000 bytes of body, sends 10, and closes."""

    def handle(self) -> None:
        self.request.settimeout(10)
        try:
            if M.recv_head(self.request)[0].endswith(b"\r\n\r\n"):
                self.request.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n0123456789")
        except OSError:
            pass


@pytest.fixture(scope="module")
def cut_mesh(module_proxies):
    app = M.tcp_app(_CutShortApp)
    yield module_proxies.sidecar_pair(app_port=app.server_address[1], service="backend",
                                      extra_args=M.app_protocol_args("http1"))
    M.stop_tcp_app(app)


CUT_502 = "closed before response headers"


def test_response_cut_after_its_head_is_cut_for_an_http1_client(cut_mesh):
    for _ in range(5):
        r = cut_mesh.get("/cut")
        if r.status == 200:
            assert r.rc == 18 and len(r.body) < 1000, r  # curl: transfer closed, data outstanding
        else:
            assert r.status == 502 and CUT_502 in (r.header("x-weft-error") or ""), r


def test_response_cut_after_its_head_resets_the_http2_stream(cut_mesh):
    import h2.config
    import h2.connection
    import h2.errors
    import h2.events

    conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
    with socket.create_connection(("127.0.0.1", cut_mesh.client.outbound), timeout=10) as s:
        conn.initiate_connection()
        s.sendall(conn.data_to_send())
        for stream in range(1, 11, 2):
            conn.send_headers(stream, [(":method", "GET"), (":path", "/cut"), (":scheme", "http"),
                                       (":authority", "backend")], end_stream=True)
            s.sendall(conn.data_to_send())
            events = []
            for e in h2_events(s, conn):
                if getattr(e, "stream_id", stream) != stream:
                    continue
                events.append(e)
                if isinstance(e, (h2.events.StreamReset, h2.events.StreamEnded,
                                  h2.events.ConnectionTerminated)):
                    break
            else:
                pytest.fail("connection closed")
            heads = [dict(e.headers) for e in events if isinstance(e, h2.events.ResponseReceived)]
            end = events[-1]
            if heads and heads[0][b":status"] == b"502":
                assert CUT_502 in heads[0][b"x-weft-error"].decode(), heads
                assert isinstance(end, h2.events.StreamEnded), events
            else:
                # The 200 head, or nothing when the reset overtook the head still queued in the
                # client sidecar: either way the stream is reset, never ended as complete.
                assert not heads or heads[0][b":status"] == b"200", heads
                assert isinstance(end, h2.events.StreamReset) and \
                    end.error_code == h2.errors.ErrorCodes.INTERNAL_ERROR, events


def test_http10_client_gets_a_streamed_body_without_chunked_framing(echo_mesh):
    """RFC 9112 §6.1: a server MUST NOT send Transfer-Encoding to an HTTP/1.0 client. The app's
    chunked response reaches it unframed, ended by the connection's close."""
    body = b"hello from an HTTP/1.0 client\n" * 100
    request = (f"POST /echo?chunked=1 HTTP/1.0\r\nHost: {echo_mesh.service}\r\n"
               f"Content-Length: {len(body)}\r\n\r\n").encode() + body
    with socket.create_connection(("127.0.0.1", echo_mesh.client.outbound), timeout=10) as s:
        s.sendall(request)
        received = b""
        while chunk := s.recv(65536):  # to the end: the connection's close ends the body
            received += chunk
    head, _, rest = received.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    assert lines[0].startswith("HTTP/1.1 200"), head
    names = {line.split(":", 1)[0].strip().lower() for line in lines[1:]}
    assert "transfer-encoding" not in names, head
    assert rest == body, f"{len(rest)} bytes, head: {head}"
