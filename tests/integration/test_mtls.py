"""Inbound mTLS enforcement and outbound peer-identity verification."""

import datetime
import re
import subprocess

import pytest

import mesh as M

HELLO = b"hello from backend\n"
REQ = b"GET /hello HTTP/1.1\r\nHost: backend\r\nConnection: close\r\n\r\n"


def s_client(port: int, *args: str, stdin: bytes = REQ, timeout: float = 10):
    """openssl s_client against 127.0.0.1:port; returns (rc, stdout, stderr).
    A server that neither answers nor closes makes this raise (test failure)."""
    try:
        p = subprocess.run(["openssl", "s_client", "-connect", f"127.0.0.1:{port}",
                            "-ign_eof", *args],
                           input=stdin, capture_output=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        pytest.fail(f"inbound port kept the connection open for {timeout}s "
                    "instead of failing the handshake / closing")
    return p.returncode, p.stdout, p.stderr


def tls_curl(mesh, certs, path, *args, cert="web"):
    # HTTP/1.1: the nginx app speaks nothing else, and with the default --app-protocol auto a
    # caller that negotiated h2 would be served h2c (test_h2_downstream covers h2 callers).
    cert_args = ["--cert", str(certs / f"{cert}.pem"), "--key", str(certs / f"{cert}-key.pem")] if cert else []
    return M.curl("--http1.1", "--cacert", str(certs / "ca.pem"), "-k", *cert_args, *args,
                  mesh.server.in_url(path), timeout=10)


# ------------------------------------------------------------ inbound

def test_inbound_without_client_cert_openssl(mesh, certs):
    mesh.server.assert_alive()
    rc, out, err = s_client(mesh.server.inbound, "-CAfile", str(certs / "ca.pem"))
    assert HELLO not in out and b"HTTP/1." not in out, out.decode(errors="replace")
    # Refused by the server's alert (RFC 8446 §6.2), not by chance.
    assert rc != 0 and b"alert certificate required" in err and b"SSL alert number 116" in err, err
    mesh.server.assert_alive()


def test_inbound_without_client_cert_curl(mesh, certs):
    mesh.server.assert_alive()
    r = tls_curl(mesh, certs, "/hello", cert=None)
    assert r.rc != 0, f"handshake without client cert must fail: {r}"
    assert r.body == b"" and r.status == 0, r
    assert "alert certificate required" in r.stderr, r
    mesh.server.assert_alive()


def test_inbound_rogue_ca_cert_rejected(mesh, certs):
    mesh.server.assert_alive()
    r = tls_curl(mesh, certs, "/hello", cert="rogue")
    assert r.rc != 0, f"cert from an untrusted CA must fail the handshake: {r}"
    assert HELLO not in r.body, r
    assert "alert unknown ca" in r.stderr, r
    mesh.server.assert_alive()


def test_inbound_rogue_ca_cert_openssl(mesh, certs):
    mesh.server.assert_alive()
    rc, out, err = s_client(mesh.server.inbound, "-CAfile", str(certs / "ca.pem"),
                            "-cert", str(certs / "rogue.pem"), "-key", str(certs / "rogue-key.pem"))
    assert HELLO not in out and b"HTTP/1." not in out, out.decode(errors="replace")
    assert rc != 0 and b"alert unknown ca" in err and b"SSL alert number 48" in err, err
    mesh.server.assert_alive()


def test_inbound_plaintext_not_served(mesh):
    mesh.server.assert_alive()
    data, _ = M.raw_exchange(mesh.server.inbound, REQ, timeout=3)
    assert HELLO not in data and not data.startswith(b"HTTP/1.1 200"), data[:200]
    mesh.server.assert_alive()


def test_inbound_valid_cert_reaches_app(mesh, certs):
    r = tls_curl(mesh, certs, "/headers", "-v")
    assert r.rc == 0 and r.status == 200, r
    assert r.body.startswith(f"peer={M.spiffe('web')} ".encode()), r
    assert "TLSv1.3" in r.stderr, r


def test_inbound_other_workload_identity(mesh, certs):
    r = tls_curl(mesh, certs, "/headers", cert="reviews")
    assert r.status == 200, r
    assert r.body.startswith(f"peer={M.spiffe('reviews')} ".encode()), r


def test_inbound_forged_identity_header_replaced(mesh, certs):
    r = tls_curl(mesh, certs, "/headers", "-H", "x-weft-peer-identity: forged")
    assert r.status == 200, r
    assert r.body.startswith(f"peer={M.spiffe('web')} ".encode()), r
    assert b"forged" not in r.body, r


def test_inbound_presents_workload_cert_tls13(mesh, certs):
    rc, out, err = s_client(mesh.server.inbound, "-CAfile", str(certs / "ca.pem"),
                            "-cert", str(certs / "web.pem"), "-key", str(certs / "web-key.pem"),
                            "-verify_return_error")
    text = out.decode(errors="replace")
    assert re.search(r"New, TLSv1\.3, Cipher is", text), text
    assert "Verify return code: 0 (ok)" in text, text
    assert HELLO in out, text
    m = re.search(r"-----BEGIN CERTIFICATE-----.*?-----END CERTIFICATE-----", text, re.S)
    assert m, text
    san = subprocess.run(["openssl", "x509", "-noout", "-ext", "subjectAltName"],
                         input=m.group(0).encode(), capture_output=True, timeout=10).stdout.decode()
    assert f"URI:{M.spiffe('backend')}" in san, san


# ------------------------------------------------------------ outbound identity checks

def test_config_identity_mismatch_503(proxies, mesh, app):
    """The yaml expects sa/somebody-else but the endpoint presents sa/backend."""
    expected = M.spiffe("somebody-else")
    addr = f"127.0.0.1:{mesh.server.inbound}"
    web = proxies.start("web", service="web", app_port=app.port,
                        config=M.service_yaml("backend", [(addr, expected)]))
    r = M.curl("-H", "Host: backend", web.out_url("/hello"))
    assert r.rc == 0 and r.status == 503, r
    assert HELLO not in r.body, r
    err = r.header("x-weft-error") or ""
    assert err.startswith(f"upstream connect failed: {addr}: "), r
    assert expected in err and M.spiffe("backend") in err, r
    assert r.body.strip(), r


def test_server_with_wrong_identity_cert_503(proxies, app):
    """backend sidecar runs with evil.pem (same CA) while the yaml says sa/backend."""
    # --service-account evil keeps the sidecar's own config consistent with its cert,
    # so only the client-side identity check can catch it.
    pair = proxies.sidecar_pair(app_port=app.port, service="backend",
                                server_cert="evil", server_sa="evil")
    r = pair.get("/hello")
    assert r.rc == 0 and r.status == 503, r
    assert HELLO not in r.body, r
    err = r.header("x-weft-error") or ""
    assert err.startswith(f"upstream connect failed: 127.0.0.1:{pair.server.inbound}: "), r
    assert M.spiffe("backend") in err and M.spiffe("evil") in err, r


def test_server_with_untrusted_ca_cert_503(proxies, app):
    """backend sidecar presents a cert from rogue-ca (claiming sa/web)."""
    pair = proxies.sidecar_pair(app_port=app.port, service="backend", server_cert="rogue",
                                server_sa="web", server_trust="rogue-ca")
    r = pair.get("/hello")
    assert r.rc == 0 and r.status == 503, r
    assert HELLO not in r.body, r
    err = r.header("x-weft-error") or ""
    assert err.startswith(f"upstream connect failed: 127.0.0.1:{pair.server.inbound}: "), r


def test_client_cert_from_untrusted_ca_names_the_alert(proxies, mesh, app, certs):
    """The web sidecar presents rogue.pem (another CA, claiming sa/web; its own bundle trusts
    both CAs): the backend sidecar refuses it during the handshake, and the 503 says so with
    the TLS alert it sent."""
    both = certs / "ca-and-rogue-ca.pem"
    both.write_bytes((certs / "ca.pem").read_bytes() + (certs / "rogue-ca.pem").read_bytes())
    addr = f"127.0.0.1:{mesh.server.inbound}"
    web = proxies.start("web", service="web", app_port=app.port, cert="rogue",
                        trust_bundle="ca-and-rogue-ca",
                        config=M.service_yaml("backend", [(addr, M.spiffe("backend"))]))
    r = M.curl("-H", "Host: backend", web.out_url("/hello"))
    assert r.rc == 0 and r.status == 503, r
    assert HELLO not in r.body, r
    err = r.header("x-weft-error") or ""
    assert err.startswith(f"upstream connect failed: {addr}: "), r
    assert "unknown ca" in err, r


# ------------------------------------------------------------ certificates outside the mesh's rules

@pytest.mark.parametrize("name,san", [
    ("foreign-td", "URI:spiffe://other.example/ns/default/sa/web"),
    ("no-uri-san", "DNS:web.default.svc.cluster.local"),
    ("not-spiffe", "URI:https://cluster.local/ns/default/sa/web"),
])
def test_inbound_rejects_cert_outside_trust_domain(mesh, certs, tmp_path, name, san):
    """Chains to the trust bundle, but the identity is not a SPIFFE ID in cluster.local."""
    crt, key = M.issue_leaf(certs, tmp_path, name, san)
    mesh.server.assert_alive()
    r = M.curl("--cacert", str(certs / "ca.pem"), "-k", "--cert", str(crt), "--key", str(key),
               mesh.server.in_url("/headers"), timeout=10)
    assert r.rc != 0, f"handshake with {san} must fail: {r}"
    assert b"peer=" not in r.body, r
    mesh.server.assert_alive()


# ------------------------------------------------------------ what the client sidecar presents upstream

@pytest.fixture
def s_server(certs, tmp_path):
    started = []

    def start(*tls_args, cert="backend"):
        s = M.SServer(certs, cert, tmp_path, *tls_args).start()
        started.append(s)
        return s

    yield start
    for s in started:
        s.stop()


def test_outbound_uses_tls13_and_presents_workload_cert(proxies, app, s_server):
    up = s_server()
    web = proxies.start("web", service="web", app_port=app.port,
                        config=M.service_yaml("backend", [(f"127.0.0.1:{up.port}", M.spiffe("backend"))]))
    r = M.curl("-H", "Host: backend", web.out_url("/"))
    assert r.status == 200, f"{r}\ns_server log:\n{M.tail(up.log)}"
    body = r.body.decode(errors="replace")
    assert re.search(r"Protocol\s*:\s*TLSv1\.3", body), body[:2000]
    assert "Client certificate" in body, body[:2000]
    assert f"URI:{M.spiffe('web')}" in body, body


def test_outbound_refuses_tls12_upstream(proxies, app, s_server):
    up = s_server("-tls1_2")
    web = proxies.start("web", service="web", app_port=app.port,
                        config=M.service_yaml("backend", [(f"127.0.0.1:{up.port}", M.spiffe("backend"))]))
    r = M.curl("-H", "Host: backend", web.out_url("/"))
    assert r.status == 503, r
    assert (r.header("x-weft-error") or "").startswith(f"upstream connect failed: 127.0.0.1:{up.port}: "), r


# ------------------------------------------------------------ certificates out of their validity

def _dated(certs, tmp_path, name: str, sa: str, when: str):
    now = datetime.datetime.now(datetime.timezone.utc)
    day = datetime.timedelta(days=1)
    window = (now - 2 * day, now - day) if when == "expired" else (now + day, now + 2 * day)
    return M.issue_dated_leaf(certs, tmp_path / "dated", name, M.spiffe(sa), *window)


# What OpenSSL's verification says of each (X509_verify_cert_error_string), and the alert a
# server sends for a client certificate it refuses (RFC 8446 §6.2).
VERIFY_ERROR = {"expired": "certificate has expired", "not-yet-valid": "certificate is not yet valid"}
ALERT = {"expired": "alert certificate expired", "not-yet-valid": "alert bad certificate"}


@pytest.mark.parametrize("when", ["expired", "not-yet-valid"])
def test_inbound_refuses_client_cert_out_of_validity(mesh, certs, tmp_path, when):
    crt, key = _dated(certs, tmp_path, "web-dated", "web", when)
    r = M.curl("--http1.1", "--cacert", str(certs / "ca.pem"), "-k", "--cert", str(crt),
               "--key", str(key), mesh.server.in_url("/hello"), timeout=10)
    assert r.rc != 0 and HELLO not in r.body, r
    assert ALERT[when] in r.stderr, r
    mesh.server.assert_alive()


@pytest.mark.parametrize("when", ["expired", "not-yet-valid"])
def test_outbound_refuses_upstream_cert_out_of_validity(proxies, app, certs, tmp_path, when):
    _dated(certs, tmp_path, "backend-dated", "backend", when)
    (tmp_path / "dated" / "ca.pem").write_bytes((certs / "ca.pem").read_bytes())
    up = M.SServer(tmp_path / "dated", "backend-dated", tmp_path).start()
    try:
        web = proxies.start("web", service="web", app_port=app.port, config=M.service_yaml(
            "backend", [(f"127.0.0.1:{up.port}", M.spiffe("backend"))]))
        r = M.curl("-H", "Host: backend", web.out_url("/"))
    finally:
        up.stop()
    assert r.status == 503, r
    err = r.header("x-weft-error") or ""
    assert err.startswith(f"upstream connect failed: 127.0.0.1:{up.port}: "), r
    assert VERIFY_ERROR[when] in err, r
