#!/usr/bin/python3
"""The push fleet bench (issue #17): weft-control with N simulated proxies — real TLS 1.3 +
HTTP/2 control streams (bench/fleet/fleet_sim.cc, the proxy's own ControlStream), each with a
client certificate weft-control issued, each registering and ACKing every update, no proxy
behind them — then rounds of `weftctl split`, timing apply -> update applied at every stream.
Reports p50/p99 of that time, the push bytes per change, weft-control's RSS and CPU; then
kill -9 of weft-control and a restart on the same data: how long until every stream is back,
and one more change. Then a real weft-proxy in a mesh of 10,000 Services of which 20 are in its
scope: its RSS.

  bench/push_fleet.py [--streams 1000,10000] [--rounds 5]

Loopback only; every wait is bounded."""

import argparse
import json
import os
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent / "fleet"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "integration"))
from control_plane import REVIEWS_POLICY as POLICY, metric  # noqa: E402
from fleet_sim import FleetSim  # noqa: E402


ROOT = Path(__file__).resolve().parents[1]
BUILD = Path(os.environ.get("WEFT_BUILD", ROOT / "build"))
CONTROL = BUILD / "control" / "weft-control"
WEFTCTL = BUILD / "control" / "weftctl"
PROXY = BUILD / "proxy" / "weft-proxy"
SIM = BUILD / "bench" / "weft_fleet_sim"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_ready(admin_port: int, timeout: float, what: str) -> None:
    """Until GET /ready on the admin port answers 200; RuntimeError after `timeout` s."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{admin_port}/ready", timeout=1)
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"{what} not ready after {timeout} s")


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Control:
    def __init__(self, work: Path):
        self.work = work
        self.listen, self.api, self.admin = free_port(), free_port(), free_port()
        self.data = work / "control"
        self.log = open(work / "control.log", "ab")
        self.start()

    def kill_and_restart(self):
        self.proc.kill()
        self.proc.wait(timeout=30)
        self.start()

    def start(self):
        self.proc = subprocess.Popen(
            [str(CONTROL), "--data-dir", str(self.data), "--listen", f"127.0.0.1:{self.listen}",
             "--api", f"127.0.0.1:{self.api}", "--admin", f"127.0.0.1:{self.admin}",
             "--log-level", "warn", "--registration-ttl", "30s"],
            stdout=self.log, stderr=subprocess.STDOUT)
        wait_ready(self.admin, 20, "weft-control")

    def ctl(self, *args: str, input: str | None = None) -> str:
        p = subprocess.run([str(WEFTCTL), "--server", f"http://127.0.0.1:{self.api}",
                            "--data-dir", str(self.data), "--timeout", "120s", *args],
                           capture_output=True, text=True, input=input, timeout=180)
        if p.returncode != 0:
            raise RuntimeError(f"weftctl {' '.join(args)}: {p.stderr}")
        return p.stdout

    def metrics(self) -> str:
        return urllib.request.urlopen(f"http://127.0.0.1:{self.admin}/metrics",
                                      timeout=10).read().decode()

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=30)


def client_cert(control: Control, work: Path) -> tuple[Path, Path]:
    key, csr = work / "fleet-key.pem", work / "fleet.csr"
    subprocess.run(["openssl", "genpkey", "-algorithm", "EC", "-pkeyopt",
                    "ec_paramgen_curve:P-256", "-out", str(key)], check=True, capture_output=True)
    subprocess.run(["openssl", "req", "-new", "-key", str(key), "-subj", "/CN=fleet",
                    "-out", str(csr)], check=True, capture_output=True)
    token = control.ctl("token", "create", "--namespace", "default", "--service-account",
                        "fleet").strip()
    body = json.dumps({"csr": csr.read_text()}).encode()
    p = subprocess.run(["curl", "-sS", "-k", "--http2", "-H", f"authorization: Bearer {token}",
                        "-H", "content-type: application/json", "--data-binary", "@-",
                        f"https://127.0.0.1:{control.listen}/v1/certificates"],
                       input=body, capture_output=True, check=True, timeout=30)
    answer = json.loads(p.stdout)
    cert = work / "fleet.pem"
    cert.write_text(answer["certificate"] + answer["chain"])
    return cert, key


def percentile(sorted_ms: list[float], q: float) -> float:
    return round(sorted_ms[max(0, int(len(sorted_ms) * q) - 1)], 1) if sorted_ms else -1.0


def split_round(control: "Control", sim: FleetSim, r: int) -> tuple[list[float], int]:
    """One `weftctl split`: each stream's time from the apply to the update, and how many lack it
    after 60 s."""
    # A split never made before: a version is a content hash, so going back to earlier weights
    # would bring back a version the streams already hold.
    weights = (f"v1={60 + r}", f"v2={40 - r}")
    start = time.monotonic_ns()
    control.ctl("split", "reviews", *weights)
    version = json.loads(control.ctl("proxies", "-o", "json"))["version"]
    got = sim.ask("collect", version, start, 60)
    return got["ms"], got["streams"] - got["have"]


def fleet_round(control: "Control", n: int, rounds: int, cert: Path, key: Path,
                bundle: Path) -> dict:
    t0 = time.monotonic()
    sim = FleetSim(SIM, control.listen, cert, key, bundle, n, control.work / "fleet.log")
    try:
        ready = sim.ask("ready", 180)
        connect_s = time.monotonic() - t0
        if ready["have"] != n:
            raise RuntimeError(f"only {ready['have']} of {n} streams got a config in 180 s")
        time.sleep(1)
        m0 = control.metrics()
        cpu0 = cpu_seconds(control.proc.pid)
        latencies, missing = [], 0
        for r in range(rounds):
            ms, lacking = split_round(control, sim, r)
            latencies += ms
            missing += lacking
            time.sleep(0.5)
        cpu = cpu_seconds(control.proc.pid) - cpu0
        m1 = control.metrics()
        rss = rss_kib(control.proc.pid)
        # weft-control killed and restarted on the same data and port: every stream reconnects
        # (backoff from 1 s with jitter) and registers again; then one more change reaches all.
        control.kill_and_restart()
        t_restart = time.monotonic()
        deadline = t_restart + 120
        while time.monotonic() < deadline and \
                metric(control.metrics(), "control_connected_proxies") < n:
            time.sleep(0.1)
        reconnected_s = time.monotonic() - t_restart
        back = metric(control.metrics(), "control_connected_proxies")
        after_ms, after_missing = split_round(control, sim, rounds)
        after_ms.sort()
    finally:
        sim.stop()
    latencies.sort()
    pushes = metric(m1, "control_pushes_total") - metric(m0, "control_pushes_total")
    push_bytes = metric(m1, "control_push_bytes_total") - metric(m0, "control_push_bytes_total")
    return {
        "streams": n,
        "connect_s": round(connect_s, 2),
        "rounds": rounds,
        "missing": missing,
        "apply_to_update_p50_ms": percentile(latencies, 0.5),
        "apply_to_update_p99_ms": percentile(latencies, 0.99),
        "push_bytes_per_proxy_per_change": round(push_bytes / max(pushes, 1)),
        "control_rss_mib": round(rss / 1024, 1),
        "control_cpu_s_per_change": round(cpu / rounds, 3),
        "restart_all_reconnected_s": round(reconnected_s, 2),
        "restart_reconnected": int(back),
        "after_restart_p99_ms": percentile(after_ms, 0.99),
        "after_restart_missing": after_missing,
    }


def proxy_rss_in_a_big_mesh(control: Control, work: Path) -> dict:
    docs = []
    for i in range(10000):
        ns = f"team-{i % 100}" if i >= 20 else "default"
        docs.append(f"apiVersion: weft.dev/v1alpha1\nkind: Service\n"
                    f"metadata: {{name: svc-{i}, namespace: {ns}}}\nspec: {{port: 80}}\n")
    control.ctl("apply", "-f", "-", input="---\n".join(docs))
    token = work / "web.token"
    token.write_text(control.ctl("token", "create", "--namespace", "default",
                                 "--service-account", "web"))
    bundle = work / "bundle.pem"
    bundle.write_text(control.ctl("ca", "bundle"))
    admin = free_port()
    log = open(work / "proxy.log", "wb")
    proc = subprocess.Popen(
        [str(PROXY), "--service", "web", "--service-account", "web", "--workers", "1",
         "--outbound", f"127.0.0.1:{free_port()}", "--inbound", f"127.0.0.1:{free_port()}",
         "--admin", f"127.0.0.1:{admin}", "--control", f"https://127.0.0.1:{control.listen}",
         "--token-file", str(token), "--trust-bundle", str(bundle)],
        stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_ready(admin, 30, "weft-proxy")
        time.sleep(2)
        cfg = json.loads(urllib.request.urlopen(f"http://127.0.0.1:{admin}/config",
                                                timeout=10).read())
        services = sum(1 for r in cfg["resources"] if r["kind"] == "Service")
        return {"mesh_services": 10000, "in_scope": services,
                "proxy_rss_mib": round(rss_kib(proc.pid) / 1024, 1)}
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=40)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--streams", default="1000,10000")
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 65536), hard))
    results = []
    for n in [int(x) for x in args.streams.split(",")]:
        work = Path(tempfile.mkdtemp(prefix="weft-push-fleet-"))
        control = Control(work)
        try:
            control.ctl("apply", "-f", "-", input=POLICY)
            cert, key = client_cert(control, work)
            bundle = work / "bundle.pem"
            bundle.write_text(control.ctl("ca", "bundle"))
            r = fleet_round(control, n, args.rounds, cert, key, bundle)
            print(json.dumps(r), flush=True)
            results.append(r)
        finally:
            control.stop()
            shutil.rmtree(work, ignore_errors=True)
    work = Path(tempfile.mkdtemp(prefix="weft-push-mesh-"))
    control = Control(work)
    try:
        r = proxy_rss_in_a_big_mesh(control, work)
        print(json.dumps(r), flush=True)
    finally:
        control.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
