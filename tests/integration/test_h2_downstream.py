"""HTTP/2 from the app (h2c with prior knowledge on the outbound port) and from peers (h2 by
ALPN on the inbound port), with real clients: curl, nghttp, h2load.  The apps behind these
sidecars (nginx, the Python echo app) speak HTTP/1.1 only, so their sidecars run with
--app-protocol http1: the requests cross the sidecars as HTTP/2 and reach the apps as
HTTP/1.1."""

import hashlib
import re
import signal
import socket
import struct
import subprocess
import time

import pytest

import mesh as M

SIZES = M.BODY_SIZES
PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
H2C = "--http2-prior-knowledge"


@pytest.fixture(scope="module")
def big_static(app):
    sha = M.write_random(app.www / "big-h2.bin", 10 << 20)
    return "/big-h2.bin", sha


def run(argv, timeout=60):
    return subprocess.run(argv, capture_output=True, timeout=timeout, env=M.CURL_ENV)


def frames(data: bytes):
    """(type, flags, stream_id, payload) of each whole HTTP/2 frame in data."""
    out, pos = [], 0
    while pos + 9 <= len(data):
        length = int.from_bytes(data[pos:pos + 3], "big")
        ftype, flags = data[pos + 3], data[pos + 4]
        sid = struct.unpack(">I", data[pos + 5:pos + 9])[0] & 0x7FFFFFFF
        out.append((ftype, flags, sid, data[pos + 9:pos + 9 + length]))
        pos += 9 + length
    return out


def test_h2c_get(h2_mesh):
    r = h2_mesh.get("/hello", H2C, "-v")
    assert r.rc == 0 and r.status == 200, r
    assert r.body == b"hello from backend\n"
    assert "HTTP/2 200" in r.stderr, r


def test_h2c_get_10mb_static(h2_mesh, big_static):
    path, sha = big_static
    r = h2_mesh.get(path, H2C, timeout=60)
    assert r.rc == 0 and r.status == 200, r
    assert len(r.body) == 10 << 20
    assert hashlib.sha256(r.body).hexdigest() == sha
    assert r.header("content-length") == str(10 << 20), r


@pytest.mark.parametrize("size", list(SIZES))
@pytest.mark.parametrize("response", ["length", "chunked"])
def test_h2c_post_echo(h2_echo_mesh, payloads, size, response):
    path, sha = payloads[size]
    q = "?chunked=1" if response == "chunked" else ""
    r = h2_echo_mesh.get(f"/echo{q}", H2C, "-X", "POST", "--data-binary", f"@{path}",
                      "-H", "Content-Type: application/octet-stream", timeout=60)
    assert r.rc == 0 and r.status == 200, r
    assert len(r.body) == SIZES[size], f"echoed {len(r.body)} of {SIZES[size]} bytes: {r}"
    assert hashlib.sha256(r.body).hexdigest() == sha
    assert r.header("x-echo-peer") == M.spiffe("web"), r
    # curl sends content-length: the request crossed HTTP/1.1 hops with that framing
    assert r.header("x-echo-request-framing") == "length", r


def test_h2c_post_streamed_body(h2_echo_mesh, payloads):
    """A body without content-length (curl reads stdin) is streamed chunked upstream."""
    path, sha = payloads["1MiB"]
    argv = ["curl", "-sS", H2C, "--max-time", "60", "-H", "Host: reviews", "-H", "Expect:",
            "-X", "POST", "-T", "-", "-o", "-", h2_echo_mesh.url("/echo"), "-D", "/dev/stderr"]
    p = subprocess.run(argv, input=path.read_bytes(), capture_output=True, timeout=70,
                       env=M.CURL_ENV)
    assert p.returncode == 0, p.stderr[-500:]
    assert hashlib.sha256(p.stdout).hexdigest() == sha
    assert b"x-echo-request-framing: chunked" in p.stderr, p.stderr[-500:]


def test_http1_still_served_on_outbound_port(h2_mesh):
    r = h2_mesh.get("/hello")
    assert r.rc == 0 and r.status == 200 and r.body == b"hello from backend\n", r
    data, _ = M.raw_exchange(h2_mesh.client.outbound,
                             b"GET /hello HTTP/1.1\r\nHost: backend\r\nConnection: close\r\n\r\n")
    assert data.startswith(b"HTTP/1.1 200"), data[:200]


def test_upgrade_h2c_is_served_as_http11(h2_mesh):
    r = h2_mesh.get("/hello", "--http2", "-v")
    assert r.rc == 0 and r.status == 200 and r.body == b"hello from backend\n", r
    assert "< HTTP/1.1 200" in r.stderr and "HTTP/1.1 101" not in r.stderr, r


def test_nghttp_verbose(h2_mesh):
    p = run(["nghttp", "-v", "-H", ":authority: backend", h2_mesh.url("/hello")], timeout=20)
    out = p.stdout.decode(errors="replace")
    assert p.returncode == 0, out[-2000:] + p.stderr.decode(errors="replace")
    assert re.search(r"recv \(stream_id=\d+\) :status: 200", out), out[-2000:]
    assert "hello from backend" in out
    assert "recv SETTINGS frame" in out and "SETTINGS_MAX_CONCURRENT_STREAMS(0x03):100" in out, out[:2000]


def test_h2load_100_streams_on_one_connection(h2_mesh):
    p = run(["h2load", "-c", "1", "-m", "100", "-n", "2000", "-H", ":authority: backend",
             h2_mesh.url("/hello")], timeout=120)
    out = p.stdout.decode(errors="replace")
    assert p.returncode == 0, out + p.stderr.decode(errors="replace")
    assert re.search(r"requests: 2000 total, 2000 started, 2000 done, 2000 succeeded, 0 failed", out), out
    assert re.search(r"status codes: 2000 2xx, 0 3xx, 0 4xx, 0 5xx", out), out


def test_unknown_authority_is_404_on_its_stream(h2_mesh):
    r = h2_mesh.get("/hello", H2C, host="nosuch")
    assert r.status == 404, r
    assert r.header("x-weft-error") == "unknown service: nosuch", r


def test_garbage_after_preface_gets_goaway(h2_mesh):
    with socket.create_connection(("127.0.0.1", h2_mesh.client.outbound), timeout=5) as s:
        s.sendall(PREFACE + b"GARBAGE GARBAGE GARBAGE GARBAGE\r\n")
        data, eof = M.recv_all(s, timeout=5)
    got = frames(data)
    assert any(f[0] == 0x4 for f in got), data[:100]  # the server's SETTINGS
    goaways = [f for f in got if f[0] == 0x7]
    assert goaways, got
    error = struct.unpack(">I", goaways[0][3][4:8])[0]
    assert error != 0, goaways  # a connection error, not a graceful shutdown
    assert eof, "connection left open after GOAWAY"
    h2_mesh.client.assert_alive()


def test_inbound_h2_by_alpn_reaches_app(h2_mesh, certs):
    r = M.curl("--http2", "--cacert", str(certs / "ca.pem"), "-k",
               "--cert", str(certs / "web.pem"), "--key", str(certs / "web-key.pem"), "-v",
               h2_mesh.server.in_url("/headers"), timeout=10)
    assert r.rc == 0 and r.status == 200, r
    assert "ALPN: server accepted h2" in r.stderr, r.stderr[-1500:]
    assert r.body.startswith(f"peer={M.spiffe('web')} ".encode()), r


def test_inbound_http11_alpn_still_served(h2_mesh, certs):
    r = M.curl("--http1.1", "--cacert", str(certs / "ca.pem"), "-k",
               "--cert", str(certs / "web.pem"), "--key", str(certs / "web-key.pem"), "-v",
               h2_mesh.server.in_url("/headers"), timeout=10)
    assert r.rc == 0 and r.status == 200, r
    assert "ALPN: server accepted http/1.1" in r.stderr, r.stderr[-1500:]


def test_h2_metrics_count_bytes(h2_mesh):
    before = M.metric_sum(h2_mesh.client.metrics(), "tcp_read_bytes_total",
                          direction="outbound", peer="src")
    r = h2_mesh.get("/hello", H2C)
    assert r.status == 200, r
    after = M.metric_sum(h2_mesh.client.metrics(), "tcp_read_bytes_total",
                         direction="outbound", peer="src")
    assert after - before >= len(PREFACE), (before, after)


def test_sigterm_drain_sends_goaway_and_finishes_stream(proxies, app):
    """An h2c download in flight when SIGTERM arrives: GOAWAY (notice, then the last stream
    id), the stream completes, the proxy exits 0."""
    M.write_random(app.www / "slow" / "h2-one-mb.bin", 1 << 20)  # ~3 s at the /slow/ rate
    pair = proxies.sidecar_pair(app_port=app.port, service="backend",
                                extra_args=["--drain-seconds", "10", "--app-protocol", "http1"])
    nghttp = subprocess.Popen(["nghttp", "-v", "-n", "-H", ":authority: backend",
                               pair.url("/slow/h2-one-mb.bin")],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=M.CURL_ENV)
    try:
        started = M.wait_until(lambda: M.metric_sum(pair.client.metrics(), "request_total") >= 1, 5)
        assert started, "request did not reach the proxy"
        time.sleep(0.5)
        assert nghttp.poll() is None, "download finished too early for a drain test"
        pair.client.signal(signal.SIGTERM)
        stdout, stderr = nghttp.communicate(timeout=30)
    finally:
        if nghttp.poll() is None:
            nghttp.kill()
            nghttp.wait(5)
    out = stdout.decode(errors="replace")
    assert nghttp.returncode == 0, out[-2000:] + stderr.decode(errors="replace")
    assert re.search(r"recv \(stream_id=\d+\) :status: 200", out), out[-2000:]
    assert "recv GOAWAY frame" in out, out[-2000:]
    # the shutdown notice (last stream id 2^31-1), then the final GOAWAY naming our stream
    last_ids = re.findall(r"last_stream_id=(\d+), error_code=NO_ERROR", out)
    assert "2147483647" in last_ids and any(i not in ("0", "2147483647") for i in last_ids), out
    assert re.search(r"recv DATA frame <length=\d+, flags=0x01, stream_id=\d+>", out), out[-2000:]
    rc = pair.client.wait(13)
    assert rc == 0, f"exit code {rc}"
