"""weft-control and weftctl as processes, for the integration tests: a control plane on
ephemeral loopback ports with its own data directory, join tokens made with weftctl, and
certificate requests sent with curl (HTTP/2 over TLS) as a proxy would send them."""

import json
import os
import signal
import subprocess
import time
import urllib.request
from pathlib import Path

import mesh as M


# A Service with two subsets and a 90/10 HTTPRoute over them: what the policy and push tests
# apply.
REVIEWS_POLICY = """\
apiVersion: weft.dev/v1alpha1
kind: Service
metadata: {name: reviews}
spec:
  port: 9080
  subsets:
    - {name: v1, labels: {version: v1}}
    - {name: v2, labels: {version: v2}}
---
apiVersion: weft.dev/v1alpha1
kind: HTTPRoute
metadata: {name: reviews}
spec:
  parentRefs: [{name: reviews}]
  rules:
    - backendRefs:
        - {name: reviews, subset: v1, weight: 90}
        - {name: reviews, subset: v2, weight: 10}
"""


def weftctl_binary() -> Path:
    return Path(os.environ.get("WEFT_CTL") or M.REPO / "build" / "control" / "weftctl")


def fetch(port: int, path: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def metric(text: str, name: str) -> float:
    """The value of one sample line (`name` with its labels, exactly as exposed); 0 if absent."""
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[-1])
    return 0.0


class Control:
    def __init__(self, tmp_path: Path, *args: str, data_dir: Path | None = None,
                 name: str = "weft-control", listen: int | None = None,
                 wrap: list[str] | None = None):
        self.admin = M.free_port()
        self.listen = listen or M.free_port()
        self.api = M.free_port()
        self.data_dir = data_dir or tmp_path / "control-data"
        self.log_path = tmp_path / f"{name}.log"
        self.args = args
        self.log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            [*(wrap or []), str(M.control_binary()), "--data-dir", str(self.data_dir),
             "--admin", f"127.0.0.1:{self.admin}", "--listen", f"127.0.0.1:{self.listen}",
             "--api", f"127.0.0.1:{self.api}", "--drain-seconds", "5", *args],
            stdout=self.log, stderr=subprocess.STDOUT)

    def wait_ready(self) -> "Control":
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, f"weft-control exited: {self.log_path.read_text()}"
            try:
                if fetch(self.admin, "/ready")[0] == 200:
                    return self
            except OSError:
                pass
            time.sleep(0.05)
        raise AssertionError(f"weft-control not ready: {self.log_path.read_text()}")

    def stop(self, sig: int = signal.SIGTERM) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        rc = self.proc.wait(timeout=15)
        self.log.close()
        report = M.sanitizer_report(self.log_path)
        assert report is None, f"sanitizer report in weft-control's log:\n{report}"
        return rc

    def metrics(self) -> str:
        status, text = fetch(self.admin, "/metrics")
        assert status == 200, text
        return text

    def weftctl_command(self, token: bool = True) -> list[str]:
        auth = ["--data-dir", str(self.data_dir)] if token else []
        return [str(weftctl_binary()), "--server", f"http://127.0.0.1:{self.api}", *auth]

    def weftctl(self, *args: str, token: bool = True,
                input: str | None = None) -> subprocess.CompletedProcess:
        return subprocess.run([*self.weftctl_command(token), *args], capture_output=True,
                              text=True, timeout=30, input=input)

    def token(self, ns: str = "default", sa: str = "web", ttl: str = "1h") -> str:
        p = self.weftctl("token", "create", "--namespace", ns, "--service-account", sa,
                         "--ttl", ttl)
        assert p.returncode == 0, p
        return p.stdout.strip()

    def bundle_path(self, tmp_path: Path) -> Path:
        p = self.weftctl("ca", "bundle")
        assert p.returncode == 0, p
        path = tmp_path / f"bundle-{self.api}.pem"
        path.write_text(p.stdout)
        return path

    def identity_args(self, tmp_path: Path, sa: str, ns: str = "default", ttl: str = "1h",
                      cache_dir: Path | None = None) -> list[str]:
        """weft-proxy's flags for a certificate from this control plane: a join token for
        ns/sa written to a file, and the trust bundle."""
        token = tmp_path / f"{sa}-{self.api}.token"
        token.write_text(self.token(ns, sa, ttl) + "\n")
        return ["--control", f"https://127.0.0.1:{self.listen}", "--token-file", str(token),
                "--trust-bundle", str(self.bundle_path(tmp_path)),
                *(["--cache-dir", str(cache_dir)] if cache_dir else [])]

    def post_csr(self, token: str | None, body: bytes, http2: bool = True,
                 timeout: float = 30) -> tuple[int, dict]:
        """POST /v1/certificates with curl, as a proxy would; the status and the JSON answer.
        The control plane's certificate names no host: curl checks nothing of it here (-k);
        test_ca checks it with openssl s_client."""
        cmd = ["curl", "-sS", "-k", "--max-time", str(timeout), "-o", "-", "-w", "\n%{http_code}",
               "-X", "POST", "-H", "content-type: application/json", "--data-binary", "@-",
               "--http2" if http2 else "--http1.1",
               f"https://127.0.0.1:{self.listen}/v1/certificates"]
        if token is not None:
            cmd[1:1] = ["-H", f"authorization: Bearer {token}"]
        p = subprocess.run(cmd, input=body, capture_output=True, timeout=timeout + 10)
        assert p.returncode == 0, p
        text, _, code = p.stdout.decode().rpartition("\n")
        return int(code), json.loads(text) if text.strip() else {}


def make_key(tmp_path: Path, kind: str = "ec", name: str = "key.pem") -> Path:
    """A private key made by openssl: ec (P-256), ec384, rsa1024, rsa2048, dsa, ed25519."""
    key = tmp_path / name
    gen = {
        "ec": ["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"],
        "ec384": ["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-384"],
        "rsa1024": ["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:1024"],
        "rsa2048": ["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"],
        "ed25519": ["-algorithm", "ED25519"],
    }
    if kind == "dsa":
        params = tmp_path / "dsa-params.pem"
        subprocess.run(["openssl", "genpkey", "-genparam", "-algorithm", "DSA", "-pkeyopt",
                        "dsa_paramgen_bits:2048", "-out", str(params)], check=True,
                       capture_output=True, timeout=120)
        subprocess.run(["openssl", "genpkey", "-paramfile", str(params), "-out", str(key)],
                       check=True, capture_output=True, timeout=60)
    else:
        subprocess.run(["openssl", "genpkey", *gen[kind], "-out", str(key)], check=True,
                       capture_output=True, timeout=60)
    return key


def make_csr(tmp_path: Path, key: Path, san: str | None = None, name: str = "req.csr") -> str:
    """A PKCS#10 request made by `openssl req` over `key`, with `san` as its subjectAltName
    (e.g. "URI:spiffe://…,DNS:evil.example") when given."""
    csr = tmp_path / name
    cmd = ["openssl", "req", "-new", "-key", str(key), "-subj", "/O=test", "-out", str(csr)]
    if san:
        cmd += ["-addext", f"subjectAltName={san}"]
    subprocess.run(cmd, check=True, capture_output=True, timeout=30)
    return csr.read_text()


def csr_body(csr: str) -> bytes:
    return json.dumps({"csr": csr}).encode()
