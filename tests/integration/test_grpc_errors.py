"""The sidecar's own failures as gRPC errors (issue #4): a grpcio or nghttp client speaking
h2c to the client sidecar gets HTTP 200 with grpc-status 14 UNAVAILABLE (naming what failed)
or 4 DEADLINE_EXCEEDED (grpc-timeout), never an HTTP error body. These need only the HTTP/2
server codec: the calls fail before any upstream HTTP/2 would be used."""

import grpc
import pytest

import fleet as F
import grpc_apps as GA
import h2_clients as H
import mesh as M


def test_proxy_enforces_grpc_timeout(h2_echo_mesh, tmp_path):
    """The echo app ignores grpc-timeout; the sidecar answers in time with a gRPC
    DEADLINE_EXCEEDED (HTTP 200, grpc-status 4), not an HTTP 504."""
    body = tmp_path / "req.bin"
    body.write_bytes(H.grpc_frame(GA.request(delay_ms=5000)))
    r = H.nghttp_verbose(h2_echo_mesh.url("/slow?ms=5000"), "-d", str(body),
                         "-H", ":authority: reviews", "-H", "content-type: application/grpc",
                         "-H", "te: trailers", "-H", "grpc-timeout: 300m")
    assert r.status == 200, r
    assert r.grpc_status == "4", r


@pytest.mark.parametrize("down", ["app", "peer sidecar"])
def test_server_down_is_unavailable_with_reason(proxies, down):
    if down == "app":
        port = M.free_port()  # nothing listens there
        mesh = proxies.sidecar_pair(app_port=port, service="backend")
        where = f"app connect failed: 127.0.0.1:{port}"
    else:
        mesh = proxies.sidecar_pair(app_port=M.free_port(), service="backend")
        mesh.server.kill()
        where = f"upstream connect failed: 127.0.0.1:{mesh.server.inbound}"
    with GA.channel(mesh.client.outbound) as ch:
        e = GA.rpc_error(GA.GreeterClient(ch).say_hello, "anyone", timeout=10)
    assert e.code() == grpc.StatusCode.UNAVAILABLE, (e.code(), e.details())
    assert where in e.details(), f"details {e.details()!r} should name {where!r}"
    mesh.client.assert_alive()
    F.settled(mesh.client, 1, "response_total", direction="outbound", grpc_status="14")
    assert F.metric(mesh.client, "response_total", direction="outbound", grpc_status="14",
                    classification="failure") == 1


def test_proxy_error_is_grpc_error_not_http_503(proxies, tmp_path):
    port = M.free_port()
    mesh = proxies.sidecar_pair(app_port=port, service="backend")
    body = tmp_path / "req.bin"
    body.write_bytes(H.grpc_frame(GA.request("x")))
    r = H.nghttp_verbose(mesh.url(f"/{GA.SERVICE}/SayHello"), "-d", str(body),
                         "-H", ":authority: backend", "-H", "content-type: application/grpc",
                         "-H", "te: trailers")
    assert r.status == 200, r
    assert (r.get("content-type") or "").startswith("application/grpc"), r
    assert r.grpc_status == "14", r
    assert f"connect failed: 127.0.0.1:{port}" in r.grpc_message, r
