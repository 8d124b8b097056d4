"""WebSocket through a sidecar pair (issue #14 §2; RFC 6455, RFC 8441).

An app's WebSocket client (python3-websockets) upgrades on the client sidecar's outbound port;
the sidecars carry the tunnel between them as an HTTP/2 extended CONNECT over mTLS, and the
server sidecar upgrades to the app (a python3-websockets server) again. An HTTP/2 client may
open the same tunnel with an extended CONNECT itself. Nothing the client sends after its
upgrade request reaches an app that refused the upgrade.
"""

from __future__ import annotations

import asyncio
import os
import socket
import socketserver
import threading

import h2.config
import h2.connection
import h2.events
import h2.settings
import pytest
import websockets
import websockets.exceptions

import mesh as M
from h2_clients import h2_events

SERVICE = "reviews"
MESSAGES = 1000


class WebSocketApp:
    """A python3-websockets server on its own event loop: /echo echoes every message, /push
    sends MESSAGES numbered messages and waits for the client to close. It records each
    connection's path and the close code it saw."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.closes: list[tuple[str, int | None]] = []
        self.paths: list[str] = []
        self.port = 0
        self._ready = threading.Event()
        self._stop: asyncio.Future | None = None
        self.thread = threading.Thread(target=self._run, daemon=True)

    async def _handler(self, ws, path: str) -> None:
        self.paths.append(path)
        try:
            if path == "/push":
                for i in range(MESSAGES):
                    await ws.send(f"push {i}")
                await ws.wait_closed()
            else:
                async for message in ws:
                    await ws.send(message)
        finally:
            self.closes.append((path, ws.close_code))

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)

        async def main() -> None:
            self._stop = self.loop.create_future()
            async with websockets.serve(self._handler, "127.0.0.1", 0,
                                        max_size=1 << 20) as server:
                self.port = server.sockets[0].getsockname()[1]
                self._ready.set()
                await self._stop

        self.loop.run_until_complete(main())

    def start(self) -> "WebSocketApp":
        self.thread.start()
        assert self._ready.wait(10), "websocket app did not start"
        return self

    def stop(self) -> None:
        if self._stop is not None:
            self.loop.call_soon_threadsafe(self._stop.set_result, None)
        self.thread.join(5)


@pytest.fixture(scope="module")
def ws_app():
    app = WebSocketApp().start()
    yield app
    app.stop()


@pytest.fixture(scope="module")
def ws_mesh(module_proxies, ws_app) -> M.Mesh:
    # An HTTP/2 client's tunnel goes to this HTTP/1.1-only app as an Upgrade.
    return module_proxies.sidecar_pair(app_port=ws_app.port, service=SERVICE,
                                       extra_args=M.app_protocol_args("http1"))


def connect(port: int, path: str, **kw):
    """A WebSocket client on the client sidecar's outbound port, Host: the service."""
    return websockets.connect(f"ws://{SERVICE}{path}", host="127.0.0.1", port=port,
                              open_timeout=10, close_timeout=10, max_size=1 << 20, **kw)


def run(coro, timeout: float = 60):
    return asyncio.run(asyncio.wait_for(coro, timeout))


def messages() -> list[str | bytes]:
    """Text and binary, empty to 100 KiB (several HTTP/2 DATA frames)."""
    out: list[str | bytes] = []
    for i in range(MESSAGES):
        if i % 100 == 99:
            out.append(os.urandom(100 * 1024))
        elif i % 2:
            out.append(os.urandom(i))
        else:
            out.append(f"message {i} " + "x" * (i % 300))
    return out


def test_websocket_echoes_1000_messages_both_ways(ws_mesh, ws_app):
    sent = messages()

    async def session():
        async with connect(ws_mesh.client.outbound, "/echo") as ws:
            # All of them out before any is read back: both directions stream at once.
            for m in sent:
                await ws.send(m)
            return [await ws.recv() for _ in sent]

    received = run(session())
    assert received == sent
    assert M.wait_until(lambda: ("/echo", 1000) in ws_app.closes, 10), ws_app.closes


def test_websocket_app_pushes_1000_messages(ws_mesh, ws_app):
    async def session():
        async with connect(ws_mesh.client.outbound, "/push") as ws:
            return [await ws.recv() for _ in range(MESSAGES)]

    assert run(session()) == [f"push {i}" for i in range(MESSAGES)]
    assert M.wait_until(lambda: ("/push", 1000) in ws_app.closes, 10), ws_app.closes


def test_websocket_counts_one_response_with_status_101(ws_mesh):
    async def session():
        async with connect(ws_mesh.client.outbound, "/echo") as ws:
            await ws.send("one")
            return await ws.recv()

    def count() -> float:
        return M.metric_sum(ws_mesh.client.metrics(), "response_total", direction="outbound",
                            status_code="101")

    before = count()
    assert run(session()) == "one"
    counted = lambda: count() - before == 1  # noqa: E731
    assert M.wait_until(counted, 10)


# ---------------------------------------------------------------------------------------------
# HTTP/2 extended CONNECT from the app (RFC 8441)

def ws_frame(payload: bytes, opcode: int = 1) -> bytes:
    """A client's (masked) WebSocket frame with a short payload."""
    assert len(payload) < 126
    mask = os.urandom(4)
    masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    return bytes([0x80 | opcode, 0x80 | len(payload)]) + mask + masked


def extended_connect(port: int, protocol: str, frame: bytes):
    """Opens `protocol` with an extended CONNECT over h2c, sends `frame` in DATA, and returns
    (the server's ENABLE_CONNECT_PROTOCOL setting, the response fields, the first DATA)."""
    conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
    enabled, fields, data = None, {}, b""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        conn.initiate_connection()
        s.sendall(conn.data_to_send())
        # RFC 8441 §3: the server's SETTINGS first.
        for e in h2_events(s, conn):
            if isinstance(e, h2.events.RemoteSettingsChanged):
                setting = e.changed_settings.get(h2.settings.SettingCodes.ENABLE_CONNECT_PROTOCOL)
                enabled = setting.new_value if setting else 0
                break
        assert enabled is not None, "connection closed before SETTINGS"
        s.sendall(conn.data_to_send())  # the SETTINGS ACK
        if not enabled:
            return enabled, fields, data
        conn.send_headers(1, [(":method", "CONNECT"), (":protocol", protocol),
                              (":scheme", "http"), (":path", "/echo"), (":authority", SERVICE),
                              ("sec-websocket-version", "13")])
        s.sendall(conn.data_to_send())
        for e in h2_events(s, conn):
            if isinstance(e, h2.events.ResponseReceived):
                fields = {k.decode(): v.decode() for k, v in e.headers}
                if fields.get(":status") == "200":
                    conn.send_data(1, frame)
            elif isinstance(e, h2.events.DataReceived):
                data += e.data
                conn.acknowledge_received_data(e.flow_controlled_length, 1)
                break
            elif isinstance(e, (h2.events.StreamEnded, h2.events.StreamReset,
                                h2.events.ConnectionTerminated)):
                break
    return enabled, fields, data


def test_http2_client_opens_websocket_with_extended_connect(ws_mesh):
    enabled, fields, data = extended_connect(ws_mesh.client.outbound, "websocket",
                                             ws_frame(b"over h2"))
    assert enabled == 1
    assert fields.get(":status") == "200", fields
    # The app's unmasked echo: FIN + text, length 7.
    assert data == b"\x81\x07over h2", data


def test_extended_connect_for_another_protocol_is_501(ws_mesh):
    enabled, fields, _ = extended_connect(ws_mesh.client.outbound, "webtransport", b"")
    assert enabled == 1
    assert fields.get(":status") == "501", fields
    assert "'webtransport' is not supported" in fields.get("x-weft-error", ""), fields


# ---------------------------------------------------------------------------------------------
# Refused upgrades

UPGRADE = (b"GET /chat HTTP/1.1\r\nHost: " + SERVICE.encode() + b"\r\nConnection: Upgrade\r\n"
           b"Upgrade: websocket\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
           b"Sec-WebSocket-Version: 13\r\n\r\n")
SMUGGLED = b"GET /admin HTTP/1.1\r\nHost: " + SERVICE.encode() + b"\r\n\r\n"


class _RefusingHandler(socketserver.BaseRequestHandler):
    """Answers every request 403 on a kept-alive connection, recording each request line."""

    def handle(self) -> None:
        self.request.settimeout(5)
        buf = b""
        try:
            while True:
                head, buf = M.recv_head(self.request, buf)
                if not head.endswith(b"\r\n\r\n"):
                    return
                self.server.lines.append(head.split(b"\r\n", 1)[0].decode())
                self.request.sendall(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 2\r\n\r\nno")
        except OSError:
            return


@pytest.fixture(scope="module")
def refusing_app():
    server = M.tcp_app(_RefusingHandler, lines=[])
    yield server
    M.stop_tcp_app(server)


def test_refused_upgrade_reaches_client_and_nothing_after_it_reaches_app(module_proxies,
                                                                        refusing_app):
    pair = module_proxies.sidecar_pair(app_port=refusing_app.server_address[1],
                                       service=SERVICE, extra_args=M.app_protocol_args("http1"))
    data, eof = M.raw_exchange(pair.client.outbound, UPGRADE + SMUGGLED, timeout=5)
    responses = M.parse_responses(data)
    assert [r.status for r in responses] == [403] and eof, data[:600]
    assert refusing_app.lines == ["GET /chat HTTP/1.1"]


def test_upgrade_with_post_is_400(ws_mesh):
    req = UPGRADE.replace(b"GET /chat", b"POST /chat")
    data, eof = M.raw_exchange(ws_mesh.client.outbound, req, timeout=5)
    responses = M.parse_responses(data)
    assert [r.status for r in responses] == [400] and eof, data[:600]
    assert "must be a GET" in responses[0].header("x-weft-error"), data[:600]


# ---------------------------------------------------------------------------------------------
# Deadlines

def test_tunnel_outlives_read_timeout_and_closes_at_its_idle_timeout(module_proxies, ws_app):
    pair = module_proxies.sidecar_pair(
        app_port=ws_app.port, service=SERVICE,
        extra_args=["--read-timeout", "1", "--tunnel-idle-timeout", "3"])

    async def session():
        async with connect(pair.client.outbound, "/echo", ping_interval=None) as ws:
            await asyncio.sleep(2)  # quiet for twice the read timeout
            await ws.send("still here")
            echoed = await ws.recv()
            try:
                await asyncio.wait_for(ws.recv(), 15)  # quiet past the tunnel's idle timeout
                return echoed, "no close"
            except websockets.exceptions.ConnectionClosed as closed:
                return echoed, closed

    echoed, closed = run(session())
    assert echoed == "still here"
    assert isinstance(closed, websockets.exceptions.ConnectionClosed), closed


# ---------------------------------------------------------------------------------------------
# An app that speaks HTTP/2 (h2c): the server sidecar opens the tunnel with an extended CONNECT

class _H2TunnelHandler(socketserver.BaseRequestHandler):
    """An h2c app (python3-h2) that answers an extended CONNECT with 200 and echoes the
    tunnel's bytes; it offers SETTINGS_ENABLE_CONNECT_PROTOCOL only if the server says so."""

    def handle(self) -> None:
        conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=False))
        conn.initiate_connection()
        if self.server.offer:
            conn.update_settings({h2.settings.SettingCodes.ENABLE_CONNECT_PROTOCOL: 1})
        self.request.settimeout(10)
        try:
            self.request.sendall(conn.data_to_send())
            while True:
                chunk = self.request.recv(65536)
                if not chunk:
                    return
                for e in conn.receive_data(chunk):
                    if isinstance(e, h2.events.RequestReceived):
                        fields = {k.decode(): v.decode() for k, v in e.headers}
                        self.server.requests.append(fields)
                        conn.send_headers(e.stream_id, [(":status", "200")])
                    elif isinstance(e, h2.events.DataReceived):
                        conn.acknowledge_received_data(e.flow_controlled_length, e.stream_id)
                        conn.send_data(e.stream_id, e.data)
                    elif isinstance(e, h2.events.StreamEnded):
                        conn.end_stream(e.stream_id)
                self.request.sendall(conn.data_to_send())
        except OSError:
            return


def h2_tunnel_app(offer: bool):
    return M.tcp_app(_H2TunnelHandler, offer=offer, requests=[])


@pytest.mark.parametrize("offer", [True, False], ids=["offers", "does-not-offer"])
def test_websocket_to_an_h2c_app_uses_extended_connect(module_proxies, offer):
    app = h2_tunnel_app(offer)
    try:
        pair = module_proxies.sidecar_pair(app_port=app.server_address[1], service=SERVICE,
                                           extra_args=M.app_protocol_args("h2c"))
        with socket.create_connection(("127.0.0.1", pair.client.outbound), timeout=10) as s:
            s.sendall(UPGRADE)
            head, rest = M.recv_head(s)
            if not offer:
                response = M.parse_responses(head, head_only=[0])[0]  # its body may come later
                assert response.status == 501, head
                assert "cannot carry a WebSocket" in response.header("x-weft-error"), head
                assert "SETTINGS_ENABLE_CONNECT_PROTOCOL" in response.header("x-weft-error")
                assert app.requests == []
                return
            lines = head.decode().rstrip().split("\r\n")
            assert lines[0] == "HTTP/1.1 101 Switching Protocols", head
            # RFC 6455 §1.3: the accept for the sample key, made by the client sidecar (the
            # app's 200 carried none).
            assert "sec-websocket-accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" in lines, head
            assert "upgrade: websocket" in lines and "connection: upgrade" in lines, head
            s.sendall(b"raw tunnel bytes")
            echoed = rest
            while len(echoed) < len(b"raw tunnel bytes"):
                chunk = s.recv(65536)
                if not chunk:
                    break
                echoed += chunk
            assert echoed == b"raw tunnel bytes"
        assert [(r[":method"], r[":protocol"], r[":path"]) for r in app.requests] == \
            [("CONNECT", "websocket", "/chat")]
    finally:
        M.stop_tcp_app(app)
