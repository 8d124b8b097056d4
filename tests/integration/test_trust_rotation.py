"""A full trust rotation under steady traffic: `weftctl ca rotate` adds a new root to the
bundle, weft-control issues from the new intermediate once every proxy reports holding both
roots, `weftctl ca rotate --finish` is refused while a proxy still holds a leaf from the old root
(naming it) and then drops the old root. A curl loop through a sidecar pair whose certificates
come from the control plane (--cert-ttl 15s) sees no failed request from start to end."""

import json
import subprocess
import threading
import time


import mesh as M
from clients import curl
from control_plane import Control
from test_dynamic_identity import BACKEND, WEB, start_pair


def verify_presented_chain(port: int, bundle) -> None:
    p = subprocess.run(["openssl", "s_client", "-connect", f"127.0.0.1:{port}", "-CAfile",
                        str(bundle), "-showcerts"], input=b"", capture_output=True, timeout=20)
    out = p.stdout.decode(errors="replace")
    assert "Verify return code: 0 (ok)" in out, out


class SteadyTraffic:
    """curl through the client sidecar until stopped (bounded: 10,000 requests, 4 minutes)."""

    def __init__(self, client):
        self.client = client
        self.requests = 0
        self.failures: list[tuple] = []
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        deadline = time.monotonic() + 240
        while not self.stopped.is_set() and self.requests < 10000 and time.monotonic() < deadline:
            r = curl("-H", "Host: backend", self.client.out_url("/rotating"), timeout=10)
            self.requests += 1
            if r.status != 200:
                self.failures.append((r.status, r.header("x-weft-error"), r.stderr))
            time.sleep(0.02)

    def stop(self):
        self.stopped.set()
        self.thread.join(timeout=30)


def status(control) -> dict:
    p = control.weftctl("ca", "status", "-o", "json")
    assert p.returncode == 0, p
    return json.loads(p.stdout)


def wait_for_phase(control, phase: str, timeout: float) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        doc = status(control)
        if doc["phase"] == phase:
            return doc
        time.sleep(0.2)
    raise AssertionError(f"not in phase {phase} after {timeout}s: {status(control)}")


def test_rotate_and_finish_under_steady_traffic_without_a_failure(proxies, tmp_path, echo_app):
    control = Control(tmp_path, "--trust-domain", M.TRUST_DOMAIN, "--cert-ttl", "15s").wait_ready()
    try:
        server, client = start_pair(proxies, control, tmp_path, echo_app.port)
        before = status(control)
        old_root = before["roots"][0]["fingerprint"]
        traffic = SteadyTraffic(client)
        time.sleep(1)

        p = control.weftctl("ca", "rotate")
        assert p.returncode == 0, p
        assert "phase: adding (trust bundle version 2)" in p.stdout, p.stdout
        doc = status(control)
        assert [r["fingerprint"] for r in doc["roots"]][0] == old_root and len(doc["roots"]) == 2
        assert doc["issuer"]["fingerprint"] == before["issuer"]["fingerprint"]
        # A second rotation cannot start while this one runs.
        p = control.weftctl("ca", "rotate")
        assert p.returncode == 1 and "rotation_in_progress" in p.stderr, p

        doc = wait_for_phase(control, "issuing-new", 90)
        assert doc["issuer"]["fingerprint"] != before["issuer"]["fingerprint"]
        assert all(h["bundleVersion"] >= 2 for h in doc["holders"]), doc["holders"]

        # The proxy whose renewal moved the rotation on still holds a leaf from the old root.
        p = control.weftctl("ca", "rotate", "--finish")
        assert p.returncode == 1, p
        assert "old_leaves_held" in p.stderr and "still hold a leaf from the old root" in p.stderr
        assert BACKEND in p.stderr or WEB in p.stderr, p.stderr

        deadline = time.monotonic() + 90
        while True:
            p = control.weftctl("ca", "rotate", "--finish")
            if p.returncode == 0 or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        assert p.returncode == 0, (p, status(control))
        doc = status(control)
        assert doc["phase"] == "steady"
        assert [r["fingerprint"] for r in doc["roots"]] != [old_root]
        assert len(doc["roots"]) == 1

        # Traffic goes on across the proxies' next renewals on the one-root bundle.
        new_bundle = control.bundle_path(tmp_path)
        time.sleep(12)
        traffic.stop()
        assert traffic.failures == [], traffic.failures[:5]
        assert traffic.requests > 100
        # The inbound port now presents a leaf that verifies against the new bundle alone.
        verify_presented_chain(server.inbound, new_bundle)
        for proxy in (server, client):
            proxy.assert_alive()
    finally:
        assert control.stop() == 0


def test_rotation_state_survives_a_restart(tmp_path):
    first = Control(tmp_path, "--trust-domain", M.TRUST_DOMAIN, name="first").wait_ready()
    p = first.weftctl("ca", "rotate")
    assert p.returncode == 0, p
    # No proxy holds a leaf: nobody to wait for, issuance moves to the new root at once.
    rotated = status(first)
    assert rotated["phase"] == "issuing-new", rotated
    assert first.stop() == 0
    second = Control(tmp_path, "--trust-domain", M.TRUST_DOMAIN, data_dir=first.data_dir,
                     name="second").wait_ready()
    try:
        again = status(second)
        assert again["phase"] == "issuing-new"
        assert again["issuer"]["fingerprint"] == rotated["issuer"]["fingerprint"]
        assert again["roots"] == rotated["roots"]
        p = second.weftctl("ca", "rotate", "--finish")
        assert p.returncode == 0, p
        assert status(second)["roots"] == [rotated["roots"][1]]
    finally:
        assert second.stop() == 0


def test_finish_without_a_rotation_is_refused(tmp_path):
    c = Control(tmp_path, "--trust-domain", M.TRUST_DOMAIN).wait_ready()
    try:
        p = c.weftctl("ca", "rotate", "--finish")
        assert p.returncode == 1 and "no rotation in progress" in p.stderr, p
    finally:
        assert c.stop() == 0
