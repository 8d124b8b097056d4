"""Admin port: health, config dump, Prometheus metrics."""

import calendar
import json
import os
import re
import subprocess
import time

import pytest

import mesh as M

GOLDEN = ["request_total", "response_total", "response_latency_ms", "tcp_open_total",
          "tcp_close_total", "tcp_open_connections", "tcp_read_bytes_total",
          "tcp_write_bytes_total", "identity_cert_expiration_timestamp_seconds"]

N = 20


def sent(mesh, path, n):
    for _ in range(n):
        r = mesh.get(path)
        assert r.rc == 0, r


def wait_metric(proxy, expected, name, **labels):
    """Poll (bounded) until metric sum reaches expected; return the last value."""
    val = None

    def reached():
        nonlocal val
        val = M.metric_sum(proxy.metrics(), name, **labels)
        return val >= expected

    M.wait_until(reached, 3.0, 0.1)
    return val


@pytest.mark.parametrize("which", ["client", "server"])
@pytest.mark.parametrize("path", ["/live", "/ready"])
def test_health(mesh, which, path):
    p = getattr(mesh, which)
    status, _, _ = M.http_get(p.admin_url(path))
    assert status == 200


def test_config_dump(mesh):
    status, headers, body = M.http_get(mesh.client.admin_url("/config"))
    assert status == 200
    doc = json.loads(body)
    text = json.dumps(doc)
    assert "backend" in text
    assert f"127.0.0.1:{mesh.server.inbound}" in text
    assert M.spiffe("backend") in text


def test_metrics_format_and_names(mesh):
    sent(mesh, "/hello", 2)
    status, headers, body = M.http_get(mesh.client.admin_url("/metrics"))
    assert status == 200
    assert headers.get("content-type", "").startswith("text/plain"), headers
    text = body.decode()
    samples = M.parse_metrics(text)
    names = {s.name for s in samples}
    for g in GOLDEN:
        if g == "response_latency_ms":
            for suffix in ("_bucket", "_sum", "_count"):
                assert g + suffix in names, f"{g}{suffix} missing"
            assert re.search(r"^# TYPE response_latency_ms histogram$", text, re.M)
        else:
            assert g in names, f"{g} missing from /metrics"


def test_request_and_response_counts(mesh):
    out_lbl = dict(direction="outbound", status_code="200", classification="success", tls="true")
    in_lbl = dict(direction="inbound", status_code="200", classification="success", tls="true")
    before_c = M.metric_sum(mesh.client.metrics(), "response_total", **out_lbl)
    before_cr = M.metric_sum(mesh.client.metrics(), "request_total", direction="outbound")
    before_s = M.metric_sum(mesh.server.metrics(), "response_total", **in_lbl)
    before_sr = M.metric_sum(mesh.server.metrics(), "request_total", direction="inbound")
    before_lat = M.metric_sum(mesh.client.metrics(), "response_latency_ms_count", direction="outbound")

    sent(mesh, "/hello", N)

    c = wait_metric(mesh.client, before_c + N, "response_total", **out_lbl)
    s = wait_metric(mesh.server, before_s + N, "response_total", **in_lbl)
    assert c - before_c == N, f"client outbound response_total grew by {c - before_c}, sent {N}"
    assert s - before_s == N, f"server inbound response_total grew by {s - before_s}, sent {N}"
    cm, sm = mesh.client.metrics(), mesh.server.metrics()
    assert M.metric_sum(cm, "request_total", direction="outbound") - before_cr == N
    assert M.metric_sum(sm, "request_total", direction="inbound") - before_sr == N
    assert M.metric_sum(cm, "response_latency_ms_count", direction="outbound") - before_lat == N

    series = M.select(cm, "response_total", **out_lbl)
    assert series and all(x.labels.get("authority") for x in series), series
    assert all("backend" in x.labels.get("dst_service", "") for x in series), series


def test_failure_classification(mesh):
    lbl = dict(status_code="503", classification="failure")
    before_c = M.metric_sum(mesh.client.metrics(), "response_total", direction="outbound", **lbl)
    before_s = M.metric_sum(mesh.server.metrics(), "response_total", direction="inbound", **lbl)
    sent(mesh, "/status/503", 5)
    c = wait_metric(mesh.client, before_c + 5, "response_total", direction="outbound", **lbl)
    s = wait_metric(mesh.server, before_s + 5, "response_total", direction="inbound", **lbl)
    assert c - before_c == 5
    assert s - before_s == 5
    # and none of them was counted as a success
    ok503 = M.metric_sum(mesh.client.metrics(), "response_total", direction="outbound",
                         status_code="503", classification="success")
    assert ok503 == 0


def test_latency_histogram_consistent(mesh):
    sent(mesh, "/hello", 3)
    samples = mesh.client.metrics()
    buckets = M.select(samples, "response_latency_ms_bucket", direction="outbound")
    assert buckets
    groups = {}
    for b in buckets:
        key = tuple(sorted((k, v) for k, v in b.labels.items() if k != "le"))
        groups.setdefault(key, []).append(b)
    for key, bs in groups.items():
        inf = [b.value for b in bs if b.labels["le"] == "+Inf"]
        assert inf, f"no +Inf bucket for {key}"
        vals = [b.value for b in sorted(bs, key=lambda b: float(b.labels["le"]))]
        assert vals == sorted(vals), f"buckets not cumulative for {key}: {vals}"
        count = [s.value for s in M.select(samples, "response_latency_ms_count", **dict(key))]
        assert count == [inf[0]], f"_count != +Inf bucket for {key}"


def test_tcp_metrics(mesh):
    before = mesh.client.metrics()
    sent(mesh, "/hello", 3)
    M.wait_until(lambda: M.metric_sum(mesh.client.metrics(), "tcp_close_total")
                 >= M.metric_sum(before, "tcp_close_total") + 3, 3.0, 0.1)
    after = mesh.client.metrics()
    for name in ("tcp_open_total", "tcp_close_total", "tcp_read_bytes_total",
                 "tcp_write_bytes_total"):
        assert M.metric_sum(after, name) > M.metric_sum(before, name), name
    assert M.metric_sum(after, "tcp_open_total") - M.metric_sum(before, "tcp_open_total") >= 3
    assert all(s.value >= 0 for s in M.select(after, "tcp_open_connections"))


def test_cert_validity_metrics(mesh, certs):
    out = subprocess.run(["openssl", "x509", "-noout", "-startdate", "-enddate", "-in",
                          str(certs / "web.pem")],
                         capture_output=True, text=True, timeout=10, check=True).stdout
    dates = dict(line.split("=", 1) for line in out.strip().splitlines())

    def epoch(text):
        return calendar.timegm(time.strptime(text, "%b %d %H:%M:%S %Y %Z"))
    metrics = mesh.client.metrics()
    for name, want in (("identity_cert_expiration_timestamp_seconds", epoch(dates["notAfter"])),
                       ("identity_cert_not_before_timestamp_seconds", epoch(dates["notBefore"]))):
        vals = [s.value for s in M.select(metrics, name)]
        assert vals, f"{name} missing"
        assert all(abs(v - want) <= 1 for v in vals), (name, vals, want)


def test_process_metrics(mesh):
    """The usual process metrics, for the per-proxy resources panels: this process's own."""
    metrics = mesh.client.metrics()
    rss = [s.value for s in M.select(metrics, "process_resident_memory_bytes")]
    status = open(f"/proc/{mesh.client.proc.pid}/status").read()
    kib = int(next(line for line in status.splitlines() if line.startswith("VmRSS:")).split()[1])
    assert len(rss) == 1 and 0.5 * kib * 1024 < rss[0] < 2 * kib * 1024, (rss, kib)
    fds = [s.value for s in M.select(metrics, "process_open_fds")]
    assert len(fds) == 1 and abs(fds[0] - len(os.listdir(f"/proc/{mesh.client.proc.pid}/fd"))) <= 2
    start = [s.value for s in M.select(metrics, "process_start_time_seconds")]
    assert len(start) == 1 and time.time() - 600 < start[0] <= time.time(), start
    assert [s.value for s in M.select(metrics, "process_cpu_seconds_total")][0] > 0


KNOWN_LINT = "response_latency_ms metric names should not contain abbreviated units"


@pytest.mark.parametrize("which", ["client", "server"])
def test_promtool_check_metrics(mesh, which):
    sent(mesh, "/hello", 2)
    sent(mesh, "/status/503", 1)
    text = getattr(mesh, which).metrics_text()
    p = subprocess.run(["promtool", "check", "metrics"], input=text.encode(),
                       capture_output=True, timeout=30)
    output = (p.stdout + p.stderr).decode()
    assert p.returncode in (0, 3), f"promtool rc={p.returncode}:\n{output}"
    problems = [ln for ln in output.splitlines() if ln.strip() and ln.strip() != KNOWN_LINT]
    assert not problems, "unexpected promtool complaints:\n" + "\n".join(problems)


def test_authorities_are_capped_per_worker(proxies, app):
    """A client choosing a new Host per request grows /metrics by at most 256 authority series
    per worker; later ones are counted under authority="overflow" (docs/architecture.md)."""
    web = proxies.start("web", service="web", app_port=app.port, workers=1)
    n = 300
    payload = b"".join(f"GET / HTTP/1.1\r\nHost: host-{i}.example\r\n\r\n".encode()
                       for i in range(n)) + b"GET / HTTP/1.1\r\nHost: last\r\nConnection: close\r\n\r\n"
    data, _ = M.raw_exchange(web.outbound, payload, timeout=10)
    responses = M.parse_responses(data)
    assert [r.status for r in responses] == [404] * (n + 1), data[-300:]

    def samples():
        return [s for s in web.metrics() if s.name == "request_total" and
                s.labels.get("direction") == "outbound"]
    assert M.wait_until(lambda: sum(s.value for s in samples()) == n + 1, 5)
    authorities = {s.labels["authority"] for s in samples()}
    assert len(authorities - {"overflow"}) <= 256 and "overflow" in authorities, len(authorities)
    overflow = sum(s.value for s in samples() if s.labels["authority"] == "overflow")
    assert overflow == n + 1 - len(authorities - {"overflow"}), overflow
