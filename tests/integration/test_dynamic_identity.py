"""weft-proxy with its certificate from weft-control (--control, --token-file, --trust-bundle;
no --cert/--key): a sidecar pair started from join tokens only carries curl traffic over mTLS;
/ready says why while there is no certificate; with --cert-ttl 20s the serial the inbound port
presents (read with openssl s_client) changes under a steady curl loop that sees no failure;
--cache-dir brings a restarted proxy back on its cached certificate; static --cert/--key files
are re-read on SIGHUP."""

import json
import os
import signal
import stat
import subprocess
import time

import pytest

import mesh as M
from clients import curl
from control_plane import Control, fetch, metric

BACKEND = M.spiffe("backend")
WEB = M.spiffe("web")


@pytest.fixture
def control(tmp_path):
    c = Control(tmp_path, "--trust-domain", M.TRUST_DOMAIN, "--cert-ttl", "20s").wait_ready()
    yield c
    assert c.stop() == 0, c.log_path.read_text()


def start_pair(proxies, control, tmp_path, app_port, server_extra=(), client_extra=()):
    server = proxies.new("backend", service="backend", app_port=app_port,
                         identity_args=[*control.identity_args(tmp_path, "backend"),
                                        *server_extra])
    server.start(ready_timeout=20)
    client = proxies.new("web", service="web", app_port=app_port,
                         identity_args=[*control.identity_args(tmp_path, "web"), *client_extra],
                         config=M.service_yaml("backend", [(f"127.0.0.1:{server.inbound}",
                                                            BACKEND)]))
    client.start(ready_timeout=20)
    return server, client


def presented_serial(port: int) -> str:
    """The serial of the certificate the inbound port presents, as openssl s_client reads it
    (the handshake then fails for want of a client certificate; the server's came first)."""
    p = subprocess.run(["openssl", "s_client", "-connect", f"127.0.0.1:{port}", "-showcerts"],
                       input=b"", capture_output=True, timeout=20)
    out = p.stdout.decode(errors="replace")
    start = out.find("-----BEGIN CERTIFICATE-----")
    assert start >= 0, out + p.stderr.decode(errors="replace")
    pem = out[start:out.index("-----END CERTIFICATE-----") + 25]
    x = subprocess.run(["openssl", "x509", "-noout", "-serial", "-ext", "subjectAltName"],
                       input=pem.encode(), capture_output=True, timeout=20)
    text = x.stdout.decode()
    assert f"URI:{BACKEND}" in text, text
    return text.splitlines()[0].split("=", 1)[1]


def test_pair_started_from_tokens_carries_traffic_over_mtls(proxies, control, tmp_path,
                                                            echo_app):
    server, client = start_pair(proxies, control, tmp_path, echo_app.port)
    r = curl("-H", "Host: backend", client.out_url("/hello"))
    assert r.status == 200, (r, client.log())
    assert r.header("x-echo-peer") == WEB
    holders = {h["identity"] for h in control_status(control)["holders"]}
    assert holders == {BACKEND, WEB}
    assert metric(server.metrics_text(), 'identity_cert_refresh_total{result="success"}') >= 1
    expiry = metric(server.metrics_text(), "identity_cert_expiration_timestamp_seconds")
    assert time.time() < expiry <= time.time() + 21


def control_status(control) -> dict:
    p = control.weftctl("ca", "status", "-o", "json")
    assert p.returncode == 0, p
    return json.loads(p.stdout)


def test_not_ready_with_the_reason_until_the_control_plane_answers(proxies, tmp_path, echo_app):
    # The control plane's port is chosen now; nothing listens there yet.
    early = Control(tmp_path, "--trust-domain", M.TRUST_DOMAIN, name="early").wait_ready()
    args = early.identity_args(tmp_path, "backend")
    listen = early.listen
    assert early.stop() == 0
    proxy = proxies.new("backend", service="backend", app_port=echo_app.port,
                        identity_args=args)
    proxy.launch()

    def reason():
        try:
            return fetch(proxy.admin, "/ready")
        except OSError:
            return (0, "")
    assert M.wait_until(lambda: reason()[0] == 503, 10), proxy.log()
    status, text = reason()
    assert "not ready: waiting for a certificate: control plane unreachable: connect: " \
           "Connection refused" in text, text
    assert not M.port_open(proxy.inbound), "inbound listener open before a certificate"
    # The control plane comes up (same data dir, same port): the proxy gets its certificate.
    late = Control(tmp_path, "--trust-domain", M.TRUST_DOMAIN, data_dir=early.data_dir,
                   name="late", listen=listen).wait_ready()
    try:
        assert M.wait_until(lambda: reason()[0] == 200, 30), proxy.log()
        assert M.port_open(proxy.inbound)
        assert metric(proxy.metrics_text(), 'identity_cert_refresh_total{result="failure"}') >= 1
    finally:
        proxy.stop()
        assert proxy.finish() is None
        assert late.stop() == 0


def test_a_token_for_another_identity_is_refused_and_said_on_ready(proxies, control, tmp_path,
                                                                   echo_app):
    args = control.identity_args(tmp_path, "admin")  # the proxy runs as backend
    proxy = proxies.new("backend", service="backend", app_port=echo_app.port,
                        identity_args=args)
    proxy.launch()
    assert M.wait_until(lambda: M.port_open(proxy.admin) and
                        "identity_mismatch" in fetch(proxy.admin, "/ready")[1], 15), proxy.log()
    status, text = fetch(proxy.admin, "/ready")
    assert status == 503
    assert ("control plane refused the request (400 identity_mismatch): the certificate "
            f"request asks for uri:{BACKEND}; this token grants only "
            f"{M.spiffe('admin')}") in text, text
    proxy.stop()
    assert proxy.finish() is None


def test_renewal_changes_the_serial_with_zero_failed_requests(proxies, control, tmp_path,
                                                             echo_app):
    """--cert-ttl 20s: renewals come every ~13 s. A steady curl loop for 60 s (bounded) sees
    no failure while the serial on the inbound port changes at least twice."""
    server, client = start_pair(proxies, control, tmp_path, echo_app.port)
    serials = [presented_serial(server.inbound)]
    failures, requests = [], 0
    deadline = time.monotonic() + 60
    next_probe = time.monotonic() + 2
    while time.monotonic() < deadline and requests < 5000:
        r = curl("-H", "Host: backend", client.out_url("/steady"), timeout=10)
        requests += 1
        if r.status != 200:
            failures.append((r.status, r.header("x-weft-error"), r.stderr))
        if time.monotonic() >= next_probe:
            serial = presented_serial(server.inbound)
            if serial != serials[-1]:
                serials.append(serial)
            next_probe = time.monotonic() + 2
        time.sleep(0.05)
    assert failures == [], failures[:5]
    assert len(serials) >= 3, (serials, server.log())
    assert metric(server.metrics_text(), 'identity_cert_refresh_total{result="success"}') >= 3


def test_renewal_after_the_join_token_expired_proves_itself_with_the_certificate(
        proxies, control, tmp_path, echo_app):
    """A 5 s join token, 20 s certificates: the first renewal comes after the token expired and
    is granted on the strength of the certificate being renewed (the TLS client certificate)."""
    proxy = proxies.new("backend", service="backend", app_port=echo_app.port,
                        identity_args=control.identity_args(tmp_path, "backend", ttl="5s"))
    proxy.start(ready_timeout=20)
    first = presented_serial(proxy.inbound)
    assert M.wait_until(lambda: presented_serial(proxy.inbound) != first, 40, interval=1), \
        proxy.log()
    assert metric(proxy.metrics_text(), 'identity_cert_refresh_total{result="failure"}') == 0
    assert "renewal failed" not in proxy.log()


def test_cache_dir_keeps_the_key_and_serves_after_a_restart_without_the_control_plane(
        proxies, tmp_path, echo_app):
    c = Control(tmp_path, "--trust-domain", M.TRUST_DOMAIN, "--cert-ttl", "1h").wait_ready()
    cache = tmp_path / "cache"
    args = c.identity_args(tmp_path, "backend", cache_dir=cache)
    first = proxies.new("backend", service="backend", app_port=echo_app.port,
                        identity_args=args).start(ready_timeout=20)
    modes = {f.name: stat.S_IMODE(os.stat(f).st_mode) for f in cache.iterdir()}
    # No --config: the pushed config is cached beside the certificate (test_push covers it).
    assert modes == {"key.pem": 0o600, "cert.pem": 0o600, "bundle.pem": 0o600,
                     "config.json": 0o600}, modes
    serial = presented_serial(first.inbound)
    first.stop()
    assert first.finish() is None
    assert c.stop() == 0
    # The control plane is down: the restarted proxy serves with what it cached.
    second = proxies.new("backend", service="backend", app_port=echo_app.port,
                         identity_args=args).start(ready_timeout=20)
    assert presented_serial(second.inbound) == serial
    assert "serving with the cached certificate" in second.log()


def test_static_certificate_files_are_reloaded_on_sighup(proxies, certs, tmp_path, echo_app):
    out = tmp_path / "leaf"
    crt, key = M.issue_leaf(certs, out, "backend", f"URI:{BACKEND}")
    live_crt, live_key = tmp_path / "backend.pem", tmp_path / "backend-key.pem"
    live_crt.write_bytes(crt.read_bytes())
    live_key.write_bytes(key.read_bytes())
    server = proxies.new("backend", service="backend", app_port=echo_app.port,
                         identity_args=["--cert", str(live_crt), "--key", str(live_key),
                                        "--trust-bundle", str(certs / "ca.pem")]).start()
    before = presented_serial(server.inbound)
    crt2, key2 = M.issue_leaf(certs, tmp_path / "leaf2", "backend", f"URI:{BACKEND}")
    live_crt.write_bytes(crt2.read_bytes())
    live_key.write_bytes(key2.read_bytes())
    server.signal(signal.SIGHUP)
    assert M.wait_until(lambda: presented_serial(server.inbound) != before, 10), server.log()
    # A bad file is refused and the served certificate stays.
    after = presented_serial(server.inbound)
    live_key.write_text("not a key")
    server.signal(signal.SIGHUP)
    assert M.wait_until(lambda: "certificate reload rejected" in server.log(), 10)
    assert presented_serial(server.inbound) == after
    server.assert_alive()


@pytest.mark.parametrize("args,message", [
    (["--control", "https://127.0.0.1:1", "--token-file", "t", "--trust-bundle", "b",
      "--cert", "c", "--key", "k"], "--control: takes no --cert/--key"),
    (["--control", "https://127.0.0.1:1", "--trust-bundle", "b"],
     "--token-file: required with --control"),
    (["--control", "http://127.0.0.1:1", "--token-file", "t", "--trust-bundle", "b"],
     "--control: want https://HOST:PORT"),
    (["--token-file", "t", "--cert", "c", "--key", "k", "--trust-bundle", "b"],
     "--token-file: needs --control"),
])
def test_identity_flags_are_checked(args, message):
    p = subprocess.run([str(M.proxy_binary()), "--service", "backend", "--service-account",
                        "backend", *args], capture_output=True, text=True, timeout=10)
    assert p.returncode == 2, p
    assert message in p.stderr, p.stderr
