"""Outbound port: routing by authority, generated errors, HTTP/1.1 connection handling."""

import re
import socket
import subprocess

import pytest

import mesh as M

HELLO = b"hello from backend\n"


@pytest.mark.parametrize("host", [
    "backend",
    "backend:8080",
    "backend.default.svc.cluster.local:8080",
])
def test_route_by_host_header(mesh, host):
    r = mesh.get("/hello", host=host)
    assert r.rc == 0 and r.status == 200, r
    assert r.body == HELLO, r


def test_route_absolute_form_proxy(mesh):
    r = M.curl("-x", f"http://127.0.0.1:{mesh.client.outbound}", "http://backend:8080/hello")
    assert r.rc == 0 and r.status == 200, r
    assert r.body == HELLO, r


def test_app_sees_client_identity_through_mesh(mesh):
    r = mesh.get("/headers")
    assert r.status == 200, r
    assert r.body.startswith(f"peer={M.spiffe('web')} ".encode()), r


def test_forged_identity_header_from_app_is_replaced(mesh):
    r = mesh.get("/headers", "-H", "x-weft-peer-identity: forged")
    assert r.status == 200, r
    assert r.body.startswith(f"peer={M.spiffe('web')} ".encode()), r
    assert b"forged" not in r.body, r


def test_app_error_status_passes_through(mesh):
    r = mesh.get("/status/503")
    assert r.status == 503, r
    assert r.body == b"app says 503\n", r
    assert r.header("x-weft-error") is None, f"app response must not look proxy-generated: {r}"


@pytest.mark.parametrize("proto,fixture", [("--http1.1", "mesh"),
                                            ("--http2-prior-knowledge", "h2_mesh")])
def test_head_gets_the_length_and_no_body(request, proto, fixture):
    """HEAD crosses the HTTP/2 hop between the sidecars: the app's content-length comes back,
    no body follows, and the connection stays usable."""
    pair = request.getfixturevalue(fixture)
    r = pair.get("/hello", proto, "-I")  # curl -I prints the head as its output
    assert r.rc == 0 and r.status == 200, r
    assert r.header("content-length") == str(len(HELLO)), r
    assert r.body.endswith(b"\r\n\r\n") and HELLO not in r.body, r
    again = pair.get("/hello", proto)
    assert again.status == 200 and again.body == HELLO, again


def test_missing_file_is_404_from_app(mesh):
    r = mesh.get("/no-such-file")
    assert r.status == 404, r
    assert r.header("x-weft-error") is None, r


# ------------------------------------------------------------ generated errors

def test_unknown_service_404(mesh):
    r = mesh.get("/hello", host="nosuchsvc.default.svc.cluster.local:8080")
    assert r.rc == 0 and r.status == 404, r
    err = r.header("x-weft-error")
    assert err is not None and err.startswith("unknown service: "), r
    assert "nosuchsvc" in err, r
    assert b"unknown service" in r.body, f"expected a plain-text reason in the body: {r}"
    assert (r.header("content-type") or "").startswith("text/plain"), r


def test_grpc_caller_gets_grpc_status_not_http_error(mesh):
    # A gRPC call the proxy cannot route is answered the gRPC way: HTTP 200 with grpc-status
    # UNAVAILABLE (14) and grpc-message, no HTTP error body.
    r = mesh.get("/helloworld.Greeter/SayHello", "-X", "POST", "-H", "content-type: application/grpc",
                 "-H", "te: trailers", "--data-binary", "", host="nosuchsvc")
    assert r.rc == 0 and r.status == 200, r
    assert r.header("grpc-status") == "14", r
    assert "unknown service: nosuchsvc" in (r.header("grpc-message") or ""), r
    assert "nosuchsvc" in (r.header("x-weft-error") or ""), r
    assert r.body == b"", r
    # The proxy records the response once its write completes: poll briefly for it.
    assert M.wait_until(lambda: M.metric_sum(
        mesh.client.metrics(), "response_total", direction="outbound", authority="nosuchsvc",
        status_code="200", classification="failure", grpc_status="14") >= 1, 5.0), \
        "a gRPC failure answered with HTTP 200 is still counted as a failure, with grpc_status"


def test_unknown_service_absolute_form(mesh):
    r = M.curl("-x", f"http://127.0.0.1:{mesh.client.outbound}", "http://nosuchsvc:8080/hello")
    assert r.status == 404, r
    assert "nosuchsvc" in (r.header("x-weft-error") or ""), r


def test_service_without_endpoints_503(proxies, app):
    p = proxies.start("web", service="web", app_port=app.port,
                      config=M.service_yaml("backend", []))
    r = M.curl("-H", "Host: backend", p.out_url("/hello"))
    assert r.rc == 0 and r.status == 503, r
    assert r.header("x-weft-error"), f"generated 503 must say why: {r}"
    assert r.body.strip(), f"generated 503 must have a plain-text body: {r}"
    assert (r.header("content-type") or "").startswith("text/plain"), r


def test_subset_that_selects_no_endpoint_503_names_it(proxies, app):
    # The Service has endpoints, but the route's subset selects none of them.
    config = M.service_yaml("backend", [("127.0.0.1:9", M.spiffe("backend"))]) + """\
  subsets:
    - {name: v2, labels: {version: v2}}
---
apiVersion: weft.dev/v1alpha1
kind: HTTPRoute
metadata: {name: backend-route, namespace: default}
spec:
  parentRefs: [{name: backend}]
  rules:
    - backendRefs: [{name: backend, subset: v2}]
"""
    p = proxies.start("web", service="web", app_port=app.port, config=config)
    r = M.curl("-H", "Host: backend", p.out_url("/hello"))
    assert r.rc == 0 and r.status == 503, r
    assert r.header("x-weft-error") == "no endpoints for service backend.default subset v2", r


def test_endpoint_not_listening_503(proxies, app):
    dead = M.free_port()
    p = proxies.start("web", service="web", app_port=app.port,
                      config=M.service_yaml("backend", [(f"127.0.0.1:{dead}", M.spiffe("backend"))]))
    r = M.curl("-H", "Host: backend", p.out_url("/hello"))
    assert r.rc == 0 and r.status == 503, r
    err = r.header("x-weft-error") or ""
    assert err.startswith(f"upstream connect failed: 127.0.0.1:{dead}: "), r
    assert r.body.strip(), r
    assert (r.header("content-type") or "").startswith("text/plain"), r
    # the proxy must still be healthy afterwards
    assert p.running()


# ------------------------------------------------------------ connections

def test_keepalive_reuses_connection(mesh):
    p = subprocess.run(["curl", "-sS", "-v", "--max-time", "20", "-H", "Host: backend",
                        mesh.url("/hello"), mesh.url("/hello")],
                       capture_output=True, timeout=30, env=M.CURL_ENV)
    assert p.returncode == 0, p.stderr.decode()
    assert p.stdout == HELLO * 2
    assert re.search(r"Re-using existing connection", p.stderr.decode()), p.stderr.decode()


def test_many_requests_one_connection(mesh):
    n = 50
    payload = b"".join(b"GET /hello HTTP/1.1\r\nHost: backend\r\n\r\n" for _ in range(n - 1))
    payload += b"GET /hello HTTP/1.1\r\nHost: backend\r\nConnection: close\r\n\r\n"
    data, eof = M.raw_exchange(mesh.client.outbound, payload, timeout=10)
    resps = M.parse_responses(data)
    assert [r.status for r in resps] == [200] * n, data[:500]
    assert all(r.body == HELLO for r in resps)
    assert eof


def test_connection_close(mesh):
    data, eof = M.raw_exchange(
        mesh.client.outbound,
        b"GET /hello HTTP/1.1\r\nHost: backend\r\nConnection: close\r\n\r\n")
    resps = M.parse_responses(data)
    assert len(resps) == 1 and resps[0].status == 200, data
    assert resps[0].body == HELLO
    assert eof, "proxy must close the connection after a Connection: close request"


def test_pipelined_requests_answered_in_order(mesh):
    payload = (b"GET /hello HTTP/1.1\r\nHost: backend\r\n\r\n"
               b"GET /headers HTTP/1.1\r\nHost: backend\r\n\r\n"
               b"GET /status/503 HTTP/1.1\r\nHost: backend\r\nConnection: close\r\n\r\n")
    data, eof = M.raw_exchange(mesh.client.outbound, payload)
    resps = M.parse_responses(data)
    assert [r.status for r in resps] == [200, 200, 503], data
    assert resps[0].body == HELLO
    assert resps[1].body.startswith(b"peer=spiffe://")
    assert resps[2].body == b"app says 503\n"
    assert eof


@pytest.mark.parametrize("garbage", [
    b"GARBAGE\r\n\r\n",
    b"GET /hello HTTP/1.1\r\nHost: backend\r\nno-colon-header\r\n\r\n",
    b"GET /hello HTTP/1.1\r\nHost: backend\r\nContent-Length: abc\r\n\r\n",
])
def test_malformed_request_400(mesh, garbage):
    data, _ = M.raw_exchange(mesh.client.outbound, garbage)
    resps = M.parse_responses(data)
    assert resps and resps[0].status == 400, data
    # and the proxy still works afterwards
    assert mesh.get("/hello").status == 200


def test_client_disconnect_midrequest_does_not_hurt(mesh):
    for _ in range(20):
        with socket.create_connection(("127.0.0.1", mesh.client.outbound), timeout=5) as s:
            s.sendall(b"POST /hello HTTP/1.1\r\nHost: backend\r\nContent-Length: 100000\r\n\r\nabc")
    r = mesh.get("/hello")
    assert r.status == 200 and r.body == HELLO, r
