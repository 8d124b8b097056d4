"""An app that answers before it has read the request body (issue #14 §2): a 413 to an upload
it refuses, without reading the upload. The answer must reach the client at once, through both
sidecars, and the connections must then close or drain within a bound.

curl -> web sidecar -> backend sidecar -> raw-socket app
"""

from __future__ import annotations

import os
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
