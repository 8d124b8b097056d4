"""An HTTP/1.1 app on raw sockets that records every request it reads whole, for tests of
what reached the app and how often: each request's `x-test-id` (or None) and its body.

With close_on_reuse, the app misbehaves the way a real app's keep-alive timeout does at the
worst moment: the first time it reads a given request id on a connection it has already
answered on, it takes the request whole (it was processed: it is recorded) and closes the
connection without answering. Any other request is answered 200 with keep-alive, the body
`<version> got <n> bytes`.  Standard library only; every read has a timeout."""

from __future__ import annotations

import collections
import socket
import socketserver
import threading


class _Handler(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        app: RecordingApp = self.server.app  # type: ignore[attr-defined]
        sock: socket.socket = self.request
        sock.settimeout(30)
        buf = b""
        answered = 0
        try:
            while True:
                while b"\r\n\r\n" not in buf:
                    data = sock.recv(65536)
                    if not data:
                        return
                    buf += data
                head, buf = buf.split(b"\r\n\r\n", 1)
                lines = head.decode("latin-1").split("\r\n")
                method = lines[0].split(" ", 1)[0]
                fields = {}
                for ln in lines[1:]:
                    name, _, value = ln.partition(":")
                    fields[name.strip().lower()] = value.strip()
                body, buf = self._body(sock, fields, buf)
                rid = fields.get("x-test-id")
                first_sight = app.record(method, rid, body)
                if app.close_on_reuse and answered > 0 and first_sight and rid is not None:
                    return  # processed, then the connection goes away unanswered
                text = f"{app.version} got {len(body)} bytes\n".encode()
                sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" %
                             (len(text), text))
                answered += 1
        except OSError:
            return

    @staticmethod
    def _body(sock: socket.socket, fields: dict[str, str], buf: bytes) -> tuple[bytes, bytes]:
        if "content-length" in fields:
            n = int(fields["content-length"])
            while len(buf) < n:
                data = sock.recv(65536)
                if not data:
                    raise OSError("body cut short")
                buf += data
            return buf[:n], buf[n:]
        if fields.get("transfer-encoding", "").lower() != "chunked":
            return b"", buf
        body = b""
        while True:
            while b"\r\n" not in buf:
                data = sock.recv(65536)
                if not data:
                    raise OSError("chunked body cut short")
                buf += data
            line, buf = buf.split(b"\r\n", 1)
            size = int(line.split(b";")[0], 16)
            while len(buf) < size + 2:
                data = sock.recv(65536)
                if not data:
                    raise OSError("chunk cut short")
                buf += data
            if size == 0:
                return body, buf[2:]  # no trailers from the proxy
            body += buf[:size]
            buf = buf[size + 2:]


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


class RecordingApp:
    def __init__(self, version: str = "v1", close_on_reuse: bool = False):
        self.version = version
        self.close_on_reuse = close_on_reuse
        self.lock = threading.Lock()
        self.seen: collections.Counter[str] = collections.Counter()
        self.requests: list[tuple[str, str | None, bytes]] = []
        self.server = _Server(("127.0.0.1", 0), _Handler)
        self.server.app = self  # type: ignore[attr-defined]
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever,
                                       kwargs={"poll_interval": 0.1}, daemon=True)

    def record(self, method: str, rid: str | None, body: bytes) -> bool:
        """Records a request read whole; whether its id was new."""
        with self.lock:
            self.requests.append((method, rid, body))
            if rid is None:
                return True
            self.seen[rid] += 1
            return self.seen[rid] == 1

    def start(self) -> "RecordingApp":
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)
