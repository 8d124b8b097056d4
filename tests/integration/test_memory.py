"""Memory returns after an attack (issue #14 §4): once an attack stops, a sidecar's RSS comes
back to within 2x of its idle value within 30 s, instead of glibc keeping the freed heap.

curl / raw sockets -> web sidecar -> backend sidecar -> nginx
"""

from __future__ import annotations

import multiprocessing
import socket
import subprocess

import pytest

import mesh as M
import test_h2_abuse as abuse

pytestmark = pytest.mark.skipif(
    M.proxy_sanitized(), reason="ASan's quarantine holds freed memory: RSS says nothing here "
                                "(the Release run of the suite checks it)")


def rss_mb(proxy: M.Proxy) -> float:
    for line in open(f"/proc/{proxy.proc.pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


@pytest.fixture
def pair(proxies, app):
    p = proxies.sidecar_pair(app_port=app.port, service="backend",
                             extra_args=M.app_protocol_args("http1"))
    for _ in range(50):  # warm: pooled connections, metric series, TLS sessions
        subprocess.run(["curl", "-s", "-o", "/dev/null", "-H", "Host: backend",
                        f"http://127.0.0.1:{p.client.outbound}/hello"], timeout=10, check=True)
    return p


def settles(proxy: M.Proxy, idle: float, what: str) -> None:
    peak = rss_mb(proxy)
    ok = M.wait_until(lambda: rss_mb(proxy) <= 2 * idle, 30, 0.5)
    assert ok, (f"{what}: RSS {peak:.1f} MB at the end of the attack, still {rss_mb(proxy):.1f} "
                f"MB 30 s later (idle {idle:.1f} MB)")


def test_header_buffers_of_a_burst_are_returned(pair):
    idle = rss_mb(pair.client)
    head = b"GET /hello HTTP/1.1\r\nHost: backend\r\nx-big: " + b"a" * 60000  # never finished
    socks = []
    try:
        for _ in range(800):
            s = socket.create_connection(("127.0.0.1", pair.client.outbound), timeout=5)
            s.sendall(head)
            socks.append(s)
        # the sidecar holds them all: the attack made it grow (else this proves nothing)
        assert M.wait_until(lambda: rss_mb(pair.client) > 4 * idle, 10, 0.2), \
            f"800 held 60 KiB heads: RSS {rss_mb(pair.client):.1f} MB, idle {idle:.1f} MB"
    finally:
        for s in socks:
            s.close()
    settles(pair.client, idle, "800 connections holding 60 KiB heads")


def test_rapid_reset_leaves_no_memory_behind(pair):
    idle, server_idle = rss_mb(pair.client), rss_mb(pair.server)
    results = multiprocessing.get_context("fork").Queue()
    abuse.rapid_reset(pair.client.outbound, 100_000, 60, results)
    stats = results.get(timeout=10)
    assert stats["resets"] >= 100_000, stats
    settles(pair.client, idle, "100,000 rapid resets")
    settles(pair.server, server_idle, "100,000 rapid resets (server sidecar)")
