"""State keyed by configuration is pruned when a reload drops the key (issue 14 §4):
reloads that each rename every Service (and its HTTPRoute and DestinationPolicy), with a
request to each new name, leave /metrics and RSS flat.  Before, every Service ever seen
kept its per-worker state and its series (request/response/latency per destination,
the resilience families) for the life of the process.

Bounded in time: N reloads to warm up, then N more; after each half the set of series
(names and labels, with the renamed index normalized) must be the same and RSS must
not have grown by more than RSS_GROWTH_LIMIT_KB.  2,000 reloads in all (N = 1,000) take
~10 s here.  (Before: +15 MB of RSS and +2.7 MB of /metrics per 500 reloads.)"""

import re
import signal
import time

import fleet as F
import load
import mesh as M

N = 1000  # reloads per half; 2N in all
RSS_GROWTH_LIMIT_KB = 1536  # RSS growth allowed over the second N reloads
METRICS_SIZE_SLACK = 256  # bytes: sample values growing by a digit


def names(i: int) -> tuple[str, str]:
    return f"svc-{i:05d}", f"route-{i:05d}"  # fixed width: series text of equal length


def mesh_yaml(addrs: dict[str, str], i: int) -> str:
    svc, route = names(i)
    return F.documents(
        F.service_yaml(addrs, name=svc, sa=F.SERVICE),
        F.route_yaml("""
            - backendRefs: [{name: %s, subset: v1}]
              timeouts: {request: 5s}
            """ % svc, name=route, parent=svc),
        F.policy_yaml(svc, loadBalancer="round_robin",
                      connectionPool="{maxConnections: 50}"))


def rss_kb(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError(f"no VmRSS for pid {pid}")


NORMALIZE = re.compile(r"(svc|route)-\d{5}")


def normalize(value: str) -> str:
    return NORMALIZE.sub(r"\1-X", value)


def series(proxy: M.Proxy) -> tuple[list[str], int]:
    """The exported series as sorted 'name{labels}' strings, the renamed index replaced by
    'X', leaving out dst_service="unknown" (authorities no config names: 404s of a request
    that raced its reload; bounded by the 256-authority cap, not by configuration); and the
    size of /metrics in bytes."""
    text = proxy.metrics_text()
    out = []
    for s in M.parse_metrics(text):
        if s.labels.get("dst_service") == "unknown":
            continue
        labels = ",".join(f"{k}={normalize(v)}" for k, v in sorted(s.labels.items()))
        out.append(f"{s.name}{{{labels}}}")
    return sorted(out), len(text)


def wait_logged(proxy: M.Proxy, offset: int, needle: bytes, timeout: float = 5.0) -> int:
    """Wait (bounded, polling every 2 ms) for needle in the log after offset; returns the
    log size once seen, or -1."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with open(proxy.log_path, "rb") as f:
            f.seek(offset)
            text = f.read()
        if needle in text:
            return offset + len(text)
        time.sleep(0.002)
    return -1


def test_renaming_every_service_leaves_metrics_and_rss_flat(proxies, version_apps):
    fleet = F.start_fleet(proxies, {"v1": version_apps["v1"].port},
                          lambda addrs: mesh_yaml(addrs, 0), client_workers=1)
    client = fleet.client
    addrs = fleet.addrs()
    c = load.Client(client.outbound, names(0)[0])
    offset = F.log_size(client)
    misses = 0

    def rename(i: int) -> None:
        nonlocal offset, misses
        F.write_config(client, mesh_yaml(addrs, i))
        client.signal(signal.SIGHUP)
        offset = wait_logged(client, offset, b"config version %d loaded" % (i + 1))
        assert offset >= 0, f"reload {i} was not applied:\n{M.tail(client.log_path, 5)}"
        c.host = names(i)[0]
        for _ in range(200):  # the worker takes the new config just after the main thread
            r = c.get("/")
            if r.status == 200:
                break
            misses += 1
            time.sleep(0.002)
        assert r.status == 200 and r.body == b"v1\n", f"{c.host} after reload {i}: {r}"

    try:
        assert c.get("/").status == 200
        for i in range(1, N + 1):
            rename(i)
        series_n, size_n = series(client)
        rss_n = rss_kb(client.proc.pid)
        for i in range(N + 1, 2 * N + 1):
            rename(i)
        series_2n, size_2n = series(client)
        rss_2n = rss_kb(client.proc.pid)
    finally:
        c.close()

    # Values may gain digits (counters, the config version); series may not be added.
    assert abs(size_2n - size_n) <= METRICS_SIZE_SLACK, \
        f"/metrics went from {size_n} to {size_2n} bytes over reloads {N}..{2 * N}"
    gone = sorted(set(series_n) - set(series_2n))
    new = sorted(set(series_2n) - set(series_n))
    assert series_n == series_2n, \
        f"/metrics series changed between {N} and {2 * N} renaming reloads " \
        f"({len(series_n)} -> {len(series_2n)} series, {size_n} -> {size_2n} bytes; " \
        f"{misses} requests raced a reload): new {new[:5]}, gone {gone[:5]}"
    assert F.metric(client, "config_reload_total", result="applied") == 2 * N
    svc = [s for s in series_2n if "dst_service=svc-X" in s]
    assert svc, "no series for the current Service: the test does not exercise them"
    if M.proxy_sanitized():
        return  # ASan's quarantine holds freed memory: RSS says nothing
    assert rss_2n - rss_n <= RSS_GROWTH_LIMIT_KB, \
        f"RSS grew by {rss_2n - rss_n} KiB over reloads {N}..{2 * N} " \
        f"({rss_n} -> {rss_2n} KiB; /metrics {size_n} -> {size_2n} bytes)"
