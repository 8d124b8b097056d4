"""HTTP clients for the Weft integration tests: urllib for the admin port,
curl for user-visible requests, raw sockets for pipelining/malformed input,
and a Prometheus text-format parser.  Standard library only; bounded waits."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable


# --------------------------------------------------------------------------
# Plain HTTP helpers (admin port)

_NO_PROXY_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def http_get(url: str, timeout: float = 5.0) -> tuple[int, dict[str, str], bytes]:
    """GET url directly (never through an environment proxy)."""
    try:
        with _NO_PROXY_OPENER.open(url, timeout=timeout) as r:
            return r.status, {k.lower(): v for k, v in r.headers.items()}, r.read()
    except urllib.error.HTTPError as e:
        return e.code, {k.lower(): v for k, v in e.headers.items()}, e.read()


# --------------------------------------------------------------------------
# curl

CURL_ENV = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}


@dataclass
class CurlResult:
    rc: int
    status: int
    headers: list[tuple[str, str]]
    body: bytes
    stderr: str
    all_header_blocks: list[list[tuple[str, str]]] = field(default_factory=list)

    def header(self, name: str) -> str | None:
        for k, v in self.headers:
            if k.lower() == name.lower():
                return v
        return None

    def __str__(self) -> str:  # used in assertion messages
        hdrs = "".join(f"\n  {k}: {v}" for k, v in self.headers)
        body = self.body[:300]
        return f"curl rc={self.rc} status={self.status}{hdrs}\n  body={body!r}\n  stderr={self.stderr.strip()[-800:]}"


def _parse_header_blocks(raw: bytes) -> list[list[tuple[str, str]]]:
    blocks: list[list[tuple[str, str]]] = []
    cur: list[tuple[str, str]] | None = None
    for line in raw.decode("latin-1").split("\r\n"):
        if line.startswith("HTTP/"):
            cur = [(":status", line)]
            blocks.append(cur)
        elif line and cur is not None and ":" in line:
            k, v = line.split(":", 1)
            cur.append((k.strip(), v.strip()))
    return blocks


def curl(*args: str, timeout: float = 30.0) -> CurlResult:
    """Run curl; returns status/headers of the final response and the body."""
    with tempfile.TemporaryDirectory(prefix="weft-curl-") as d:
        hf, bf = os.path.join(d, "h"), os.path.join(d, "b")
        cmd = ["curl", "-sS", "--max-time", str(timeout), "-D", hf, "-o", bf,
               "-w", "%{http_code}", *args]
        p = subprocess.run(cmd, capture_output=True, timeout=timeout + 10, env=CURL_ENV)
        raw_h = Path(hf).read_bytes() if os.path.exists(hf) else b""
        body = Path(bf).read_bytes() if os.path.exists(bf) else b""
    blocks = _parse_header_blocks(raw_h)
    # skip interim 1xx responses
    final = [b for b in blocks if not re.match(r"HTTP/\S+ 1\d\d", b[0][1])]
    headers = final[-1][1:] if final else []
    try:
        status = int(p.stdout.decode().strip()[-3:])
    except ValueError:
        status = 0
    return CurlResult(p.returncode, status, headers, body, p.stderr.decode(errors="replace"), blocks)


# --------------------------------------------------------------------------
# raw-socket HTTP/1.1

@dataclass
class RawResponse:
    version: str
    status: int
    reason: str
    headers: list[tuple[str, str]]
    body: bytes

    def header(self, name: str) -> str | None:
        for k, v in self.headers:
            if k.lower() == name.lower():
                return v
        return None


def recv_head(sock: socket.socket, buf: bytes = b"") -> tuple[bytes, bytes]:
    """Reads until a blank line ends a message head (or EOF): (the head, what came after it).
    The socket's timeout bounds each read."""
    while b"\r\n\r\n" not in buf:
        chunk = sock.recv(65536)
        if not chunk:
            return buf, b""
        buf += chunk
    head, _, rest = buf.partition(b"\r\n\r\n")
    return head + b"\r\n\r\n", rest


def recv_all(sock: socket.socket, timeout: float = 5.0) -> tuple[bytes, bool]:
    """Read until EOF or timeout.  Returns (data, eof_seen)."""
    deadline = time.monotonic() + timeout
    buf = bytearray()
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return bytes(buf), False
        sock.settimeout(left)
        try:
            chunk = sock.recv(65536)
        except socket.timeout:
            return bytes(buf), False
        except ConnectionResetError:
            return bytes(buf), True
        if not chunk:
            return bytes(buf), True
        buf += chunk


class _Reader:
    def __init__(self, data: bytes):
        self.data, self.pos = data, 0

    def line(self) -> bytes:
        i = self.data.find(b"\r\n", self.pos)
        if i < 0:
            raise ValueError("incomplete line")
        out, self.pos = self.data[self.pos:i], i + 2
        return out

    def take(self, n: int) -> bytes:
        if self.pos + n > len(self.data):
            raise ValueError("incomplete body")
        out, self.pos = self.data[self.pos:self.pos + n], self.pos + n
        return out


def parse_responses(data: bytes, head_only: Iterable[int] = ()) -> list[RawResponse]:
    """Parse back-to-back HTTP/1.x responses; stops at the first incomplete one."""
    r = _Reader(data)
    out: list[RawResponse] = []
    head_only = list(head_only)
    while r.pos < len(data):
        start = r.pos
        try:
            status_line = r.line().decode("latin-1")
            version, code, *reason = status_line.split(" ", 2)
            headers = []
            while True:
                ln = r.line()
                if not ln:
                    break
                k, v = ln.decode("latin-1").split(":", 1)
                headers.append((k.strip(), v.strip()))
            resp = RawResponse(version, int(code), reason[0] if reason else "", headers, b"")
            te = (resp.header("transfer-encoding") or "").lower()
            if len(out) in head_only or resp.status in (204, 304) or 100 <= resp.status < 200:
                pass
            elif "chunked" in te:
                body = bytearray()
                while True:
                    size = int(r.line().split(b";")[0], 16)
                    if size == 0:
                        while r.line():
                            pass
                        break
                    body += r.take(size)
                    r.line()
                resp.body = bytes(body)
            elif resp.header("content-length") is not None:
                resp.body = r.take(int(resp.header("content-length")))
            else:
                resp.body = data[r.pos:]
                r.pos = len(data)
        except ValueError:
            r.pos = start
            break
        if not 100 <= resp.status < 200:
            out.append(resp)
    return out


def raw_exchange(port: int, payload: bytes, timeout: float = 5.0) -> tuple[bytes, bool]:
    """Send payload in one write, read until EOF/timeout."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(payload)
        return recv_all(s, timeout)


# --------------------------------------------------------------------------
# Prometheus text format

_SAMPLE_RE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)(\s+\S+)?$')
_LABEL_RE = re.compile(r'\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*=\s*"((?:[^"\\]|\\.)*)"\s*,?')


@dataclass
class Sample:
    name: str
    labels: dict[str, str]
    value: float


def parse_metrics(text: str) -> list[Sample]:
    out = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        m = _SAMPLE_RE.match(line)
        if not m:
            raise ValueError(f"unparseable metrics line: {line!r}")
        labels = {}
        if m.group(3):
            for lm in _LABEL_RE.finditer(m.group(3)):
                labels[lm.group(1)] = (lm.group(2).replace('\\"', '"')
                                       .replace("\\n", "\n").replace("\\\\", "\\"))
        out.append(Sample(m.group(1), labels, float(m.group(4))))
    return out


def select(samples: list[Sample], name: str, **labels: str) -> list[Sample]:
    return [s for s in samples if s.name == name
            and all(s.labels.get(k) == v for k, v in labels.items())]


def metric_sum(samples: list[Sample], name: str, **labels: str) -> float:
    return sum(s.value for s in select(samples, name, **labels))
