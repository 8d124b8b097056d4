"""RFC 9113 conformance of the plaintext HTTP/2 listener (issue 14 section 3): the
stream-state errors of section 5.1 and 5.1.1 and the invalid connection preface of section 3.4,
as h2spec checks them (h2spec itself cannot run here: it is a Go tool and the machine reaches no
Go module proxy). Frames are built by hand on raw sockets and sent to a client sidecar's
outbound port (h2c with prior knowledge); requests are answered by nginx behind a server
sidecar (conftest's h2_mesh). See docs/http2-limits.md for the answers expected."""

from __future__ import annotations

import socket
import ssl
import struct

import pytest

from h2_clients import (CONTINUATION, DATA, END_HEADERS, END_STREAM, GET_BLOCK, SETTINGS,
                        WINDOW_UPDATE, RawH2, frame, get_frame, goaway_in, h2_events,
                        rst_frame)
from h2_clients import connect_raw as connect

PROTOCOL_ERROR, STREAM_CLOSED, CANCEL = 0x1, 0x5, 0x8






def wait_error(h2: RawH2, stream: int, timeout: float = 5.0) -> tuple[str, int] | None:
    """("goaway", code), ("rst", code) or ("closed", -1): the first error the server sends;
    None if it stays silent."""
    h2.pump(lambda: h2.goaway is not None or stream in h2.resets or h2.closed, timeout)
    if h2.goaway is not None:
        return ("goaway", h2.goaway)
    if stream in h2.resets:
        return ("rst", h2.resets[stream])
    if h2.closed:
        return ("closed", -1)
    return None



def _idle_data(h2):
    h2.sock.sendall(frame(DATA, END_STREAM, 1, b"test"))


def _idle_rst(h2):
    h2.sock.sendall(rst_frame(1))


def _idle_window_update(h2):
    h2.sock.sendall(frame(WINDOW_UPDATE, 0, 1, struct.pack(">I", 100)))


def _idle_continuation(h2):
    h2.sock.sendall(frame(CONTINUATION, END_HEADERS, 1, GET_BLOCK))


def _half_closed_data(h2):
    h2.sock.sendall(get_frame(1) + frame(DATA, END_STREAM, 1, b"test"))


def _half_closed_headers(h2):
    h2.sock.sendall(get_frame(1) + get_frame(1))


def _reset_then_data(h2):
    h2.sock.sendall(get_frame(1, END_HEADERS) + rst_frame(1) + frame(DATA, END_STREAM, 1, b"x"))


def _reset_then_headers(h2):
    h2.sock.sendall(get_frame(1, END_HEADERS) + rst_frame(1) + get_frame(1))


def _closed_then(data: bool):
    def run(h2):
        h2.sock.sendall(get_frame(1))
        assert h2.pump(lambda: 1 in h2.ended, 5), "no response"
        h2.sock.sendall(frame(DATA, END_STREAM, 1, b"x") if data else get_frame(1))
    return run


def _smaller_stream_id(h2):
    h2.sock.sendall(get_frame(5))
    assert h2.pump(lambda: 5 in h2.ended, 5), "no response"
    h2.sock.sendall(get_frame(3))


# name: (send, the stream the error is about, the errors allowed)
STREAM_STATES = {
    "idle: DATA": (_idle_data, 1, {("goaway", PROTOCOL_ERROR)}),
    "idle: RST_STREAM": (_idle_rst, 1, {("goaway", PROTOCOL_ERROR)}),
    "idle: WINDOW_UPDATE": (_idle_window_update, 1, {("goaway", PROTOCOL_ERROR)}),
    "idle: CONTINUATION": (_idle_continuation, 1, {("goaway", PROTOCOL_ERROR)}),
    "half closed (remote): DATA": (_half_closed_data, 1, {("rst", STREAM_CLOSED),
                                                          ("goaway", STREAM_CLOSED)}),
    "half closed (remote): HEADERS": (_half_closed_headers, 1, {("rst", STREAM_CLOSED),
                                                                ("goaway", STREAM_CLOSED)}),
    "closed: DATA after RST_STREAM": (_reset_then_data, 1, {("rst", STREAM_CLOSED)}),
    "closed: HEADERS after RST_STREAM": (_reset_then_headers, 1, {("rst", STREAM_CLOSED)}),
    "closed: DATA after END_STREAM": (_closed_then(True), 1, {("goaway", STREAM_CLOSED)}),
    "closed: HEADERS after END_STREAM": (_closed_then(False), 1, {("goaway", STREAM_CLOSED)}),
    "smaller stream identifier": (_smaller_stream_id, 3, {("goaway", PROTOCOL_ERROR)}),
}


@pytest.mark.parametrize("case", list(STREAM_STATES))
def test_frames_on_idle_and_closed_streams_get_the_rfc9113_error(h2_mesh, case):
    send, stream, allowed = STREAM_STATES[case]
    h2 = connect(h2_mesh.client.outbound)
    try:
        send(h2)
        got = wait_error(h2, stream)
        assert got in allowed, f"{case}: got {got}, want one of {allowed}"
    finally:
        h2.close()


def test_invalid_preface_on_the_outbound_port_gets_goaway_not_http1_400(h2_mesh):
    with socket.create_connection(("127.0.0.1", h2_mesh.client.outbound), timeout=5) as s:
        s.sendall(b"PRI * HTTP/2.0\r\n\r\nXX\r\n\r\n" + frame(SETTINGS, 0, 0))
        data = b""
        s.settimeout(5)
        try:
            while chunk := s.recv(65536):
                data += chunk
        except OSError:
            pass
    assert not data.startswith(b"HTTP/1.1"), data[:80]
    got = goaway_in(data)
    assert got is not None and got[1] == PROTOCOL_ERROR, data[:80]


def test_invalid_preface_on_the_inbound_port_gets_goaway(h2_mesh, certs):
    ctx = ssl.create_default_context(cafile=str(certs / "ca.pem"))
    ctx.check_hostname = False
    ctx.load_cert_chain(str(certs / "web.pem"), str(certs / "web-key.pem"))
    ctx.set_alpn_protocols(["h2"])
    with socket.create_connection(("127.0.0.1", h2_mesh.server.inbound), timeout=5) as raw:
        with ctx.wrap_socket(raw) as s:
            assert s.selected_alpn_protocol() == "h2"
            s.sendall(b"INVALID CONNECTION PREFACE\r\n\r\n")
            data = b""
            try:
                while chunk := s.recv(65536):
                    data += chunk
            except (OSError, ssl.SSLError):
                pass
    got = goaway_in(data)
    assert got is not None and got[1] == PROTOCOL_ERROR, data[:80]


# ---------------------------------------------------------------------------------------------
# Header limits (docs/http2-limits.md): a list over --max-header-bytes gets 431 on its stream and
# the connection goes on; one field over nghttp2's 64 KiB HPACK bound ends the connection.

def _h2_exchange(port: int, requests: list[list[tuple[str, str]]]) -> list:
    """Sends each request on its own stream of one python3-h2 connection, one after another;
    returns per request its :status (or None), then the connection's end (error code or None)."""
    import h2.config
    import h2.connection
    import h2.events

    conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
    statuses: list[int | None] = []
    ended = None
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        conn.initiate_connection()
        for i, fields in enumerate(requests):
            stream = 1 + 2 * i
            conn.send_headers(stream, fields, end_stream=True)
            s.sendall(conn.data_to_send())
            status, done = None, False
            for e in h2_events(s, conn):
                if isinstance(e, h2.events.ResponseReceived) and e.stream_id == stream:
                    status = int(dict(e.headers)[b":status"])
                elif isinstance(e, (h2.events.StreamEnded, h2.events.StreamReset)) and \
                        e.stream_id == stream:
                    done = True
                elif isinstance(e, h2.events.ConnectionTerminated):
                    ended, done = e.error_code, True
                if done:
                    break
            statuses.append(status)
            if ended is not None or not done:
                break
    return statuses + [ended]


GET = [(":method", "GET"), (":scheme", "http"), (":path", "/hello"), (":authority", "backend")]


@pytest.mark.parametrize("fields", [
    [(f"x-field-{i}", "v" * 1000) for i in range(80)],  # ~80 KB in all
    [("x-huge", "v" * 70000)],  # one field of 70 KB, 61 KB Huffman-coded
], ids=["many-fields", "one-huffman-coded-field"])
def test_header_list_over_the_limit_is_431_and_the_connection_goes_on(h2_mesh, fields):
    assert _h2_exchange(h2_mesh.client.outbound, [GET + fields, GET]) == [431, 200, None]


def test_one_field_over_64k_encoded_ends_the_connection_with_compression_error(h2_mesh):
    huge = GET + [("x-huge", "v" * 100000)]  # 87.5 KB Huffman-coded
    COMPRESSION_ERROR = 0x9
    assert _h2_exchange(h2_mesh.client.outbound, [huge, GET]) == [None, COMPRESSION_ERROR]


def test_stream_over_the_acknowledged_concurrency_limit_ends_the_connection(h2_echo_mesh):
    """SETTINGS_MAX_CONCURRENT_STREAMS is 100 (docs/http2-limits.md). A client that acknowledged
    it and opens a 101st stream while 100 are open (the app answers after 2 s) gets
    GOAWAY(PROTOCOL_ERROR): nghttp2 makes it a connection error, where RFC 9113 §5.1.2 asks for
    a stream error (noted in the docs). Clients that respect the setting never meet it."""
    PROTOCOL_ERROR = 0x1
    h2 = connect(h2_echo_mesh.client.outbound)  # has acknowledged the server's SETTINGS
    try:
        for i in range(100):
            h2.request(1 + 2 * i, "/slow?ms=2000", h2_echo_mesh.service)
        assert not h2.pump(lambda: h2.goaway is not None, 0.5), "100 streams are within the limit"
        h2.request(201, "/slow?ms=2000", h2_echo_mesh.service)
        assert h2.pump(lambda: h2.goaway is not None, 5), (h2.resets, h2.closed)
        assert h2.goaway == PROTOCOL_ERROR
    finally:
        h2.close()
