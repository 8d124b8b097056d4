"""An app that answers before it has read the request body (issue #14 §2): a 413 to an upload
it refuses, without reading the upload. The answer must reach the client at once, through both
sidecars, and the connections must then close or drain within a bound.

curl -> web sidecar -> backend sidecar -> raw-socket app
"""

from __future__ import annotations

import os
import socket
import socketserver
import subprocess
import threading

import pytest

import mesh as M

ANSWER = b"too large\n"


class _RefusingApp(socketserver.BaseRequestHandler):
    """Reads the request head, answers 413 at once, then holds the connection open without
    reading anything for up to 30 s (the upload is never read)."""

    def handle(self) -> None:
        s = self.request
        s.settimeout(30)
        buf = b""
        try:
            while b"\r\n\r\n" not in buf:
                data = s.recv(65536)
                if not data:
                    return
                buf += data
            s.sendall(b"HTTP/1.1 413 Payload Too Large\r\nContent-Length: %d\r\n"
                      b"Connection: close\r\n\r\n%s" % (len(ANSWER), ANSWER))
            self.server.answered.set()  # type: ignore[attr-defined]
            self.server.stop.wait(30)  # type: ignore[attr-defined]
        except OSError:
            return


@pytest.fixture
def refusing_app():
    server = M.tcp_app(_RefusingApp, answered=threading.Event(), stop=threading.Event())
    yield server
    server.stop.set()  # type: ignore[attr-defined]
    M.stop_tcp_app(server)


@pytest.mark.parametrize("size_mib", [16])
def test_early_413_reaches_curl_at_once(proxies, refusing_app, tmp_path, size_mib):
    pair = proxies.sidecar_pair(app_port=refusing_app.server_address[1], service="backend",
                                extra_args=M.app_protocol_args("http1"))
    upload = tmp_path / "upload"
    upload.write_bytes(os.urandom(size_mib << 20))
    # --max-time bounds the wait: the proxies' read timeout is 60 s, so a proxy that holds the
    # answer back until the upload is taken makes curl give up with exit code 28.
    p = subprocess.run(["curl", "-sS", "-o", "-", "-w", "\n%{http_code}", "--max-time", "20",
                        "-H", "Host: backend", "-H", "Expect:", "--data-binary", f"@{upload}",
                        f"http://127.0.0.1:{pair.client.outbound}/upload"],
                       capture_output=True, timeout=30)
    out = p.stdout.decode(errors="replace")
    assert p.returncode == 0, f"curl exit {p.returncode}: {p.stderr.decode()} {out!r}"
    assert out.endswith("\n413") and ANSWER.decode() in out, out
    # The sidecars are ready for the next request at once.
    r = subprocess.run(["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "10",
                        "-H", "Host: backend", f"http://127.0.0.1:{pair.client.outbound}/"],
                       capture_output=True, timeout=15)
    assert r.stdout == b"413", (r.returncode, r.stderr)


def test_early_413_survives_a_client_that_reads_only_after_sending(proxies, refusing_app):
    """A client that sends its whole upload before it reads (as a blocking client does, and as
    curl does when it is slow to be scheduled) must still find the 413. The sidecar answers, then
    discards the rest of the upload instead of closing on it: a close with unread bytes resets
    the connection, the client's send fails with EPIPE or ECONNRESET, and the answer waiting in
    its buffer is destroyed (what CI saw once as curl's exit 55, 'Send failure: Broken pipe')."""
    pair = proxies.sidecar_pair(app_port=refusing_app.server_address[1], service="backend",
                                extra_args=M.app_protocol_args("http1"))
    size = 16 << 20
    with socket.create_connection(("127.0.0.1", pair.client.outbound), timeout=20) as s:
        s.sendall(b"POST /upload HTTP/1.1\r\nHost: backend\r\nContent-Length: %d\r\n\r\n" % size)
        chunk = os.urandom(1 << 20)
        for _ in range(size // len(chunk)):  # bounded: 16 writes of 1 MiB
            s.sendall(chunk)
        answer = b""
        while True:  # bounded by the socket's 20 s timeout and the proxy's close
            data = s.recv(65536)
            if not data:
                break
            answer += data
    assert answer.startswith(b"HTTP/1.1 413 "), answer[:200]
    assert answer.endswith(ANSWER), answer[-200:]
