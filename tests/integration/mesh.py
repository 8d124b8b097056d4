"""Processes and configuration for the Weft integration tests: weft-proxy,
an nginx app, a Python echo app, openssl s_server, mesh.yaml, extra certs.
The HTTP clients live in clients.py and are re-exported here, so tests only
need `import mesh as M`.  Standard library only; every wait is bounded."""

from __future__ import annotations

import datetime
import fcntl
import functools
import hashlib
import http.server
import os
import signal
import socket
import socketserver
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable
from urllib.parse import parse_qs, urlsplit

# re-exported for the tests
from clients import (CURL_ENV, CurlResult, RawResponse, Sample, curl, http_get,  # noqa: F401
                     metric_sum, parse_metrics, parse_responses, raw_exchange,  # noqa: F401
                     recv_all, recv_head, select)  # noqa: F401

REPO = Path(__file__).resolve().parents[2]
MAKE_CERTS = REPO / "tests" / "certs" / "make-certs.sh"
TRUST_DOMAIN = "cluster.local"
# Body sizes the body tests send and fetch, by name (the `payloads` fixture writes them).
BODY_SIZES = {"1B": 1, "64KiB": 64 * 1024, "1MiB": 1 << 20, "10MiB": 10 << 20}
NAMESPACE = "default"

# Proxies currently running; conftest prints their logs when a test fails.
LIVE_PROXIES: list["Proxy"] = []
LIVE_APPS: list["Nginx"] = []


def spiffe(sa: str, ns: str = NAMESPACE) -> str:
    return f"spiffe://{TRUST_DOMAIN}/ns/{ns}/sa/{sa}"


def proxy_binary() -> Path:
    return Path(os.environ.get("WEFT_PROXY") or REPO / "build" / "proxy" / "weft-proxy")


def control_binary() -> Path:
    return Path(os.environ.get("WEFT_CONTROL") or REPO / "build" / "control" / "weft-control")


@functools.lru_cache(maxsize=None)
def proxy_sanitized() -> bool:
    """True when weft-proxy is built with AddressSanitizer: its RSS then holds ASan's
    quarantine of freed memory, and RSS comparisons say nothing."""
    try:
        out = subprocess.run(["ldd", str(proxy_binary())], capture_output=True, text=True,
                             timeout=10).stdout
    except (OSError, subprocess.TimeoutExpired):
        return False
    return "libasan" in out


@functools.lru_cache(maxsize=None)
def app_protocol_args(protocol: str) -> list[str]:
    """How a sidecar speaks to its app: http1, h2c, or auto (the default: h2c for requests
    that came as HTTP/2, HTTP/1.1 for the rest)."""
    return ["--app-protocol", protocol]


# Ports handed out by every test process on this machine in the last hour: ctest runs test
# files side by side, and each process alone would not know what the others took.
_PORTS_FILE = Path(tempfile.gettempdir()) / "weft-test-ports"
_PORTS_WINDOW = 3600.0


def _claim(port: int) -> bool:
    """Records `port` as handed out unless some test process took it within the window."""
    with open(_PORTS_FILE, "a+") as f:
        fcntl.flock(f, fcntl.LOCK_EX)  # released when the file closes
        f.seek(0)
        now = time.time()
        live: dict[int, float] = {}
        for line in f:
            fields = line.split()
            if len(fields) == 2 and now - float(fields[1]) < _PORTS_WINDOW:
                live[int(fields[0])] = float(fields[1])
        if port in live:
            return False
        live[port] = now
        f.seek(0)
        f.truncate()
        f.writelines(f"{p} {t}\n" for p, t in live.items())
    return True


def free_port() -> int:
    """An ephemeral port nothing listens on, never one handed out before to any test process in
    the last hour: the kernel may give a just-closed port again, and a proxy's listeners use
    SO_REUSEPORT, so two of them on one port would share its connections instead of failing
    to bind."""
    for _ in range(100):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if _claim(port):
            return port
    raise RuntimeError("no fresh ephemeral port after 100 tries")


def wait_until(pred: Callable[[], bool], timeout: float, interval: float = 0.05) -> bool:
    """Poll pred() until it is true or timeout seconds have passed."""
    deadline = time.monotonic() + timeout
    while True:
        if pred():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval)


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def sha256_file(path: Path | str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def write_random(path: Path, size: int) -> str:
    """Write size random bytes to path; return their sha256."""
    path.parent.mkdir(parents=True, exist_ok=True)
    data = os.urandom(size)
    path.write_bytes(data)
    return hashlib.sha256(data).hexdigest()


SANITIZER_MARKERS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:",
                     "WARNING: ThreadSanitizer", "ERROR: UndefinedBehaviorSanitizer")


def sanitizer_report(path: Path, lines: int = 80) -> str | None:
    """The first sanitizer report in a log, from its first line on; None if there is none."""
    try:
        text = Path(path).read_text(errors="replace").splitlines()
    except OSError:
        return None
    for i, line in enumerate(text):
        if any(marker in line for marker in SANITIZER_MARKERS):
            return "\n".join(text[max(0, i - 2):i + lines])
    return None


def tail(path: Path, lines: int = 80) -> str:
    try:
        text = Path(path).read_text(errors="replace")
    except OSError as e:
        return f"<cannot read {path}: {e}>"
    return "\n".join(text.splitlines()[-lines:])


# --------------------------------------------------------------------------
# nginx application

NGINX_CONF = """\
daemon off;
master_process off;
worker_processes 1;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log info;

events {{ worker_connections 512; }}

http {{
    access_log {prefix}/access.log;
    client_body_temp_path {prefix}/tmp/client_body;
    proxy_temp_path {prefix}/tmp/proxy;
    fastcgi_temp_path {prefix}/tmp/fastcgi;
    uwsgi_temp_path {prefix}/tmp/uwsgi;
    scgi_temp_path {prefix}/tmp/scgi;
    default_type application/octet-stream;
    keepalive_requests 100000;
    keepalive_timeout 60s;
    sendfile off;

    server {{
        listen 127.0.0.1:{port};
        server_name _;
        root {prefix}/www;

        location = /hello {{
            default_type text/plain;
            return 200 "hello from backend\\n";
        }}
        location = /headers {{
            default_type text/plain;
            return 200 "peer=$http_x_weft_peer_identity host=$host\\n";
        }}
        location /dav/ {{
            dav_methods PUT DELETE;
            create_full_put_path on;
            client_max_body_size 0;
        }}
        location /slow/ {{
            limit_rate {slow_rate};
        }}
        location = /status/503 {{
            default_type text/plain;
            return 503 "app says 503\\n";
        }}
    }}
}}
"""


class Nginx:
    """An nginx 'application' on 127.0.0.1:port serving PREFIX/www."""

    SLOW_RATE = 340 * 1024  # bytes/s: 1 MiB takes ~3 s

    def __init__(self, prefix: Path):
        self.prefix = Path(prefix)
        self.port = free_port()
        self.www = self.prefix / "www"
        self.proc: subprocess.Popen | None = None

    @property
    def error_log(self) -> Path:
        return self.prefix / "error.log"

    def config_text(self) -> str:
        """nginx.conf; subclasses serve other locations."""
        return NGINX_CONF.format(prefix=self.prefix, port=self.port, slow_rate=self.SLOW_RATE)

    def start(self) -> "Nginx":
        for d in ("www/dav", "www/slow", "tmp"):
            (self.prefix / d).mkdir(parents=True, exist_ok=True)
        conf = self.prefix / "nginx.conf"
        conf.write_text(self.config_text())
        self.proc = subprocess.Popen(
            ["nginx", "-c", str(conf), "-p", str(self.prefix), "-e", str(self.error_log)],
            stdout=open(self.prefix / "stdout.log", "wb"), stderr=subprocess.STDOUT)
        ok = wait_until(lambda: self.proc.poll() is not None or port_open(self.port), 10)
        if not ok or self.proc.poll() is not None:
            self.stop()
            raise RuntimeError(f"nginx did not start:\n{tail(self.error_log)}\n"
                               f"{tail(self.prefix / 'stdout.log')}")
        LIVE_APPS.append(self)
        return self

    def stop(self) -> None:
        if self in LIVE_APPS:
            LIVE_APPS.remove(self)
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)


# --------------------------------------------------------------------------
# Python echo application (request bodies, incl. chunked; /slow?ms=N answers late)

def _read_chunked(rfile) -> bytes:
    body = bytearray()
    for _ in range(10_000_000):  # bounded
        line = rfile.readline(1024)
        if not line:
            raise ValueError("EOF in chunked body")
        size = int(line.split(b";")[0].strip(), 16)
        if size == 0:
            for _ in range(1000):
                if rfile.readline(65536) in (b"\r\n", b"\n", b""):
                    break
            return bytes(body)
        body += rfile.read(size)
        rfile.readline(16)
    raise ValueError("too many chunks")


class _EchoHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):  # keep pytest output clean
        pass

    def _reply(self, body: bytes, extra: dict[str, str], chunked: bool) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        for k, v in extra.items():
            self.send_header(k, v)
        if chunked:
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            step = 65536 - 17  # odd-sized chunks
            for i in range(0, len(body), step):
                part = body[i:i + step]
                self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
            self.wfile.write(b"0\r\n\r\n")
        else:
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    def _echo(self) -> None:
        te = self.headers.get("Transfer-Encoding", "")
        if "chunked" in te.lower():
            body, mode = _read_chunked(self.rfile), "chunked"
        else:
            body, mode = self.rfile.read(int(self.headers.get("Content-Length") or 0)), "length"
        url = urlsplit(self.path)
        q = parse_qs(url.query)
        if url.path == "/slow":  # POST /slow?ms=N: the body is read, the answer comes late
            time.sleep(min(int(q.get("ms", ["1000"])[0]), 30_000) / 1000)
        self._reply(body, {
            "x-echo-request-framing": mode,
            "x-echo-peer": self.headers.get("x-weft-peer-identity", ""),
        }, chunked=q.get("chunked") == ["1"])

    do_POST = _echo
    do_PUT = _echo

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        if url.path == "/slow":  # /slow?ms=N: answer after N ms (at most 30 s)
            ms = int(parse_qs(url.query).get("ms", ["1000"])[0])
            time.sleep(min(ms, 30_000) / 1000)
            self._reply(b"slow\n", {}, chunked=False)
            return
        self._reply(b"echo\n", {"x-echo-peer": self.headers.get("x-weft-peer-identity", "")},
                    chunked=False)


class EchoApp:
    def __init__(self):
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _EchoHandler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever,
                                       kwargs={"poll_interval": 0.1}, daemon=True)

    def start(self) -> "EchoApp":
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


# --------------------------------------------------------------------------
# mesh configuration

def service_yaml(name: str, endpoints: list[tuple[str, str]], port: int = 8080,
                 namespace: str = NAMESPACE) -> str:
    """A Service document; endpoints = [(address, identity), ...]."""
    lines = [
        "apiVersion: weft.dev/v1alpha1",
        "kind: Service",
        f"metadata: {{name: {name}, namespace: {namespace}}}",
        "spec:",
        f"  port: {port}",
    ]
    if not endpoints:
        lines.append("  endpoints: []")
    else:
        lines.append("  endpoints:")
        for addr, ident in endpoints:
            lines += [f"    - address: {addr}",
                      f"      identity: {ident}",
                      "      labels: {version: v1}"]
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------
# weft-proxy

class ProxyStartError(RuntimeError):
    pass


class Proxy:
    """One weft-proxy process.  Ports are picked at construction."""

    def __init__(self, workdir: Path, name: str, *, certs: Path, service: str,
                 cert: str | None = None, app_port: int, config: str = "",
                 service_account: str | None = None, workers: int = 1,
                 trust_bundle: str = "ca", extra_args: Iterable[str] = (),
                 identity_args: Iterable[str] | None = None):
        """`identity_args` replaces --cert/--key/--trust-bundle (e.g. --control, --token-file,
        --trust-bundle for a certificate from weft-control)."""
        self.name = name
        self.identity_args = None if identity_args is None else list(identity_args)
        self.dir = Path(workdir) / f"proxy-{name}"
        self.dir.mkdir(parents=True, exist_ok=True)
        self.certs = Path(certs)
        self.service = service
        self.service_account = service_account or service
        self.cert = cert or service
        self.trust_bundle = trust_bundle
        self.app_port = app_port
        self.workers = workers
        self.extra_args = list(extra_args)
        self.outbound, self.inbound, self.admin = free_port(), free_port(), free_port()
        self.config_path = self.dir / "mesh.yaml"
        self.config_path.write_text(config)
        self.log_path = self.dir / "proxy.log"
        self.proc: subprocess.Popen | None = None
        self.killed = False  # by kill(): its exit is not checked
        self.terminated = False  # by stop()

    def drain_seconds(self) -> float:
        args = self.extra_args
        for i, arg in enumerate(args[:-1]):
            if arg == "--drain-seconds":
                return float(args[i + 1])
        return 30.0

    # -- command line ----------------------------------------------------
    def argv(self) -> list[str]:
        return [
            str(proxy_binary()),
            "--service", self.service,
            "--namespace", NAMESPACE,
            "--service-account", self.service_account,
            "--outbound", f"127.0.0.1:{self.outbound}",
            "--inbound", f"127.0.0.1:{self.inbound}",
            "--admin", f"127.0.0.1:{self.admin}",
            "--app", f"127.0.0.1:{self.app_port}",
            *(self.identity_args if self.identity_args is not None else [
                "--cert", str(self.certs / f"{self.cert}.pem"),
                "--key", str(self.certs / f"{self.cert}-key.pem"),
                "--trust-bundle", str(self.certs / f"{self.trust_bundle}.pem")]),
            "--trust-domain", TRUST_DOMAIN,
            # A proxy with no Services runs without --config: an empty config file is refused.
            *(["--config", str(self.config_path)]
              if self.config_path.is_dir() or self.config_path.read_text().strip() else []),
            "--workers", str(self.workers),
            *self.extra_args,
        ] + (["--log-level", "debug"] if os.environ.get("WEFT_DEBUG_LOG") else [])  # for digging

    # -- lifecycle ----------------------------------------------------------
    def launch(self) -> "Proxy":
        """Starts the process without waiting for /ready."""
        with open(self.log_path, "ab") as log:
            log.write(("$ " + " ".join(self.argv()) + "\n").encode())
            log.flush()
            self.proc = subprocess.Popen(self.argv(), stdout=log, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL)
        LIVE_PROXIES.append(self)
        return self

    def start(self, ready_timeout: float = 10.0) -> "Proxy":
        self.launch()

        def ready() -> bool:
            if self.proc.poll() is not None:
                return True
            try:
                return http_get(self.admin_url("/ready"), timeout=1)[0] == 200
            except OSError:
                return False

        wait_until(ready, ready_timeout)
        if self.proc.poll() is not None:
            rc = self.proc.returncode
            self.kill()
            raise ProxyStartError(f"weft-proxy {self.name} exited with {rc} during startup:\n"
                                  f"{tail(self.log_path)}")
        if not ready():
            self.kill()
            raise ProxyStartError(f"weft-proxy {self.name} not ready after {ready_timeout}s:\n"
                                  f"{tail(self.log_path)}")
        return self

    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def signal(self, sig: int = signal.SIGTERM) -> None:
        assert self.proc is not None
        self.proc.send_signal(sig)

    def wait(self, timeout: float) -> int | None:
        """Wait for exit; returns the exit code, or None on timeout."""
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    def kill(self) -> None:
        """SIGKILL: for tests that end a proxy abruptly on purpose. Its exit is not checked."""
        self.killed = True
        if self in LIVE_PROXIES:
            LIVE_PROXIES.remove(self)
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                pass

    def stop(self) -> None:
        """Sends SIGTERM if running (a drain: stop() every proxy first, then finish() each)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.terminated = True

    def finish(self) -> str | None:
        """After stop(): waits for the exit within the drain bound and reads the log. Returns
        what went wrong -- no exit 0 after SIGTERM, death by a signal nobody sent, a sanitizer
        report -- with the log's evidence, or None."""
        problems = []
        if self.proc is not None and not self.killed:
            if self.terminated:
                bound = self.drain_seconds() + 10
                rc = self.wait(bound)
                if rc is None:
                    self.proc.kill()
                    self.proc.wait(5)
                    problems.append(f"did not exit within {bound:.0f} s of SIGTERM")
                elif rc != 0:
                    problems.append(f"exited with {self.state()} after SIGTERM")
            elif self.proc.returncode is not None and \
                    self.proc.returncode < 0 and \
                    -self.proc.returncode not in (signal.SIGTERM, signal.SIGKILL, signal.SIGINT):
                problems.append(self.state())
        if self in LIVE_PROXIES:
            LIVE_PROXIES.remove(self)
        report = sanitizer_report(self.log_path)
        if report:
            problems.append(f"sanitizer report in its log:\n{report}")
        if not problems:
            return None
        return (f"weft-proxy {self.name} ({self.log_path}): " + "; ".join(problems) +
                ("" if report else f"\n{tail(self.log_path, 30)}"))

    def assert_alive(self) -> None:
        """For negative tests: a dead proxy must not make them pass."""
        assert self.running(), f"weft-proxy {self.name} is not running: {self.state()}"
        for port in (self.inbound, self.outbound, self.admin):
            assert port_open(port), f"weft-proxy {self.name}: port {port} not accepting"

    def state(self) -> str:
        if self.proc is None:
            return "not started"
        rc = self.proc.poll()
        if rc is None:
            return f"running, pid {self.proc.pid}"
        if rc < 0:
            try:
                return f"DIED on signal {signal.Signals(-rc).name}"
            except ValueError:
                return f"DIED on signal {-rc}"
        return f"EXITED with code {rc}"

    def log(self) -> str:
        return tail(self.log_path, 100000)

    # -- URLs ---------------------------------------------------------------
    def admin_url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.admin}{path}"

    def out_url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.outbound}{path}"

    def in_url(self, path: str) -> str:
        return f"https://127.0.0.1:{self.inbound}{path}"

    def metrics(self) -> list[Sample]:
        status, _, body = http_get(self.admin_url("/metrics"))
        assert status == 200, f"/metrics returned {status}"
        return parse_metrics(body.decode())

    def metrics_text(self) -> str:
        status, _, body = http_get(self.admin_url("/metrics"))
        assert status == 200, f"/metrics returned {status}"
        return body.decode()


@dataclass
class Mesh:
    """A client sidecar (web) talking to a server sidecar in front of an app."""
    app_port: int
    server: Proxy
    client: Proxy
    service: str

    def url(self, path: str) -> str:
        return self.client.out_url(path)

    def get(self, path: str, *args: str, host: str | None = None, **kw) -> CurlResult:
        return curl("-H", f"Host: {host or self.service}", *args, self.url(path), **kw)


# --------------------------------------------------------------------------
# extra certificates for negative tests (signed by the mesh CA)

def issue_leaf(certs: Path, out: Path, name: str, san: str) -> tuple[Path, Path]:
    """Issue NAME.pem/NAME-key.pem in out, signed by certs/ca.pem, with the given
    subjectAltName value (e.g. 'URI:spiffe://other/ns/x/sa/y' or 'DNS:web')."""
    out.mkdir(parents=True, exist_ok=True)
    key, csr, crt, ext = (out / f"{name}-key.pem", out / f"{name}.csr",
                          out / f"{name}.pem", out / f"{name}.ext")
    ext.write_text("basicConstraints=critical,CA:false\n"
                   "keyUsage=critical,digitalSignature\n"
                   "extendedKeyUsage=serverAuth,clientAuth\n"
                   f"subjectAltName={san}\n")
    run = dict(check=True, capture_output=True, timeout=30)
    subprocess.run(["openssl", "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                    "-nodes", "-keyout", str(key), "-out", str(csr), "-subj", f"/O=Weft Test/CN={name}"],
                   **run)
    subprocess.run(["openssl", "x509", "-req", "-in", str(csr), "-CA", str(certs / "ca.pem"),
                    "-CAkey", str(certs / "ca-key.pem"), "-CAcreateserial",
                    "-CAserial", str(out / "ca.srl"), "-days", "1", "-sha256",
                    "-extfile", str(ext), "-out", str(crt)], **run)
    return crt, key


def issue_dated_leaf(certs: Path, out: Path, name: str, san_uri: str,
                     not_before: datetime.datetime, not_after: datetime.datetime
                     ) -> tuple[Path, Path]:
    """Like issue_leaf (URI SAN), valid only from not_before to not_after (UTC): for expired and
    not-yet-valid certificates, which `openssl x509 -days` cannot make."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    ca_cert = x509.load_pem_x509_certificate((certs / "ca.pem").read_bytes())
    ca_key = serialization.load_pem_private_key((certs / "ca-key.pem").read_bytes(), None)
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Weft Test"),
                                     x509.NameAttribute(NameOID.COMMON_NAME, name)]))
            .issuer_name(ca_cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(not_before)
            .not_valid_after(not_after)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(True, False, False, False, False, False, False, False,
                                         False), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH,
                                                  ExtendedKeyUsageOID.CLIENT_AUTH]),
                           critical=False)
            .add_extension(x509.SubjectAlternativeName([x509.UniformResourceIdentifier(san_uri)]),
                           critical=False)
            .sign(ca_key, hashes.SHA256()))
    out.mkdir(parents=True, exist_ok=True)
    crt_path, key_path = out / f"{name}.pem", out / f"{name}-key.pem"
    crt_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return crt_path, key_path


def tcp_app(handler: type, **attrs) -> "socketserver.ThreadingTCPServer":
    """A raw-socket test app: `handler` (a socketserver.BaseRequestHandler) serves each
    connection in a daemon thread on 127.0.0.1, an ephemeral port (server_address[1]); `attrs`
    are set on the server for the handler to use. End it with stop_tcp_app()."""
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    for name, value in attrs.items():
        setattr(server, name, value)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1},
                     daemon=True).start()
    return server


def stop_tcp_app(server: "socketserver.ThreadingTCPServer") -> None:
    server.shutdown()
    server.server_close()


class SServer:
    """openssl s_server -www on 127.0.0.1 as a stand-in upstream sidecar: it
    requires a client certificate and reports the TLS session (protocol,
    client certificate) in its response body."""

    def __init__(self, certs: Path, cert: str, workdir: Path, *tls_args: str):
        self.port = free_port()
        self.log = Path(workdir) / f"s_server-{self.port}.log"
        self.argv = ["openssl", "s_server", "-accept", f"127.0.0.1:{self.port}",
                     "-cert", str(certs / f"{cert}.pem"), "-key", str(certs / f"{cert}-key.pem"),
                     "-CAfile", str(certs / "ca.pem"), "-Verify", "2", "-verify_return_error",
                     "-www", *tls_args]
        self.proc: subprocess.Popen | None = None

    def start(self) -> "SServer":
        self.proc = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL,
                                     stdout=open(self.log, "wb"), stderr=subprocess.STDOUT)
        if not wait_until(lambda: self.proc.poll() is not None or port_open(self.port), 5) \
                or self.proc.poll() is not None:
            self.stop()
            raise RuntimeError(f"s_server did not start:\n{tail(self.log)}")
        return self

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)
