"""Unmodified apps meshed by interception (issue #18), in network namespaces the test creates:
one namespace per "pod" on a bridge, each pod's rules written by `weft-proxy init` inside it,
its sidecar and its app run under their own UIDs. Pod A's app runs plain `curl` (no proxy
settings) to pod B's address or its Service's virtual IP and gets B's answer, which names A's
identity; a capture on A's interface shows TLS only. A server outside the mesh (pod C, no
sidecar) is still reached, as opaque TCP; a server-speaks-first protocol to B crosses as opaque
TCP inside mTLS; B refuses plaintext callers except on its permissive port; and the sidecars'
own connections are not looped back into them."""

import os
import shutil
import signal
import socket
import struct
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

import pytest

import mesh as M
from clients import metric_sum, parse_metrics

PROXY_UID = 1337
APP_UID = 1000
SUBNET = "10.88.0"
A, B, C = f"{SUBNET}.1", f"{SUBNET}.2", f"{SUBNET}.3"
VIP = "10.96.0.20"  # the backend Service's virtual IP (no interface holds it)
WEB_ID = M.spiffe("web")
BACKEND_ID = M.spiffe("backend")

ECHO_APP = r"""
import http.server, sys
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *a): pass
    def do_GET(self):
        body = f"hello from {sys.argv[1]}\n".encode()
        self.send_response(200)
        self.send_header("x-echo-peer", self.headers.get("x-weft-peer-identity", ""))
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
http.server.ThreadingHTTPServer(("0.0.0.0", int(sys.argv[2])), H).serve_forever()
"""

# A server that speaks first (as SMTP or MySQL do), then echoes one line.
BANNER_APP = r"""
import socketserver, sys
class H(socketserver.StreamRequestHandler):
    def handle(self):
        self.wfile.write(f"220 {sys.argv[1]} ready\n".encode())
        self.wfile.write(b"echo " + self.rfile.readline())
socketserver.ThreadingTCPServer.allow_reuse_address = True
socketserver.ThreadingTCPServer(("0.0.0.0", int(sys.argv[2])), H).serve_forever()
"""

# backend's endpoint is B's sidecar's inbound port, as weft-control registers it: the app dials
# B's own port 8080, which matches by B's IP. db's is written at the app's port itself.
MESH = f"""
apiVersion: weft.dev/v1alpha1
kind: Service
metadata: {{name: backend, namespace: default}}
spec:
  port: 8080
  addresses: ["{VIP}"]
  endpoints:
    - {{address: "{B}:15006", identity: "{BACKEND_ID}", labels: {{app: backend}}}}
---
apiVersion: weft.dev/v1alpha1
kind: Service
metadata: {{name: db, namespace: default}}
spec:
  port: 5432
  endpoints:
    - {{address: "{B}:5432", identity: "{BACKEND_ID}", labels: {{app: backend}}}}
"""


def sh(*args, check=True, timeout=60) -> subprocess.CompletedProcess:
    p = subprocess.run(list(args), capture_output=True, text=True, timeout=timeout)
    if check:
        assert p.returncode == 0, (args, p.stdout, p.stderr)
    return p


def in_ns(ns: str, *args, uid: int | None = None) -> list[str]:
    cmd = ["ip", "netns", "exec", ns]
    if uid is not None:
        cmd += ["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups"]
    return cmd + [str(a) for a in args]


class Pods:
    """Namespaces on one bridge, torn down with every process started in them."""

    def __init__(self, workdir: Path):
        self.id = uuid.uuid4().hex[:6]
        self.switch = f"weft-sw-{self.id}"
        self.workdir = workdir
        self.names: dict[str, str] = {}
        self.procs: list[tuple[str, subprocess.Popen, Path]] = []
        # The sidecars run as their own UID, which may not reach the build tree (under /root,
        # say): a copy they can run.
        self.binary = workdir / "weft-proxy"
        shutil.copy2(M.proxy_binary(), self.binary)
        os.chmod(self.binary, 0o755)

    def setup(self, pods: dict[str, str]) -> None:
        sh("ip", "netns", "add", self.switch)
        sh(*in_ns(self.switch, "ip", "link", "add", "br0", "type", "bridge"))
        sh(*in_ns(self.switch, "ip", "link", "set", "br0", "up"))
        for i, (pod, address) in enumerate(pods.items()):
            ns = f"weft-{pod}-{self.id}"
            self.names[pod] = ns
            sh("ip", "netns", "add", ns)
            sh("ip", "link", "add", f"w{self.id}{i}", "netns", ns, "type", "veth",
               "peer", "name", f"p{i}", "netns", self.switch)
            sh(*in_ns(self.switch, "ip", "link", "set", f"p{i}", "master", "br0", "up"))
            for cmd in (["ip", "link", "set", "lo", "up"],
                        ["ip", "link", "set", f"w{self.id}{i}", "name", "eth0"],
                        ["ip", "addr", "add", f"{address}/24", "dev", "eth0"],
                        ["ip", "link", "set", "eth0", "up"],
                        # Cluster IPs are routed to the pod network, as kube-proxy's are.
                        ["ip", "route", "add", "10.96.0.0/12", "dev", "eth0"]):
                sh(*in_ns(ns, *cmd))

    def start(self, pod: str, name: str, args: list, uid: int) -> subprocess.Popen:
        log = self.workdir / f"{pod}-{name}.log"
        out = open(log, "wb")
        p = subprocess.Popen(in_ns(self.names[pod], *args, uid=uid), stdout=out,
                             stderr=subprocess.STDOUT, start_new_session=True)
        self.procs.append((f"{pod}/{name}", p, log))
        return p

    def teardown(self) -> list[str]:
        """Stops everything; returns what went wrong (a sidecar that did not exit 0 on SIGTERM,
        a sanitizer report)."""
        problems = []
        for name, p, log in reversed(self.procs):
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
                try:
                    p.wait(15)
                except subprocess.TimeoutExpired:
                    os.killpg(p.pid, signal.SIGKILL)
                    p.wait(5)
                    problems.append(f"{name} ignored SIGTERM")
                    continue
            if "proxy" in name:
                if p.returncode != 0:
                    problems.append(f"{name} exited {p.returncode}: {M.tail(log)}")
                if report := M.sanitizer_report(log):
                    problems.append(f"{name}: {report}")
        for ns in [*self.names.values(), self.switch]:
            sh("ip", "netns", "del", ns, check=False)
        return problems


def pod_certs(certs: Path, out: Path, sa: str) -> Path:
    """The sidecar's certificate, key and trust bundle, readable by its UID only."""
    out.mkdir(parents=True, exist_ok=True)
    for src, dst in ((f"{sa}.pem", "cert.pem"), (f"{sa}-key.pem", "key.pem"), ("ca.pem", "ca.pem")):
        shutil.copyfile(certs / src, out / dst)
        os.chown(out / dst, PROXY_UID, PROXY_UID)
        os.chmod(out / dst, 0o600)
    os.chown(out, PROXY_UID, PROXY_UID)
    return out


def sidecar(pods: Pods, pod: str, certs: Path, sa: str, *extra, mesh: str = MESH) -> None:
    """`weft-proxy init` in the pod, then its sidecar as PROXY_UID with `mesh` as its config."""
    d = pods.workdir / f"{pod}-sidecar"
    pod_certs(certs, d, sa)
    (d / "mesh.yaml").write_text(mesh)
    os.chown(d / "mesh.yaml", PROXY_UID, PROXY_UID)
    p = sh(*in_ns(pods.names[pod], pods.binary, "init", "--proxy-uid", PROXY_UID,
                  "--ipv6", "off"), check=False)
    assert p.returncode == 0, p.stderr
    pods.start(pod, "proxy", [
        pods.binary, "--service", sa, "--service-account", sa,
        "--outbound", "127.0.0.1:15001", "--inbound", "0.0.0.0:15006",
        "--admin", "0.0.0.0:15020", "--app", "127.0.0.1:8080",
        "--cert", d / "cert.pem", "--key", d / "key.pem", "--trust-bundle", d / "ca.pem",
        "--config", d / "mesh.yaml", "--workers", "1", "--drain-seconds", "1", *extra],
        uid=PROXY_UID)
    assert M.wait_until(lambda: admin(pods, pod, "/ready").startswith("ready"), 15), \
        M.tail(pods.workdir / f"{pod}-proxy.log")


def admin(pods: Pods, pod: str, path: str) -> str:
    p = sh(*in_ns(pods.names[pod], "curl", "-s", "--max-time", "5",
                  f"http://127.0.0.1:15020{path}"), check=False)
    return p.stdout


def app_curl(pods: Pods, pod: str, url: str) -> subprocess.CompletedProcess:
    """What the app in `pod` gets from plain curl: no proxy settings, its own UID."""
    return subprocess.run(in_ns(pods.names[pod], "env", "-i", "curl", "-sS", "-i", "--max-time",
                                "10", url, uid=APP_UID),
                          capture_output=True, text=True, timeout=30)


def app_line(pods: Pods, pod: str, host: str, port: int, send: bytes) -> bytes:
    """Connects from the app's UID, reads the server's first line, sends `send`, reads one more."""
    script = ("import socket,sys\n"
              f"s=socket.create_connection(('{host}',{port}),timeout=10)\n"
              "f=s.makefile('rb')\n"
              "first=f.readline()\n"
              f"s.sendall({send!r})\n"
              "sys.stdout.buffer.write(first+f.readline())\n")
    p = subprocess.run(in_ns(pods.names[pod], "/usr/bin/python3", "-c", script, uid=APP_UID),
                       capture_output=True, timeout=30)
    return p.stdout + p.stderr


def tcp_payloads(pcap: Path, host: str, port: int | None = None) -> list[bytes]:
    """The TCP payloads to or from `host`:`port` (any port when None) in a tcpdump capture
    (Ethernet, IPv4)."""
    peer = socket.inet_aton(host)
    data = pcap.read_bytes()
    out, off = [], 24  # the global header
    while off + 16 <= len(data):
        incl = struct.unpack_from("<I", data, off + 8)[0]
        frame = data[off + 16:off + 16 + incl]
        off += 16 + incl
        if len(frame) < 34 or frame[12:14] != b"\x08\x00" or frame[23] != 6:
            continue
        ip = frame[14:]
        ihl = (ip[0] & 0x0F) * 4
        total = struct.unpack_from("!H", ip, 2)[0]
        tcp = ip[ihl:total]
        sport, dport = struct.unpack_from("!HH", tcp, 0)
        payload = tcp[(tcp[12] >> 4) * 4:]
        src, dst = ip[12:16], ip[16:20]
        if payload and ((src == peer and port in (None, sport)) or
                        (dst == peer and port in (None, dport))):
            out.append(payload)
    return out


@pytest.fixture(scope="module")
def pods(certs):
    if os.geteuid() != 0 or shutil.which("ip") is None or shutil.which("setpriv") is None:
        pytest.skip("network namespaces need root, iproute2 (ip) and setpriv")
    probe = f"weft-probe-{uuid.uuid4().hex[:6]}"
    p = sh("ip", "netns", "add", probe, check=False)
    if p.returncode != 0:
        pytest.skip(f"the kernel refuses network namespaces here: {p.stderr.strip()}")
    sh("ip", "netns", "del", probe)
    assert shutil.which("tcpdump"), "tcpdump is needed (scripts/install-deps.sh installs it)"
    # The sidecars run under their own UID: pytest's temporary directories are root's alone.
    workdir = Path(tempfile.mkdtemp(prefix="weft-transparent-"))
    os.chmod(workdir, 0o755)
    pods = Pods(workdir)
    try:
        pods.setup({"a": A, "b": B, "c": C})
        pods.start("b", "app", ["/usr/bin/python3", "-c", ECHO_APP, "b", 8080], uid=APP_UID)
        pods.start("b", "db", ["/usr/bin/python3", "-c", BANNER_APP, "db", 5432], uid=APP_UID)
        pods.start("b", "legacy", ["/usr/bin/python3", "-c", BANNER_APP, "legacy", 9000],
                   uid=APP_UID)
        pods.start("b", "chat", ["/usr/bin/python3", "-c", BANNER_APP, "chat", 7000],
                   uid=APP_UID)
        pods.start("c", "app", ["/usr/bin/python3", "-c", ECHO_APP, "c", 8080], uid=APP_UID)
        sidecar(pods, "a", certs, "web", "--detect-timeout", "1s")
        sidecar(pods, "b", certs, "backend", "--permissive-ports", "9000")
        for pod, port in (("b", 8080), ("b", 5432), ("b", 9000), ("b", 7000), ("c", 8080)):
            assert M.wait_until(lambda: sh(*in_ns(pods.names[pod], "python3", "-c",
                                f"import socket; socket.create_connection(('127.0.0.1',{port}),1)"),
                                check=False).returncode == 0, 10), (pod, port)
        yield pods
    finally:
        problems = pods.teardown()
    assert not problems, problems
    shutil.rmtree(workdir, ignore_errors=True)


def test_an_unmodified_app_reaches_a_pod_and_its_service_ip_over_mtls(pods):
    pcap = pods.workdir / "a-eth0.pcap"
    dump = subprocess.Popen(in_ns(pods.names["a"], "tcpdump", "-i", "eth0", "-U", "-n", "-w",
                                  pcap, "tcp"), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        assert M.wait_until(lambda: pcap.exists() and pcap.stat().st_size >= 24, 10)
        time.sleep(0.5)  # tcpdump has opened the interface once its file has its header
        for url in (f"http://{B}:8080/", f"http://{VIP}:8080/"):
            r = app_curl(pods, "a", url)
            assert r.returncode == 0, (url, r.stderr, M.tail(pods.workdir / "a-proxy.log"))
            assert r.stdout.startswith("HTTP/1.1 200"), r.stdout
            assert f"x-echo-peer: {WEB_ID}" in r.stdout, r.stdout
            assert r.stdout.endswith("hello from b\n"), r.stdout
        # Outside the mesh (pod C, no sidecar): relayed as the app sent it.
        r = app_curl(pods, "a", f"http://{C}:8080/")
        assert r.returncode == 0 and r.stdout.endswith("hello from c\n"), (r.stdout, r.stderr)
        assert "x-echo-peer: \n" in r.stdout, r.stdout  # no identity: not through a sidecar
    finally:
        time.sleep(0.5)
        dump.send_signal(signal.SIGINT)
        dump.wait(10)
    # Pod C's traffic is in the clear: the capture would show B's if it were.
    to_c = b"".join(tcp_payloads(pcap, C, 8080))
    assert b"GET / HTTP/1.1" in to_c and b"hello from c" in to_c, to_c[:200]
    to_b = tcp_payloads(pcap, B)
    assert to_b, "the capture saw no traffic to B"
    assert to_b[0].startswith(b"\x16\x03"), to_b[0][:16]  # a TLS ClientHello first
    wire = b"".join(to_b)
    for text in (b"GET /", b"HTTP/1.1", b"hello from b", b"x-echo-peer", WEB_ID.encode()):
        assert text not in wire, text
    assert all(p[:1] in (b"\x14", b"\x15", b"\x16", b"\x17") for p in to_b[:2])


def test_a_server_speaks_first_protocol_crosses_the_mesh_as_opaque_tcp_in_mtls(pods):
    pcap = pods.workdir / "a-eth0-db.pcap"
    dump = subprocess.Popen(in_ns(pods.names["a"], "tcpdump", "-i", "eth0", "-U", "-n", "-w",
                                  pcap, "tcp", "port", "5432"),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        assert M.wait_until(lambda: pcap.exists() and pcap.stat().st_size >= 24, 10)
        time.sleep(0.5)
        got = app_line(pods, "a", B, 5432, b"select 1\n")
        assert got == b"220 db ready\necho select 1\n", (got, M.tail(pods.workdir / "a-proxy.log"))
    finally:
        time.sleep(0.5)
        dump.send_signal(signal.SIGINT)
        dump.wait(10)
    wire = tcp_payloads(pcap, B, 5432)
    assert wire and wire[0].startswith(b"\x16\x03"), [p[:16] for p in wire]
    assert not any(b"ready" in p or b"select" in p for p in wire)


def test_a_silent_client_is_taken_for_server_speaks_first_after_the_detection_timeout(pods):
    # Port 7000 is in no Service and no --opaque-ports: B's IP puts it in the mesh. The client
    # waits for the banner; after --detect-timeout (1s) the sidecar relays, inside mTLS, to
    # B:7000, where B's sidecar hands it to the app.
    got = app_line(pods, "a", B, 7000, b"hi\n")
    assert got == b"220 chat ready\necho hi\n", (got, M.tail(pods.workdir / "a-proxy.log"))
    m = parse_metrics(admin(pods, "a", "/metrics"))
    assert metric_sum(m, "protocol_detect_duration_seconds_count", protocol="timeout") >= 1
    assert metric_sum(m, "protocol_detect_duration_seconds_bucket", protocol="timeout",
                      le="0.5") == 0  # not before the timeout


def test_plaintext_callers_are_refused_except_on_a_permissive_port(pods):
    # Pod C has no sidecar: its plain HTTP to B's app port is not mesh mTLS.
    r = app_curl(pods, "c", f"http://{B}:8080/")
    assert r.returncode != 0 and "HTTP/1.1 200" not in r.stdout, r.stdout
    log = pods.workdir / "b-proxy.log"
    assert M.wait_until(lambda: "refused: mesh mTLS required (the port is not in "
                                "--permissive-ports)" in log.read_text(), 5), M.tail(log)
    # 9000 is permissive: relayed to the app as it came.
    assert app_line(pods, "c", B, 9000, b"hi\n") == b"220 legacy ready\necho hi\n"
    m = parse_metrics(admin(pods, "b", "/metrics"))
    assert metric_sum(m, "tcp_open_total", direction="inbound", peer="src", tls="false") >= 1


def test_the_sidecars_own_connections_are_not_intercepted(pods):
    before = parse_metrics(admin(pods, "a", "/metrics"))
    app_src = metric_sum(before, "tcp_open_total", direction="outbound", peer="src", tls="false")
    r = app_curl(pods, "a", f"http://{B}:8080/")
    assert r.returncode == 0, r.stderr
    after = parse_metrics(admin(pods, "a", "/metrics"))
    # One connection from the app; none from the proxy itself back into its outbound port.
    assert metric_sum(after, "tcp_open_total", direction="outbound", peer="src",
                   tls="false") == app_src + 1
    assert metric_sum(after, "protocol_detect_duration_seconds_count", protocol="http1") >= 1
    # Outside-the-mesh traffic is counted as plain outbound TCP.
    assert metric_sum(after, "tcp_open_total", direction="outbound", peer="dst", tls="false") >= 1


def test_init_run_again_in_a_pod_leaves_the_same_rules(pods):
    ns = pods.names["a"]
    before = sh(*in_ns(ns, "iptables-save", "-t", "nat")).stdout
    p = sh(*in_ns(ns, pods.binary, "init", "--proxy-uid", PROXY_UID, "--ipv6", "off"),
           check=False)
    assert p.returncode == 0, p.stderr
    after = sh(*in_ns(ns, "iptables-save", "-t", "nat")).stdout

    def rules(text):
        return [line for line in text.splitlines() if line.startswith("-A")]
    assert rules(after) == rules(before)
