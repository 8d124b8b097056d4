"""Request and response bodies through the sidecar pair, byte-exact."""

import hashlib

import pytest

import mesh as M

SIZES = M.BODY_SIZES


@pytest.fixture(scope="module")
def big_static(app):
    sha = M.write_random(app.www / "big.bin", 10 << 20)
    return "/big.bin", sha


def test_get_10mb_static(mesh, big_static, tmp_path):
    path, sha = big_static
    r = mesh.get(path, timeout=60)
    assert r.rc == 0 and r.status == 200, r
    assert len(r.body) == 10 << 20, f"got {len(r.body)} bytes"
    assert hashlib.sha256(r.body).hexdigest() == sha
    assert r.header("content-length") in (None, str(10 << 20)), r


def test_get_10mb_static_absolute_form(mesh, big_static):
    path, sha = big_static
    r = M.curl("-x", f"http://127.0.0.1:{mesh.client.outbound}", f"http://backend:8080{path}",
               timeout=60)
    assert r.status == 200, r
    assert hashlib.sha256(r.body).hexdigest() == sha


@pytest.mark.parametrize("framing", ["content-length", "chunked"])
@pytest.mark.parametrize("size", list(SIZES))
@pytest.mark.parametrize("response", ["length", "chunked"])
def test_post_echo(echo_mesh, payloads, size, framing, response):
    path, sha = payloads[size]
    args = ["-X", "POST", "--data-binary", f"@{path}", "-H", "Content-Type: application/octet-stream"]
    if framing == "chunked":
        args += ["-H", "Transfer-Encoding: chunked"]
    q = "?chunked=1" if response == "chunked" else ""
    r = echo_mesh.get(f"/echo{q}", *args, timeout=60)
    assert r.rc == 0 and r.status == 200, r
    assert len(r.body) == SIZES[size], f"echoed {len(r.body)} of {SIZES[size]} bytes: {r}"
    assert hashlib.sha256(r.body).hexdigest() == sha
    assert r.header("x-echo-peer") == M.spiffe("web"), r


def test_post_empty_body(echo_mesh):
    r = echo_mesh.get("/echo", "--data-binary", "")
    assert r.status == 200 and r.body == b"", r


def test_keepalive_after_bodies(echo_mesh, payloads):
    """Several POSTs on one client connection keep framing intact."""
    path, sha = payloads["64KiB"]
    body = path.read_bytes()
    one = (b"POST /echo HTTP/1.1\r\nHost: reviews\r\nContent-Length: %d\r\n\r\n" % len(body)) + body
    chunked = (b"POST /echo?chunked=1 HTTP/1.1\r\nHost: reviews\r\nTransfer-Encoding: chunked\r\n\r\n"
               + b"%x\r\n" % len(body) + body + b"\r\n0\r\n\r\n")
    last = b"GET /x HTTP/1.1\r\nHost: reviews\r\nConnection: close\r\n\r\n"
    data, eof = M.raw_exchange(echo_mesh.client.outbound, one + chunked + one + last, timeout=10)
    resps = M.parse_responses(data)
    assert [r.status for r in resps] == [200, 200, 200, 200], data[:300]
    for r in resps[:3]:
        assert r.body == body
    assert resps[3].body == b"echo\n"


@pytest.mark.parametrize("framing", ["content-length", "chunked"])
@pytest.mark.parametrize("size", list(SIZES))
def test_put_then_get_via_dav(mesh, payloads, size, framing):
    path, sha = payloads[size]
    url_path = f"/dav/{framing}/{size}.bin"
    args = ["-T", str(path)]
    if framing == "chunked":
        args += ["-H", "Transfer-Encoding: chunked"]
    put = mesh.get(url_path, *args, timeout=60)
    assert put.rc == 0 and put.status in (201, 204), put
    got = mesh.get(url_path, timeout=60)
    assert got.status == 200, got
    assert len(got.body) == SIZES[size]
    assert hashlib.sha256(got.body).hexdigest() == sha
    dele = mesh.get(url_path, "-X", "DELETE")
    assert dele.status == 204, dele
    assert mesh.get(url_path).status == 404
