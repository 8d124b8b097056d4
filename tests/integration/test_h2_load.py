"""HTTP/2 between sidecars and under load (issue #4): h2load with 100 concurrent streams
through the pair, one pooled HTTP/2 connection between the sidecars carrying h2 and
HTTP/1.1 requests from the app, large bodies both ways with nghttp (several at once on
the shared connection), a slow reader that must not make the sidecars buffer, and a
SIGTERM drain with gRPC calls in flight.

(tests/integration/test_h2_downstream.py covers the downstream codec itself: curl
bodies, h2load -n 2000, garbage after the preface, ALPN on the inbound port.)  Apps
that speak HTTP/1.1 only get --app-protocol http1."""

import hashlib
import signal
import threading

import pytest

import fleet as F
import grpc_apps as GA
import h2_clients as H
import load
import mesh as M

AUTH = ("-H", ":authority: backend")
BIG = 64 << 20


def tcp_opened(proxy: M.Proxy, direction: str, peer: str) -> float:
    return F.metric(proxy, "tcp_open_total", direction=direction, peer=peer)


def h1_pair(proxies, app) -> M.Mesh:
    return proxies.sidecar_pair(app_port=app.port, service="backend",
                                extra_args=M.app_protocol_args("http1"))


def warm_up(mesh: M.Mesh) -> None:
    """One request, so the connection between the sidecars exists before the load."""
    r = M.curl("--http2-prior-knowledge", "-H", "Host: backend", mesh.url("/hello"))
    assert r.status == 200 and r.body == b"hello from backend\n", r


def assert_one_connection_between_sidecars(mesh: M.Mesh) -> None:
    opened = (tcp_opened(mesh.client, "outbound", "dst"), tcp_opened(mesh.server, "inbound", "src"))
    assert opened == (1, 1), \
        f"connections between the sidecars (client opened, server accepted): {opened}, want one"


def rss_kb(proxy: M.Proxy) -> int:
    for line in open(f"/proc/{proxy.proc.pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


# ---------------------------------------------------------------- load and multiplexing

def test_h2load_100_streams_5000_requests_all_2xx(h2_mesh):
    r = H.h2load(h2_mesh.url("/hello"), "-c", "1", "-m", "100", "-n", "5000", *AUTH)
    assert (r.get("succeeded"), r.get("s2xx")) == (5000, 5000), r
    h2_mesh.client.assert_alive()
    h2_mesh.server.assert_alive()


def test_one_h2_connection_between_sidecars_carries_100_streams(proxies, app):
    mesh = h1_pair(proxies, app)
    warm_up(mesh)
    r = H.h2load(mesh.url("/hello"), "-c", "1", "-m", "100", "-n", "2000", *AUTH)
    assert (r.get("succeeded"), r.get("s2xx")) == (2000, 2000), r
    assert_one_connection_between_sidecars(mesh)


def test_http1_requests_from_app_share_the_h2_connection(proxies, app):
    """50 HTTP/1.1 connections from the app at once: one connection between the
    sidecars, and the nginx app still receives HTTP/1.1."""
    mesh = h1_pair(proxies, app)
    warm_up(mesh)
    served = (app.prefix / "access.log").read_text().count("\n")
    results = load.burst(mesh.client.outbound, "backend", "/hello", 50)
    assert [r.status for r in results] == [200] * 50, load.tally(results)
    assert_one_connection_between_sidecars(mesh)
    lines = (app.prefix / "access.log").read_text().splitlines()[served:]
    assert len(lines) >= 50 and all('"GET /hello HTTP/1.1"' in ln for ln in lines), lines[:5]


def test_concurrent_grpc_calls_share_one_connection(proxies, grpc_app):
    mesh = proxies.sidecar_pair(app_port=grpc_app.port, service="backend")
    with GA.channel(mesh.client.outbound) as ch:
        g = GA.GreeterClient(ch)
        g.say_hello("warm-up")
        assert GA.tally(GA.hello_many(g, 300, window=50)) == {"v1": 300}
    assert_one_connection_between_sidecars(mesh)


# ---------------------------------------------------------------- bodies and flow control

@pytest.mark.parametrize("size", ["1MiB", "10MiB"])
def test_nghttp_post_echo(h2_echo_mesh, payloads, size, tmp_path):
    path, sha = payloads[size]
    out = tmp_path / "echoed"
    rc, err = H.nghttp_body(h2_echo_mesh.url("/echo"), out, "-d", str(path),
                            "-H", ":authority: reviews")
    assert rc == 0, err
    assert out.stat().st_size == path.stat().st_size, f"echoed {out.stat().st_size} bytes: {err}"
    assert M.sha256_file(out) == sha


def test_nghttp_get_10mb(h2_mesh, app, tmp_path):
    sha = M.write_random(app.www / "big-h2.bin", 10 << 20)
    out = tmp_path / "got"
    rc, err = H.nghttp_body(h2_mesh.url("/big-h2.bin"), out, *AUTH)
    assert rc == 0, err
    assert out.stat().st_size == 10 << 20 and M.sha256_file(out) == sha, err


def test_four_10mb_echoes_at_once(h2_echo_mesh, payloads, tmp_path):
    """Four uploads and downloads share the connection between the sidecars; each
    comes back whole."""
    path, sha = payloads["10MiB"]
    res: dict[int, tuple[int, str]] = {}

    def one(i: int) -> None:
        res[i] = H.nghttp_body(h2_echo_mesh.url(f"/echo?n={i}"), tmp_path / f"out{i}",
                               "-d", str(path), "-H", ":authority: reviews", timeout=90)

    ts = [threading.Thread(target=one, args=(i,), daemon=True) for i in range(4)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(120)
    assert sorted(res) == [0, 1, 2, 3], f"finished: {sorted(res)}"
    for i in range(4):
        assert res[i][0] == 0, res[i][1]
        assert M.sha256_file(tmp_path / f"out{i}") == sha, f"echo {i} differs"


def test_slow_reader_does_not_make_sidecars_buffer(proxies, app):
    """A client that grants one stream no window beyond 64 KiB: the sidecars hold the
    64 MiB response back (memory stays flat), another stream on the same connection
    still completes, and the stalled one finishes whole once the window opens."""
    sha = M.write_random(app.www / "big64.bin", BIG)
    mesh = h1_pair(proxies, app)
    warm_up(mesh)
    before = {p.name: rss_kb(p) for p in (mesh.client, mesh.server)}
    c = H.RawH2(mesh.client.outbound).connect()
    try:
        c.request(1, "/big64.bin", "backend")
        assert c.pump(lambda: c.received(1) >= 65535, 10), \
            f"stream 1: {c.received(1)} bytes, resets {c.resets}, goaway {c.goaway}"
        c.request(3, "/hello", "backend")
        assert c.pump(lambda: 3 in c.ended, 10), "stream 3 stalled behind stream 1"
        assert bytes(c.data[3]) == b"hello from backend\n"
        c.pump(lambda: False, 2.0)  # time for a sidecar that buffers to do so
        assert c.received(1) <= 65535, f"sent {c.received(1)} bytes into a 65535-byte window"
        grown = {p.name: rss_kb(p) - before[p.name] for p in (mesh.client, mesh.server)}
        assert all(kb < 24 * 1024 for kb in grown.values()), f"RSS grew (kB): {grown}"
        c.window_update(1, BIG)
        assert c.pump(lambda: 1 in c.ended, 60), f"stream 1 stopped at {c.received(1)} bytes"
    finally:
        c.close()
    assert c.received(1) == BIG and hashlib.sha256(c.data[1]).hexdigest() == sha


# ---------------------------------------------------------------- drain

@pytest.mark.parametrize("which", ["client", "server"])
def test_sigterm_finishes_open_grpc_calls(proxies, grpc_app, which):
    mesh = proxies.sidecar_pair(app_port=grpc_app.port, service="backend")
    slow0 = grpc_app.stats()["calls"].get("Slow", 0)
    with GA.channel(mesh.client.outbound) as ch:
        g = GA.GreeterClient(ch)
        futs = [g.slow_call.future(GA.request(delay_ms=1500), timeout=15) for _ in range(10)]
        assert GA.reached_app(grpc_app, "Slow", slow0 + 10, futs), \
            f"the calls never reached the app: {[GA.outcome(f) for f in futs]}"
        proxy = mesh.client if which == "client" else mesh.server
        proxy.signal(signal.SIGTERM)
        codes = [GA.outcome(f, 20) for f in futs]
    assert codes == ["slept"] * 10, codes
    assert proxy.wait(15) == 0, f"{which} sidecar: {proxy.state()}"
