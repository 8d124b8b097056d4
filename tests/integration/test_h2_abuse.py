"""HTTP/2 abuse on the plaintext HTTP/2 listener (issue 14 section 3): rapid reset
(CVE-2023-44487), control-frame floods (CVE-2019-9512/9515/9516/9518) and CONTINUATION floods
(CVE-2024-27316). The RFC 9113 conformance cases are in test_h2_conformance.py.

Traffic goes to a client sidecar's outbound port (h2c with prior knowledge) with frames built
by hand on raw sockets; requests are answered by nginx behind a server sidecar."""

from __future__ import annotations

import http.client
import multiprocessing
import socket
import statistics
import time

import pytest

import mesh as M
from h2_clients import (CONTINUATION, DATA, END_HEADERS, GET_BLOCK, HEADERS, PING, PREFACE,
                        SETTINGS, RawH2, frame, get_frame, goaway_in, hpack_literal, rst_frame)
from h2_clients import connect_raw as connect

PRIORITY = 2
NO_ERROR, CANCEL, ENHANCE_YOUR_CALM = 0x0, 0x8, 0xB

STATUS_CONF = """
        location = /nginx_status {{
            stub_status;
        }}
"""


class CountingNginx(M.Nginx):
    """nginx that reports how many connections it has accepted (stub_status)."""

    def config_text(self) -> str:
        text = super().config_text()
        i = text.index("        location = /hello {")
        return text[:i] + STATUS_CONF.replace("{{", "{").replace("}}", "}") + text[i:]

    def accepted(self) -> int:
        """Connections accepted so far, not counting the one that asks."""
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
        try:
            c.request("GET", "/nginx_status")
            body = c.getresponse().read().decode()
        finally:
            c.close()
        # "server accepts handled requests\n N N N"
        return int(body.splitlines()[2].split()[0]) - 1


@pytest.fixture(scope="module")
def counting_app(module_dir):
    n = CountingNginx(module_dir / "nginx").start()
    yield n
    n.stop()


@pytest.fixture(scope="module")
def abuse_mesh(module_proxies, counting_app) -> M.Mesh:
    # The app speaks HTTP/1.1 only: h2c callers' requests reach it as HTTP/1.1 too.
    return module_proxies.sidecar_pair(app_port=counting_app.port,
                                       extra_args=M.app_protocol_args("http1"))


POST_BLOCK = hpack_literal([(":method", "POST"), (":scheme", "http"), (":path", "/hello"),
                            (":authority", "backend")])





def wait_closed(h2: RawH2, timeout: float = 5.0) -> bool:
    return h2.pump(lambda: h2.closed, timeout) or h2.closed


# ---------------------------------------------------------------------------- rapid reset

RESETS = 100_000
ATTACK_SECONDS = 90


def rapid_reset(port: int, total: int, seconds: float, out) -> None:
    """In a child process (no GIL shared with the measuring client): HEADERS+RST_STREAM pairs
    in batches of 50, on new connections whenever the server ends one. Counts the resets the
    server processed: up to the last stream a GOAWAY names, else every pair written."""
    deadline = time.monotonic() + seconds
    done = connections = goaways = calm = 0
    while done < total and time.monotonic() < deadline:
        s = socket.create_connection(("127.0.0.1", port), timeout=5)
        connections += 1
        s.sendall(PREFACE + frame(SETTINGS, 0, 0))
        sid, written, buf, goaway = 1, 0, bytearray(), None
        while goaway is None and done + written < total and time.monotonic() < deadline:
            n = min(50, total - done - written)
            batch = bytearray()
            for _ in range(n):
                batch += get_frame(sid) + rst_frame(sid)
                sid += 2
            try:
                s.sendall(batch)
            except OSError:
                break
            written += n
            s.setblocking(False)
            try:
                while True:
                    chunk = s.recv(1 << 16)
                    if not chunk:
                        break
                    buf += chunk
            except (BlockingIOError, OSError):
                pass
            s.setblocking(True)
            goaway = goaway_in(buf)
        if goaway is None:  # the server may have closed after a GOAWAY still on its way
            s.settimeout(1.0)
            try:
                while goaway is None:
                    chunk = s.recv(1 << 16)
                    if not chunk:
                        break
                    buf += chunk
                    goaway = goaway_in(buf)
            except OSError:
                pass
        s.close()
        if goaway is not None:
            goaways += 1
            calm += goaway[1] == ENHANCE_YOUR_CALM
            done += min(written, (goaway[0] + 1) // 2)
        else:
            done += written
    out.put({"resets": done, "connections": connections, "goaways": goaways, "calm": calm})


class Steady:
    """One keep-alive HTTP/1.1 client of the outbound port, one request at a time."""

    def __init__(self, port: int):
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        self.errors: list[str] = []

    def run(self, n: int | None = None, until=None) -> list[float]:
        out = []
        while (n is not None and len(out) < n) or (until is not None and until()):
            t0 = time.perf_counter()
            try:
                self.conn.request("GET", "/hello", headers={"Host": "backend"})
                r = self.conn.getresponse()
                body = r.read()
                if r.status != 200 or body != b"hello from backend\n":
                    self.errors.append(f"{r.status} {r.getheader('x-weft-error')}")
            except OSError as e:
                self.errors.append(repr(e))
                self.conn.close()
            out.append(time.perf_counter() - t0)
        return out


def p99(samples: list[float]) -> float:
    return sorted(samples)[int(0.99 * (len(samples) - 1))]


def windowed_p99(samples: list[float], window: int = 200) -> float:
    """The median of the p99s of consecutive windows: one scheduler hiccup on this shared
    machine moves one window, not the verdict."""
    windows = [samples[i:i + window] for i in range(0, len(samples), window)]
    windows = [w for w in windows if len(w) >= window // 2] or [samples]
    return statistics.median(p99(w) for w in windows)


# The idle p99 on a shared 2-core machine is a millisecond or less and jitters, and the attacker
# itself takes one of the two cores: the bound is 2x the idle p99 (windowed_p99 of 600 requests)
# but never below 2x this floor.
IDLE_FLOOR = 0.005


def test_rapid_reset_costs_no_app_connections_and_leaves_steady_traffic_alone(
        abuse_mesh, counting_app):
    port = abuse_mesh.client.outbound
    steady = Steady(port)
    steady.run(50)  # warm: connections from client to server sidecar to app
    idle_p99 = windowed_p99(steady.run(600))
    accepted_before = counting_app.accepted()

    ctx = multiprocessing.get_context("fork")
    results = ctx.Queue()
    attacker = ctx.Process(target=rapid_reset, args=(port, RESETS, ATTACK_SECONDS, results))
    attacker.start()
    under_attack = steady.run(until=attacker.is_alive)
    attacker.join(10)
    stats = results.get(timeout=10)
    accepted = counting_app.accepted() - accepted_before
    attack_p99 = windowed_p99(under_attack) if under_attack else float("inf")
    print(f"rapid reset: {stats}; app connections {accepted}; steady p99 idle "
          f"{idle_p99 * 1000:.2f} ms, under attack {attack_p99 * 1000:.2f} ms "
          f"({len(under_attack)} requests)")

    assert stats["resets"] >= RESETS, f"the attack did not finish in {ATTACK_SECONDS} s: {stats}"
    assert not steady.errors, f"steady client errors: {steady.errors[:5]} ({len(steady.errors)})"
    assert accepted <= 4, f"the app accepted {accepted} connections during the attack: {stats}"
    # Every connection of the attack ended with GOAWAY(ENHANCE_YOUR_CALM) once over budget.
    assert stats["calm"] >= stats["connections"] - 1, stats
    assert len(under_attack) >= 20, f"only {len(under_attack)} steady requests ran: {stats}"
    # Latency is the Release build's to show: under ASan every request costs several times
    # as much CPU, and the attacker's share of the two cores decides the p99.
    bound = 2 * max(idle_p99, IDLE_FLOOR) if not M.proxy_sanitized() else float("inf")
    assert attack_p99 <= bound, (
        f"steady p99 {attack_p99 * 1000:.1f} ms under attack, idle "
        f"{idle_p99 * 1000:.1f} ms: {stats}")
    abuse_mesh.client.assert_alive()
    abuse_mesh.server.assert_alive()


def test_resets_after_responses_began_do_not_end_the_connection(abuse_mesh):
    """Cancelling streams whose response is under way is no abuse: many of them, fine."""
    h2 = connect(abuse_mesh.client.outbound)
    try:
        for sid in range(1, 2 * 150, 2):
            h2.sock.sendall(get_frame(sid))
            assert h2.pump(lambda: h2.headers_seen.get(sid), 5), f"no response on stream {sid}"
            h2.sock.sendall(rst_frame(sid))
        h2.pump(lambda: False, 0.3)
        assert h2.goaway is None and not h2.closed
    finally:
        h2.close()


# ---------------------------------------------------------------------------- floods

FLOODS = {
    "settings": lambda: b"".join(frame(SETTINGS, 0, 0) for _ in range(3000)),
    "priority": lambda: b"".join(frame(PRIORITY, 0, 2 * i + 1, b"\x00\x00\x00\x00\x10")
                                 for i in range(3000)),
    # an upload that never moves: empty DATA frames without END_STREAM (CVE-2019-9518)
    "empty-data": lambda: frame(HEADERS, END_HEADERS, 1, POST_BLOCK) + b"".join(
        frame(DATA, 0, 1) for _ in range(3000)),
}


@pytest.mark.parametrize("flood", list(FLOODS))
def test_control_frame_flood_gets_goaway_enhance_your_calm(abuse_mesh, flood):
    h2 = connect(abuse_mesh.client.outbound)
    try:
        h2.sock.sendall(FLOODS[flood]())
        h2.pump(lambda: h2.goaway is not None or h2.closed, 5)
        assert h2.goaway == ENHANCE_YOUR_CALM, f"GOAWAY {h2.goaway}, closed {h2.closed}"
        assert wait_closed(h2)
    finally:
        h2.close()
    abuse_mesh.client.assert_alive()


def test_ping_flood_from_a_client_that_does_not_read_ends_the_connection(abuse_mesh):
    """PINGs are not rate-limited (gRPC's BDP estimation sends one per round trip); a flood
    whose ACKs pile up unread (CVE-2019-9512) is: nghttp2 ends the connection past 1000
    queued ACKs. Guards the option; it held before too."""
    s = socket.create_connection(("127.0.0.1", abuse_mesh.client.outbound), timeout=5)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # ACKs back up soon
    pings = b"".join(frame(PING, 0, 0, b"12345678") for _ in range(4096))
    deadline = time.monotonic() + 20
    ended = False
    try:
        s.sendall(PREFACE + frame(SETTINGS, 0, 0))
        while time.monotonic() < deadline:
            s.sendall(pings)
    except OSError:  # reset or broken pipe: the server closed the connection
        ended = True
    finally:
        s.close()
    assert ended, "a client flooding PINGs without reading was never disconnected"
    abuse_mesh.client.assert_alive()


def test_continuation_flood_ends_the_connection(abuse_mesh):
    """A header block spread over endless CONTINUATION frames (CVE-2024-27316 class): nghttp2's
    bound (8 CONTINUATIONs) ends the connection. Guards the option; it held before too."""
    h2 = connect(abuse_mesh.client.outbound)
    try:
        one = hpack_literal([("x-pad", "y" * 100)])
        h2.sock.sendall(frame(HEADERS, 0, 1, GET_BLOCK) + b"".join(
            frame(CONTINUATION, 0, 1, one) for _ in range(200)))
        h2.pump(lambda: h2.goaway is not None or h2.closed, 5)
        assert h2.goaway is not None or h2.closed
        assert h2.goaway != NO_ERROR
        assert wait_closed(h2)
    finally:
        h2.close()
