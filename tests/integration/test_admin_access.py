"""The admin port (issue 14 §4): /live, /ready and /metrics answer any client (kubelet and
Prometheus come over the pod network); /config and the other debug pages answer only
loopback clients, 403 with the reason and the flag otherwise, unless
--admin-debug-access any.  /config streams its JSON (chunked), so a large config does not
leave hundreds of MB of RSS behind.

A non-loopback client is this host's own non-loopback address as the *source* of a
connection to 127.0.0.1 (traffic stays on 127.0.0.1; the proxy sees the other address)."""

from __future__ import annotations

import http.client
import json
import socket
import subprocess

import pytest

import mesh as M

HEALTH = ["/live", "/ready", "/metrics"]
DEBUG = ["/config", "/nope"]


def local_non_loopback_ipv4() -> str | None:
    try:
        out = subprocess.run(["ip", "-o", "-4", "addr", "show", "scope", "global"],
                             capture_output=True, text=True, timeout=5).stdout
    except (OSError, subprocess.TimeoutExpired):
        return None
    for line in out.splitlines():
        parts = line.split()
        if "inet" in parts:
            addr = parts[parts.index("inet") + 1].split("/")[0]
            try:  # usable as a source toward 127.0.0.1?
                with socket.socket() as s:
                    s.bind((addr, 0))
                return addr
            except OSError:
                continue
    return None


SOURCE = local_non_loopback_ipv4()
needs_source = pytest.mark.skipif(SOURCE is None, reason="no non-loopback local IPv4 address")


def get(port: int, path: str, source: str | None = None) -> tuple[int, dict, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10,
                                      source_address=(source, 0) if source else None)
    try:
        conn.request("GET", path)
        r = conn.getresponse()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
    finally:
        conn.close()


def backend_yaml(port: int) -> str:
    return M.service_yaml("backend", [(f"127.0.0.1:{port}", M.spiffe("backend"))])


@pytest.fixture
def proxy(proxies, app):
    return proxies.start("web", service="web", app_port=app.port, config=backend_yaml(15999))


@pytest.fixture
def open_proxy(proxies, app):
    return proxies.start("web", service="web", app_port=app.port, config=backend_yaml(15999),
                         extra_args=["--admin-debug-access", "any"])


@needs_source
def test_debug_pages_only_to_loopback(proxy):
    for path in HEALTH:
        status, _, body = get(proxy.admin, path, SOURCE)
        assert status == 200, f"{path} from {SOURCE}: {status} {body[:200]!r}"
    for path in DEBUG:
        status, _, body = get(proxy.admin, path, SOURCE)
        assert status == 403, f"{path} from {SOURCE}: {status} {body[:200]!r}"
        text = body.decode()
        assert "loopback" in text and "--admin-debug-access any" in text and SOURCE in text, text
    status, _, body = get(proxy.admin, "/config")  # from 127.0.0.1
    assert status == 200 and "backend" in body.decode()


@needs_source
def test_admin_debug_access_any_opens_them(open_proxy):
    status, _, body = get(open_proxy.admin, "/config", SOURCE)
    assert status == 200, f"/config from {SOURCE} with --admin-debug-access any: {status} {body!r}"
    assert json.loads(body)["resources"][0]["metadata"]["name"] == "backend"
    assert get(open_proxy.admin, "/nope", SOURCE)[0] == 404


def test_config_is_streamed_chunked(proxy):
    status, headers, body = get(proxy.admin, "/config")
    assert status == 200
    assert headers.get("transfer-encoding") == "chunked", headers
    assert "content-length" not in headers, headers
    doc = json.loads(body)
    assert doc["version"] == 1 and doc["source"] == str(proxy.config_path)
    assert [r["metadata"]["name"] for r in doc["resources"]] == ["backend"]


def big_config(services: int) -> str:
    docs = []
    for i in range(services):
        eps = "".join(f"\n    - {{address: 127.0.0.1:{20000 + e}, identity: {M.spiffe('backend')},"
                      f" labels: {{version: v{e}, zone: zone-{i % 7}}}}}" for e in range(4))
        docs.append("apiVersion: weft.dev/v1alpha1\nkind: Service\n"
                    f"metadata: {{name: svc-{i:06d}, namespace: {M.NAMESPACE}}}\n"
                    f"spec:\n  port: 8080\n  endpoints:{eps}\n")
    return "---\n".join(docs)


def rss_kb(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        return next(int(ln.split()[1]) for ln in f if ln.startswith("VmRSS:"))


def test_large_config_does_not_leave_rss_behind(proxies, app):
    # ~8 MB of JSON: today's whole-document /config held ~10x that after answering.
    p = proxies.new("web", service="web", app_port=app.port, config=big_config(12000))
    p.start(ready_timeout=60)
    before = rss_kb(p.proc.pid)
    status, headers, body = get(p.admin, "/config")
    after = rss_kb(p.proc.pid)
    assert status == 200 and len(body) > 6_000_000, (status, len(body))
    assert body.endswith(b"}\n") and body.count(b'"kind": "Service"') == 12000
    if not M.proxy_sanitized():  # ASan's quarantine holds freed memory: RSS says nothing
        assert after - before < 16 * 1024, \
            f"/config of {len(body)} bytes left RSS {after - before} KiB higher " \
            f"({before} -> {after})"
    assert headers.get("transfer-encoding") == "chunked", headers
