#!/usr/bin/python3
"""The push fleet bench (issue #17): weft-control with N simulated proxies — real TLS 1.3 +
HTTP/2 control streams (Python h2), each with a client certificate weft-control issued, each
registering and ACKing every update, no proxy behind them — then rounds of `weftctl split`,
timing apply -> update received (and ACKed) at every stream. Reports p50/p99 of that time, the
push bytes per change, weft-control's RSS and CPU. Then a real weft-proxy in a mesh of 10,000
Services of which 20 are in its scope: its RSS.

  bench/push_fleet.py [--streams 1000,10000] [--rounds 5]

Loopback only; every wait is bounded."""

import argparse
import asyncio
import json
import os
import resource
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import h2.config
import h2.connection
import h2.events

ROOT = Path(__file__).resolve().parents[1]
BUILD = Path(os.environ.get("WEFT_BUILD", ROOT / "build"))
CONTROL = BUILD / "control" / "weft-control"
WEFTCTL = BUILD / "control" / "weftctl"
PROXY = BUILD / "proxy" / "weft-proxy"


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


def metric(text: str, name: str) -> float:
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[-1])
    return 0.0


class Control:
    def __init__(self, work: Path):
        self.work = work
        self.listen, self.api, self.admin = free_port(), free_port(), free_port()
        self.data = work / "control"
        self.log = open(work / "control.log", "wb")
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


class Stream:
    """One simulated proxy: hello, then ACK every update; records when each version arrived."""

    def __init__(self, index: int, port: int, ctx: ssl.SSLContext):
        self.index, self.port, self.ctx = index, port, ctx
        self.arrived: dict[str, float] = {}
        self.bytes = 0
        self.connected = asyncio.Event()

    async def run(self, stop: asyncio.Event):
        reader, writer = await asyncio.open_connection("127.0.0.1", self.port, ssl=self.ctx)
        conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
        conn.initiate_connection()
        sid = conn.get_next_available_stream_id()
        conn.send_headers(sid, [(":method", "POST"), (":scheme", "https"),
                                (":path", "/v1/stream"),
                                (":authority", f"127.0.0.1:{self.port}"),
                                ("content-type", "application/x-ndjson")])
        hello = {"type": "hello", "node": {"service": "fleet", "namespace": "default",
                                           "address": f"127.0.0.{1 + self.index // 60000}:"
                                                      f"{1024 + self.index % 60000}",
                                           "egress": []}, "version": "", "held": {}}
        conn.send_data(sid, (json.dumps(hello) + "\n").encode())
        writer.write(conn.data_to_send())
        self.connected.set()
        buf = b""
        last_sent = time.monotonic()
        while not stop.is_set():
            try:
                data = await asyncio.wait_for(reader.read(65536), 5)
            except asyncio.TimeoutError:
                data = None
            if data is None or time.monotonic() - last_sent > 10:
                # The proxy's heartbeat: weft-control cuts off a stream silent for 30 s.
                conn.send_data(sid, b'{"type":"ping"}\n')
                writer.write(conn.data_to_send())
                last_sent = time.monotonic()
                if data is None:
                    continue
            if not data:
                break
            for event in conn.receive_data(data):
                if isinstance(event, h2.events.DataReceived):
                    conn.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
                    buf += event.data
                    self.bytes += len(event.data)
            while b"\n" in buf:
                line, buf = buf.split(b"\n", 1)
                m = json.loads(line)
                if m.get("type") == "update":
                    self.arrived[m["version"]] = time.monotonic()
                    ack = {"type": "ack", "nonce": m["nonce"], "version": m["version"]}
                    conn.send_data(sid, (json.dumps(ack) + "\n").encode())
                    last_sent = time.monotonic()
            out = conn.data_to_send()
            if out:
                writer.write(out)
        writer.close()


POLICY = """\
apiVersion: weft.dev/v1alpha1
kind: Service
metadata: {name: reviews}
spec:
  port: 9080
  subsets: [{name: v1, labels: {version: v1}}, {name: v2, labels: {version: v2}}]
---
apiVersion: weft.dev/v1alpha1
kind: HTTPRoute
metadata: {name: reviews}
spec:
  parentRefs: [{name: reviews}]
  rules:
    - backendRefs: [{name: reviews, subset: v1, weight: 90}, {name: reviews, subset: v2, weight: 10}]
"""


async def fleet_round(control: Control, n: int, rounds: int, cert: Path, key: Path) -> dict:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.load_cert_chain(str(cert), str(key))
    ctx.set_alpn_protocols(["h2"])
    stop = asyncio.Event()
    streams = [Stream(i, control.listen, ctx) for i in range(n)]
    tasks = []
    t0 = time.monotonic()
    for i in range(0, n, 200):  # open in batches of 200
        tasks += [asyncio.create_task(s.run(stop)) for s in streams[i:i + 200]]
        await asyncio.gather(*(s.connected.wait() for s in streams[i:i + 200]))
    connect_s = time.monotonic() - t0

    async def all_have(version: str, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if all(version in s.arrived for s in streams):
                return True
            await asyncio.sleep(0.01)
        return False

    def proxies_version() -> str:
        return json.loads(control.ctl("proxies", "-o", "json"))["version"]

    # Wait for every stream to be registered and hold the mesh.
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not all(s.arrived for s in streams):
        await asyncio.sleep(0.1)
    await asyncio.sleep(1)
    m0 = control.metrics()
    cpu0 = cpu_seconds(control.proc.pid)
    latencies, missing = [], 0
    for r in range(rounds):
        weights = ("v1=50", "v2=50") if r % 2 == 0 else ("v1=90", "v2=10")
        start = time.monotonic()
        await asyncio.to_thread(control.ctl, "split", "reviews", *weights)
        version = await asyncio.to_thread(proxies_version)
        ok = await all_have(version, 60)
        if not ok:
            missing += sum(1 for s in streams if version not in s.arrived)
        latencies += [s.arrived[version] - start for s in streams if version in s.arrived]
        await asyncio.sleep(0.5)
    cpu = cpu_seconds(control.proc.pid) - cpu0
    m1 = control.metrics()
    rss = rss_kib(control.proc.pid)
    stop.set()
    for t in tasks:
        t.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    latencies.sort()
    pushes = metric(m1, "control_pushes_total") - metric(m0, "control_pushes_total")
    push_bytes = metric(m1, "control_push_bytes_total") - metric(m0, "control_push_bytes_total")
    return {
        "streams": n,
        "connect_s": round(connect_s, 2),
        "rounds": rounds,
        "missing": missing,
        "apply_to_update_p50_ms": round(1000 * latencies[len(latencies) // 2], 1),
        "apply_to_update_p99_ms": round(1000 * latencies[int(len(latencies) * 0.99) - 1], 1),
        "push_bytes_per_proxy_per_change": round(push_bytes / max(pushes, 1)),
        "control_rss_mib": round(rss / 1024, 1),
        "control_cpu_s_per_change": round(cpu / rounds, 3),
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
            r = asyncio.run(fleet_round(control, n, args.rounds, cert, key))
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
