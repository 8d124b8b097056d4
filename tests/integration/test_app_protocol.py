"""How the server sidecar speaks to its app (--app-protocol auto|http1|h2c), with real apps:
nghttpd (the nghttp2 project's HTTP/2-only server) and nginx (HTTP/1.1 only).  Between the
sidecars every request travels over HTTP/2; the app gets what its flag says."""

import shutil
import subprocess

import pytest

import mesh as M

NGHTTPD = shutil.which("nghttpd") or "/usr/sbin/nghttpd"


@pytest.fixture
def nghttpd(tmp_path):
    """nghttpd --no-tls serving tmp_path/htdocs on a free port (h2c with prior knowledge)."""
    docs = tmp_path / "htdocs"
    docs.mkdir()
    (docs / "hello.txt").write_bytes(b"hello over h2c\n")
    for _ in range(3):
        port = M.free_port()
        proc = subprocess.Popen([NGHTTPD, "-a", "127.0.0.1", "--no-tls", "-d", str(docs),
                                 str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        if M.wait_until(lambda: M.port_open(port) or proc.poll() is not None, 5) \
                and proc.poll() is None:
            break
        proc.kill()
        proc.wait(5)
    else:
        pytest.fail("nghttpd did not start")
    yield port
    proc.kill()
    proc.wait(5)


def test_h2c_app_reached_by_http1_caller(proxies, nghttpd):
    """--app-protocol h2c: an HTTP/1.1 caller's request reaches an HTTP/2-only app."""
    pair = proxies.sidecar_pair(app_port=nghttpd, service="backend",
                                extra_args=M.app_protocol_args("h2c"))
    r = pair.get("/hello.txt", "--http1.1")
    assert r.rc == 0 and r.status == 200 and r.body == b"hello over h2c\n", r


def test_auto_sends_http1_caller_as_http1(proxies, nghttpd):
    """--app-protocol auto (the default): an HTTP/1.1 caller stays HTTP/1.1 at the app, so an
    HTTP/2-only app cannot answer it, and the error says what failed."""
    pair = proxies.sidecar_pair(app_port=nghttpd, service="backend")
    r = pair.get("/hello.txt", "--http1.1")
    assert r.status == 502, r
    err = r.header("x-weft-error") or ""
    assert err.startswith("app ") and f"127.0.0.1:{nghttpd}" in err, r
    assert "--app-protocol h2c" in err, r


def test_h2c_to_http1_app_says_which_flag(proxies, app):
    """An HTTP/2 caller with the default auto reaches an HTTP/1.1-only app (nginx) as h2c:
    nginx hangs up, and the error tells the operator about --app-protocol. Whether the
    request's HEADERS had left before nginx hung up on the preface decides between 502
    (closed before response headers) and 503 (connect failed: nothing of it was sent)."""
    pair = proxies.sidecar_pair(app_port=app.port, service="backend")
    r = pair.get("/hello", "--http2-prior-knowledge")
    err = r.header("x-weft-error") or ""
    assert (r.status, err.split(": 127.0.0.1:")[0]) in {
        (502, "app closed before response headers"), (503, "app connect failed")}, r
    assert f"127.0.0.1:{app.port}: http2 connection closed" in err, r
    assert "--app-protocol http1" in err, r
    # with the flag, the same request is served
    fixed = proxies.sidecar_pair(app_port=app.port, service="backend",
                                 extra_args=M.app_protocol_args("http1"))
    r = fixed.get("/hello", "--http2-prior-knowledge")
    assert r.status == 200 and r.body == b"hello from backend\n", r
