"""SIGHUP re-reads --config (issue #3): weights shift under steady load without a
failed request, and an invalid file is rejected with file:line and reason while the
previous config keeps serving."""

import signal
import subprocess
import time

import pytest

import fleet as F
import load
import mesh as M

V1, V2 = b"v1\n", b"v2\n"


def rules(w1: int, w2: int) -> str:
    return f"""
    - matches: [{{headers: [{{name: canary, value: "true"}}]}}]
      backendRefs: [{{name: reviews, subset: v2}}]
    - matches: [{{path: {{type: PathPrefix, value: /api}}}}]
      backendRefs:
        - {{name: reviews, subset: v1, weight: {w1}}}
        - {{name: reviews, subset: v2, weight: {w2}}}
      timeouts: {{request: 5s}}
    """


def mesh_yaml(addrs, w1: int, w2: int) -> str:
    return F.documents(F.service_yaml(addrs), F.route_yaml(rules(w1, w2)))


@pytest.fixture
def fleet(proxies, version_apps):
    return F.start_fleet(proxies, {v: a.port for v, a in version_apps.items()},
                         lambda addrs: mesh_yaml(addrs, 90, 10), client_workers=2)


def test_weights_to_0_100_by_sighup_under_steady_load(fleet):
    steady = load.SteadyLoad(fleet.client.outbound, F.SERVICE, "/api", threads=4,
                             pause=0.002).start()
    try:
        assert M.wait_until(lambda: steady.count() >= 300, 10), \
            f"load did not get going: {steady.count()} requests in 10 s"
        t_sighup = time.monotonic()
        assert F.reload(fleet.client, mesh_yaml(fleet.addrs(), 0, 100)), \
            "weft_config_version did not move within 5 s of SIGHUP"
        t_applied = time.monotonic()  # every request sent from now on sees the new weights
        at_reload = steady.count()
        assert M.wait_until(lambda: steady.count() >= at_reload + 400, 10), \
            f"load stalled after the reload: {steady.count() - at_reload} requests in 10 s"
    finally:
        results = steady.stop()

    failed = [r for r in results if r.status != 200 or r.body not in (V1, V2)]
    assert not failed, f"{len(failed)} of {len(results)} requests failed around the reload: " \
                       f"{load.tally(failed).most_common(5)}"
    before = [r for r in results if r.end < t_sighup]
    after = [r for r in results if r.start > t_applied]
    assert sum(r.body == V1 for r in before) > 0.8 * len(before), \
        f"before the reload the split was not 90/10: {load.tally(before)}"
    assert len(after) >= 300, f"only {len(after)} requests were sent after the reload"
    stale = [r for r in after if r.body != V2]
    assert not stale, f"{len(stale)} of {len(after)} requests sent after the reload " \
                      f"did not reach v2: {load.tally(stale)}"


# An invalid file: (what is wrong, the line to put in place of the v1 backendRef, a word
# the reason must contain).
INVALID = [
    ("weight-not-a-number", "- {name: reviews, subset: v1, weight: ninety}", "weight"),
    ("unknown-subset", "- {name: reviews, subset: v3, weight: 0}", "v3"),
]


@pytest.mark.parametrize("case,bad_line,reason", INVALID, ids=[c[0] for c in INVALID])
def test_invalid_config_rejected_previous_keeps_serving(fleet, case, bad_line, reason):
    good = mesh_yaml(fleet.addrs(), 0, 100)
    assert F.reload(fleet.client, good), "the valid 0/100 config was not applied"
    version = F.config_version(fleet.client)

    lines = good.splitlines()
    at = [i for i, ln in enumerate(lines) if "subset: v1, weight: 0}" in ln]
    assert len(at) == 1, good
    indent = lines[at[0]][:len(lines[at[0]]) - len(lines[at[0]].lstrip())]
    lines[at[0]] = indent + bad_line
    lineno = at[0] + 1

    offset = F.log_size(fleet.client)
    F.write_config(fleet.client, "\n".join(lines) + "\n")
    fleet.client.signal(signal.SIGHUP)
    where = f"{fleet.client.config_path}:{lineno}:"
    logged = F.wait_log_line(fleet.client, offset, where, timeout=5)
    assert logged is not None, f"no log line naming {where} after SIGHUP; log since:\n" \
                               f"{M.tail(fleet.client.log_path, 15)}"
    assert reason in logged.split(where, 1)[1], f"the log line does not give the reason: {logged}"

    fleet.client.assert_alive()
    assert F.config_version(fleet.client) == version, "an invalid config changed the version"
    c = fleet.client_for()
    try:
        results = [c.get("/api") for _ in range(200)]
    finally:
        c.close()
    assert all(r.status == 200 and r.body == V2 for r in results), \
        f"the previous config (0/100) must keep serving: {load.tally(results)}"


def test_download_in_flight_survives_a_reload_that_removes_its_service(proxies, app, tmp_path):
    """A request keeps the configuration it started with (docs/architecture.md, Configuration
    snapshots): a reload that drops its Service does not cut it; new requests see the new one."""
    sha = M.write_random(app.www / "slow" / "reload.bin", 1 << 20)  # ~3 s at /slow/'s rate
    pair = proxies.sidecar_pair(app_port=app.port, service="backend")
    out = tmp_path / "download.bin"
    curl = subprocess.Popen(["curl", "-sS", "--max-time", "30", "-o", str(out), "-w", "%{http_code}",
                             "-H", "Host: backend", pair.url("/slow/reload.bin")],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=M.CURL_ENV)
    try:
        assert M.wait_until(lambda: out.exists() and out.stat().st_size > 64 * 1024, 5), \
            "download did not start"
        renamed = M.service_yaml("elsewhere", [(f"127.0.0.1:{pair.server.inbound}",
                                                M.spiffe("backend"))])
        assert F.reload(pair.client, renamed), "weft_config_version did not move after SIGHUP"
        assert curl.poll() is None, "the download must still be in flight at the reload"
        after = pair.get("/hello")
        assert after.status == 404 and "backend" in (after.header("x-weft-error") or ""), after
        stdout, stderr = curl.communicate(timeout=30)
    finally:
        if curl.poll() is None:
            curl.kill()
            curl.wait(5)
    assert curl.returncode == 0 and stdout.decode() == "200", stderr.decode()
    assert M.sha256_file(out) == sha
