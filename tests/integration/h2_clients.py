"""HTTP/2 clients for the Weft integration tests (issue #4): nghttp (headers and
trailers of one request, or a body to a file), h2load (a bounded load run and its
summary), gRPC message framing, and RawH2 -- a minimal h2c client on a raw socket
that controls flow-control windows itself (to play a slow reader).  Standard library
only; every wait is bounded."""

from __future__ import annotations

import re
import socket
import struct
import subprocess
import time
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path

from clients import CURL_ENV

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
DATA, HEADERS, RST_STREAM, SETTINGS, PING, GOAWAY, WINDOW_UPDATE, CONTINUATION = \
    0, 1, 3, 4, 6, 7, 8, 9
END_STREAM, ACK, END_HEADERS = 0x1, 0x1, 0x4


def grpc_frame(message: bytes) -> bytes:
    """One gRPC length-prefixed message (uncompressed)."""
    return b"\x00" + struct.pack(">I", len(message)) + message


# --------------------------------------------------------------------------
# nghttp

@dataclass
class NghttpResult:
    rc: int
    blocks: list[list[tuple[str, str]]]  # received header blocks: response head, trailers
    out: str  # stdout (verbose frame log)
    err: str

    def get(self, name: str, block: int = 0) -> str | None:
        if not -len(self.blocks) <= block < len(self.blocks):
            return None
        for k, v in self.blocks[block]:
            if k == name:
                return v
        return None

    @property
    def status(self) -> int:
        return int(self.get(":status") or 0)

    @property
    def grpc_status(self) -> str | None:
        """grpc-status of the trailers (or of a trailers-only response)."""
        return self.get("grpc-status", -1)

    @property
    def grpc_message(self) -> str:
        return urllib.parse.unquote(self.get("grpc-message", -1) or "")

    def __str__(self) -> str:  # assertion messages
        return (f"nghttp rc={self.rc} header blocks={self.blocks}\n  stderr={self.err[-500:]}"
                f"\n  log tail={self.out[-1500:]}")

    __repr__ = __str__


_RECV_FIELD = re.compile(r"^\[\s*[\d.]+\] recv \(stream_id=\d+\) (:?[^:\s]+): (.*)$")
_RECV_HEADERS = re.compile(r"^\[\s*[\d.]+\] recv HEADERS frame ")


def nghttp_verbose(url: str, *args: str, timeout: float = 20.0) -> NghttpResult:
    """One request with `nghttp -v` (h2c prior knowledge for http:// URLs); returns the
    header blocks received, in order.  Keep bodies small: they share stdout."""
    p = subprocess.run(["nghttp", "-v", "--no-dep", "-t", f"{int(timeout)}s", *args, url],
                       capture_output=True, timeout=timeout + 10, env=CURL_ENV)
    out = p.stdout.decode("latin-1")
    blocks: list[list[tuple[str, str]]] = []
    cur: list[tuple[str, str]] = []
    for line in out.splitlines():
        m = _RECV_FIELD.match(line)
        if m:
            cur.append((m.group(1), m.group(2)))
        elif _RECV_HEADERS.match(line) and cur:
            blocks.append(cur)
            cur = []
    return NghttpResult(p.returncode, blocks, out, p.stderr.decode(errors="replace"))


def nghttp_body(url: str, out: Path, *args: str, timeout: float = 60.0) -> tuple[int, str]:
    """One request with nghttp, the response body written to `out`; (rc, stderr)."""
    with open(out, "wb") as f:
        p = subprocess.run(["nghttp", "--no-dep", "-t", f"{int(timeout)}s", *args, url],
                           stdout=f, stderr=subprocess.PIPE, timeout=timeout + 10, env=CURL_ENV)
    return p.returncode, p.stderr.decode(errors="replace")


# --------------------------------------------------------------------------
# h2load

def h2load(url: str, *args: str, timeout: float = 120.0) -> dict:
    """A bounded h2load run (h2c prior knowledge for http:// URLs); its summary:
    total/started/done/succeeded/failed/errored/timeout, s2xx..s5xx, rc, output."""
    p = subprocess.run(["timeout", "-k", "5", str(int(timeout)), "h2load", *args, url],
                       capture_output=True, timeout=timeout + 20, env=CURL_ENV)
    text = p.stdout.decode(errors="replace") + p.stderr.decode(errors="replace")
    out: dict = {"rc": p.returncode, "output": text[-3000:]}
    m = re.search(r"requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, "
                  r"(\d+) failed, (\d+) errored, (\d+) timeout", text)
    if m:
        keys = ["total", "started", "done", "succeeded", "failed", "errored", "timeout"]
        out.update(zip(keys, map(int, m.groups())))
    m = re.search(r"status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx", text)
    if m:
        out.update(zip(["s2xx", "s3xx", "s4xx", "s5xx"], map(int, m.groups())))
    return out


# --------------------------------------------------------------------------
# a raw h2c client

def _hpack_int(n: int, prefix_bits: int = 7) -> bytes:
    limit = (1 << prefix_bits) - 1
    if n < limit:
        return bytes([n])
    out, n = bytearray([limit]), n - limit
    while n >= 128:
        out.append(n % 128 + 128)
        n //= 128
    out.append(n)
    return bytes(out)


def hpack_literal(headers: list[tuple[str, str]]) -> bytes:
    """A header block of literal fields without indexing, no Huffman (RFC 7541 6.2.2)."""
    out = bytearray()
    for k, v in headers:
        out += b"\x00" + _hpack_int(len(k)) + k.encode() + _hpack_int(len(v)) + v.encode()
    return bytes(out)


def frame(ftype: int, flags: int, stream: int, payload: bytes = b"") -> bytes:
    return struct.pack(">I", len(payload))[1:] + bytes([ftype, flags]) + \
        struct.pack(">I", stream) + payload


@dataclass
class RawH2:
    """h2c on a raw socket.  Its stream windows start at `stream_window` and grow only
    when the test calls window_update(); the connection window is opened wide, so one
    stalled stream cannot block the others.  SETTINGS and PINGs are acknowledged.
    Response header blocks are not decoded (HPACK); DATA is kept per stream."""
    port: int
    stream_window: int = 65535
    sock: socket.socket | None = None
    data: dict[int, bytearray] = field(default_factory=dict)
    headers_seen: dict[int, int] = field(default_factory=dict)  # stream -> HEADERS frames
    ended: set[int] = field(default_factory=set)
    resets: dict[int, int] = field(default_factory=dict)  # stream -> RST_STREAM error code
    goaway: int | None = None  # error code
    closed: bool = False
    _buf: bytearray = field(default_factory=bytearray)

    def connect(self) -> "RawH2":
        self.sock = socket.create_connection(("127.0.0.1", self.port), timeout=5)
        settings = struct.pack(">HI", 2, 0) + struct.pack(">HI", 4, self.stream_window)
        self.sock.sendall(PREFACE + frame(SETTINGS, 0, 0, settings)
                          + frame(WINDOW_UPDATE, 0, 0, struct.pack(">I", (1 << 30))))
        return self

    def request(self, stream: int, path: str, authority: str, method: str = "GET",
                extra: list[tuple[str, str]] = ()) -> None:
        block = hpack_literal([(":method", method), (":scheme", "http"), (":path", path),
                               (":authority", authority), *extra])
        self.sock.sendall(frame(HEADERS, END_STREAM | END_HEADERS, stream, block))

    def window_update(self, stream: int, n: int) -> None:
        self.sock.sendall(frame(WINDOW_UPDATE, 0, stream, struct.pack(">I", n)))

    def received(self, stream: int) -> int:
        return len(self.data.get(stream, b""))

    def pump(self, until, timeout: float) -> bool:
        """Read and handle frames until until() is true (True), or timeout, or the
        connection closes (False)."""
        deadline = time.monotonic() + timeout
        while not until():
            left = deadline - time.monotonic()
            if left <= 0 or self.closed:
                return False
            self.sock.settimeout(min(left, 0.2))
            try:
                chunk = self.sock.recv(1 << 20)
            except socket.timeout:
                continue
            except OSError:
                chunk = b""
            if not chunk:
                self.closed = True
                continue
            self._buf += chunk
            self._frames()
        return True

    def _frames(self) -> None:
        while len(self._buf) >= 9:
            n = int.from_bytes(self._buf[:3], "big")
            if len(self._buf) < 9 + n:
                return
            ftype, flags = self._buf[3], self._buf[4]
            stream = int.from_bytes(self._buf[5:9], "big") & 0x7FFFFFFF
            payload = bytes(self._buf[9:9 + n])
            del self._buf[:9 + n]
            if ftype == DATA:
                pad = payload[0] if flags & 0x8 else 0
                body = payload[1:len(payload) - pad] if flags & 0x8 else payload
                self.data.setdefault(stream, bytearray()).extend(body)
            elif ftype in (HEADERS, CONTINUATION):
                self.headers_seen[stream] = self.headers_seen.get(stream, 0) + 1
            elif ftype == SETTINGS and not flags & ACK:
                self.sock.sendall(frame(SETTINGS, ACK, 0))
            elif ftype == PING and not flags & ACK:
                self.sock.sendall(frame(PING, ACK, 0, payload))
            elif ftype == RST_STREAM:
                self.resets[stream] = int.from_bytes(payload[:4], "big")
            elif ftype == GOAWAY:
                self.goaway = int.from_bytes(payload[4:8], "big")
            if ftype in (DATA, HEADERS) and flags & END_STREAM:
                self.ended.add(stream)

    def close(self) -> None:
        if self.sock:
            self.sock.close()


def goaway_in(buf: bytes) -> tuple[int, int] | None:
    """(last stream id, error code) of the first GOAWAY among the whole frames in buf."""
    pos = 0
    while pos + 9 <= len(buf):
        n = int.from_bytes(buf[pos:pos + 3], "big")
        if pos + 9 + n > len(buf):
            return None
        if buf[pos + 3] == GOAWAY:
            p = buf[pos + 9:pos + 17]
            return (int.from_bytes(p[:4], "big") & 0x7FFFFFFF, int.from_bytes(p[4:8], "big"))
        pos += 9 + n
    return None


def h2_events(sock: socket.socket, conn):
    """The events of a python3-h2 connection `conn` as they arrive on `sock`, until EOF. What
    the connection (or the caller, while handling a read's events) queued goes out after each
    read's events: ACKs, WINDOW_UPDATEs, DATA. The socket's timeout bounds each read."""
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            return
        yield from conn.receive_data(chunk)
        sock.sendall(conn.data_to_send())


# A GET on a raw connection, and its reset: the frames the abuse and conformance tests send.
GET_BLOCK = hpack_literal([(":method", "GET"), (":scheme", "http"), (":path", "/hello"),
                           (":authority", "backend")])
RST_CANCEL = 0x8


def get_frame(stream: int, flags: int = END_STREAM | END_HEADERS) -> bytes:
    return frame(HEADERS, flags, stream, GET_BLOCK)


def rst_frame(stream: int, code: int = RST_CANCEL) -> bytes:
    return frame(RST_STREAM, 0, stream, struct.pack(">I", code))


def connect_raw(port: int) -> RawH2:
    """A raw HTTP/2 connection that has read the server's SETTINGS, so later frames meet an
    established connection."""
    h2 = RawH2(port).connect()
    h2.pump(lambda: False, 0.2)
    return h2
