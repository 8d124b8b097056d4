"""weft-control as the mesh CA, driven by real clients: weftctl makes join tokens, `openssl req`
makes the CSRs, curl sends them over TLS (HTTP/2 and HTTP/1.1), `openssl verify`, `openssl x509`
and `openssl s_client` read what comes back, h2load sends a flood. Every bad input gets a JSON
error naming its reason and is counted in identity_csr_rejected_total{reason}."""

import base64
import json
import os
import signal
import stat
import subprocess
import threading
import time
from datetime import timezone

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

import mesh as M
from control_plane import Control, csr_body, make_csr, make_key, metric, weftctl_binary

TD = "example.org"
WEB = f"spiffe://{TD}/ns/default/sa/web"


@pytest.fixture
def control(tmp_path):
    c = Control(tmp_path, "--trust-domain", TD).wait_ready()
    yield c
    assert c.stop() == 0, f"weft-control did not exit 0: {c.log_path.read_text()}"


@pytest.fixture
def csr(tmp_path):
    return make_csr(tmp_path, make_key(tmp_path))


def issue(control, tmp_path, token, csr_text, http2=True):
    status, answer = control.post_csr(token, csr_body(csr_text), http2=http2)
    assert status == 200, answer
    for name in ("certificate", "chain", "trustBundle"):
        (tmp_path / f"{name}.pem").write_text(answer[name])
    return answer


def openssl(*args: str, input: bytes | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(["openssl", *args], input=input, capture_output=True, timeout=30)


def test_issued_chain_verifies_with_openssl_and_names_only_the_token_identity(
        control, tmp_path, csr):
    answer = issue(control, tmp_path, control.token(), csr)
    assert answer["identity"] == WEB
    p = openssl("verify", "-CAfile", str(tmp_path / "trustBundle.pem"), "-untrusted",
                str(tmp_path / "chain.pem"), "-purpose", "sslclient",
                str(tmp_path / "certificate.pem"))
    assert p.returncode == 0 and b": OK" in p.stdout, p
    p = openssl("x509", "-in", str(tmp_path / "certificate.pem"), "-noout", "-ext",
                "subjectAltName")
    sans = [line.strip() for line in p.stdout.decode().splitlines()[1:]]
    assert sans == [f"URI:{WEB}"], p.stdout
    # The bundle the API serves is the one in the answer.
    assert control.bundle_path(tmp_path).read_text() == answer["trustBundle"]


def test_lifetime_is_cert_ttl_with_20s_of_backdating(tmp_path):
    c = Control(tmp_path, "--trust-domain", TD, "--cert-ttl", "90s").wait_ready()
    try:
        before = time.time()
        answer = issue(c, tmp_path, c.token(), make_csr(tmp_path, make_key(tmp_path)))
        cert = x509.load_pem_x509_certificate(answer["certificate"].encode())
        # Debian's cryptography (38) gives naive datetimes, in UTC.
        not_before = cert.not_valid_before.replace(tzinfo=timezone.utc)
        not_after = cert.not_valid_after.replace(tzinfo=timezone.utc)
        life = not_after - not_before
        assert 109 <= life.total_seconds() <= 111, life
        assert abs(not_before.timestamp() - (before - 20)) < 5
        assert answer["notAfter"] == not_after.strftime("%Y-%m-%dT%H:%M:%SZ")
    finally:
        assert c.stop() == 0


def test_http1_over_tls_is_served_too(control, tmp_path, csr):
    issue(control, tmp_path, control.token(), csr, http2=False)


def test_a_csr_naming_exactly_its_identity_is_accepted(control, tmp_path):
    csr = make_csr(tmp_path, make_key(tmp_path), san=f"URI:{WEB}")
    assert issue(control, tmp_path, control.token(), csr)["identity"] == WEB


@pytest.mark.parametrize("kind", ["ec384", "rsa2048"])
def test_other_accepted_keys(control, tmp_path, kind):
    csr = make_csr(tmp_path, make_key(tmp_path, kind))
    issue(control, tmp_path, control.token(), csr)


def test_listen_port_presents_the_control_plane_identity_over_h2(control, tmp_path):
    bundle = control.bundle_path(tmp_path)
    p = openssl("s_client", "-connect", f"127.0.0.1:{control.listen}", "-CAfile", str(bundle),
                "-alpn", "h2", "-verify_return_error", "-showcerts", input=b"")
    out = p.stdout.decode(errors="replace")
    assert "Verify return code: 0 (ok)" in out, out
    assert "ALPN protocol: h2" in out, out
    leaf = out[out.index("-----BEGIN CERTIFICATE-----"):out.index("-----END CERTIFICATE-----") + 25]
    cert = x509.load_pem_x509_certificate(leaf.encode())
    uris = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value \
        .get_values_for_type(x509.UniformResourceIdentifier)
    assert uris == [f"spiffe://{TD}/ns/weft-system/sa/weft-control"]


def key_modes(data_dir):
    return {name: stat.S_IMODE(os.stat(data_dir / name).st_mode)
            for name in ("ca/root.key", "ca/intermediate.key", "token-signing.key",
                         "admin.token")}


def status_json(control) -> dict:
    p = control.weftctl("ca", "status", "-o", "json")
    assert p.returncode == 0, p
    return json.loads(p.stdout)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL])
def test_restart_keeps_the_ca_and_its_tokens(tmp_path, sig):
    first = Control(tmp_path, "--trust-domain", TD, name="first").wait_ready()
    modes = key_modes(first.data_dir)
    assert set(modes.values()) == {0o600}, {k: oct(v) for k, v in modes.items()}
    before = status_json(first)
    token = first.token()
    bundle = first.bundle_path(tmp_path)
    first.stop(sig)
    second = Control(tmp_path, "--trust-domain", TD, data_dir=first.data_dir,
                     name="second").wait_ready()
    try:
        after = status_json(second)
        assert after["roots"] == before["roots"]
        assert after["issuer"]["fingerprint"] == before["issuer"]["fingerprint"]
        # A token from before the restart still works, and the new leaf chains to the old bundle.
        issue(second, tmp_path, token, make_csr(tmp_path, make_key(tmp_path)))
        p = openssl("verify", "-CAfile", str(bundle), "-untrusted", str(tmp_path / "chain.pem"),
                    str(tmp_path / "certificate.pem"))
        assert p.returncode == 0, p
        assert "created the mesh root CA" not in second.log_path.read_text()
    finally:
        assert second.stop() == 0


def tampered(token: str) -> str:
    header, payload, sig = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["sa"] = "admin"
    claims["sub"] = f"spiffe://{TD}/ns/default/sa/admin"
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("=")
    return f"{header}.{forged}.{sig}"


def bad_signature_csr(tmp_path) -> str:
    csr = x509.load_pem_x509_csr(make_csr(tmp_path, make_key(tmp_path)).encode())
    der = bytearray(csr.public_bytes(serialization.Encoding.DER))
    der[-5] ^= 0x01  # inside the signature's BIT STRING
    b64 = base64.encodebytes(bytes(der)).decode()
    return f"-----BEGIN CERTIFICATE REQUEST-----\n{b64}-----END CERTIFICATE REQUEST-----\n"


def expect_refusal(control, token, body, status, reason, message):
    before = metric(control.metrics(), f'identity_csr_rejected_total{{reason="{reason}"}}')
    got_status, answer = control.post_csr(token, body)
    assert got_status == status, answer
    assert answer["error"]["reason"] == reason, answer
    assert message in answer["error"]["message"], answer
    after = metric(control.metrics(), f'identity_csr_rejected_total{{reason="{reason}"}}')
    assert after == before + 1
    assert control.proc.poll() is None


@pytest.mark.parametrize("case,status,reason,message", [
    ("no token", 401, "missing_token", "Authorization: Bearer"),
    ("garbage token", 401, "malformed_token", "malformed token"),
    ("expired token", 401, "token_expired", "token expired at"),
    ("tampered token", 401, "token_signature", "altered"),
    ("bad csr signature", 400, "bad_signature", "does not verify"),
    ("rsa1024", 400, "weak_key", "RSA key of 1024 bits"),
    ("dsa", 400, "unsupported_key", "DSA key"),
    ("ed25519", 400, "unsupported_key", "ED25519 key"),
    ("extra san", 400, "identity_mismatch", "asks for dns:evil.example"),
    ("other identity", 400, "identity_mismatch",
     f"asks for uri:spiffe://{TD}/ns/default/sa/admin"),
    ("not a csr", 400, "malformed_csr", "not a PEM certificate request"),
    ("not json", 400, "malformed_body", "not a JSON object"),
    ("no csr field", 400, "malformed_body", "'csr'"),
    ("10 MB body", 413, "body_too_large", "over 65536 bytes"),
])
def test_bad_input_is_refused_with_its_reason_and_counted(control, tmp_path, case, status,
                                                          reason, message):
    token = control.token()
    good_csr = lambda: make_csr(tmp_path, make_key(tmp_path))  # noqa: E731
    body = None
    if case == "no token":
        token = None
    elif case == "garbage token":
        token = "not-a-token"
    elif case == "expired token":
        token = control.token(ttl="1s")
        time.sleep(1.5)
    elif case == "tampered token":
        token = tampered(token)
    elif case == "bad csr signature":
        body = csr_body(bad_signature_csr(tmp_path))
    elif case in ("rsa1024", "dsa", "ed25519"):
        body = csr_body(make_csr(tmp_path, make_key(tmp_path, case)))
    elif case == "extra san":
        body = csr_body(make_csr(tmp_path, make_key(tmp_path), san=f"URI:{WEB},DNS:evil.example"))
    elif case == "other identity":
        body = csr_body(make_csr(tmp_path, make_key(tmp_path),
                                 san=f"URI:spiffe://{TD}/ns/default/sa/admin"))
    elif case == "not a csr":
        body = csr_body("hello")
    elif case == "not json":
        body = b"csr=please"
    elif case == "no csr field":
        body = json.dumps({"request": good_csr()}).encode()
    elif case == "10 MB body":
        body = csr_body("A" * (10 * 1024 * 1024))
    expect_refusal(control, token, body if body is not None else csr_body(good_csr()), status,
                   reason, message)
    # The CA still serves a valid request afterwards.
    issue(control, tmp_path, control.token(), good_csr())


def test_token_for_another_trust_domain_or_control_plane_is_refused(tmp_path):
    first = Control(tmp_path, "--trust-domain", TD, name="first").wait_ready()
    token = first.token()
    assert first.stop() == 0
    # Same data directory (same signing key), another trust domain.
    renamed = Control(tmp_path, "--trust-domain", "other.org", data_dir=first.data_dir,
                      name="renamed").wait_ready()
    other = Control(tmp_path, "--trust-domain", TD, data_dir=tmp_path / "other-data",
                    name="other").wait_ready()
    try:
        body = csr_body(make_csr(tmp_path, make_key(tmp_path)))
        expect_refusal(renamed, token, body, 401, "wrong_trust_domain",
                       f"token is for trust domain {TD}; this control plane serves other.org")
        expect_refusal(other, token, body, 401, "token_signature", "not this control plane's")
    finally:
        assert renamed.stop() == 0
        assert other.stop() == 0


def test_a_flood_of_bad_csrs_neither_crashes_nor_stalls_the_ca(control, tmp_path):
    """1,000 weak-key CSRs in flight at once (h2load: 100 TLS connections x 10 streams) while
    a valid request arrives: every bad one is refused and counted, the valid one is served."""
    body_file = tmp_path / "weak.json"
    body_file.write_bytes(csr_body(make_csr(tmp_path, make_key(tmp_path, "rsa1024"))))
    token = control.token()
    flood = subprocess.Popen(
        ["h2load", "-n", "1000", "-c", "100", "-m", "10", "-d", str(body_file),
         "-H", f"authorization: Bearer {token}", "-H", "content-type: application/json",
         "-T", "60", f"https://127.0.0.1:{control.listen}/v1/certificates"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    served = []
    good = make_csr(tmp_path, make_key(tmp_path))

    def valid():
        served.append(control.post_csr(token, csr_body(good))[0])

    thread = threading.Thread(target=valid)
    time.sleep(0.2)
    thread.start()
    out, _ = flood.communicate(timeout=120)
    thread.join(timeout=60)
    assert served == [200]
    assert "1000 succeeded" in out or "status codes: 0 2xx, 0 3xx, 1000 4xx" in out, out
    assert "status codes: 0 2xx, 0 3xx, 1000 4xx, 0 5xx" in out, out
    text = control.metrics()
    assert metric(text, 'identity_csr_rejected_total{reason="weak_key"}') == 1000
    assert metric(text, "identity_certs_issued_total") == 1


def test_weftctl_ca_status_shows_roots_issuer_and_holders(control, tmp_path, csr):
    answer = issue(control, tmp_path, control.token(), csr)
    doc = status_json(control)
    assert doc["trustDomain"] == TD and doc["phase"] == "steady"
    assert len(doc["roots"]) == 1 and doc["issuer"]["operatorSupplied"] is False
    assert [(h["identity"], h["serial"]) for h in doc["holders"]] == [(WEB, answer["serial"])]
    p = control.weftctl("ca", "status")
    assert p.returncode == 0, p
    assert "weft root CA example.org" in p.stdout and answer["serial"] in p.stdout, p.stdout


def test_weftctl_exit_codes(control, tmp_path):
    p = control.weftctl("token", "create", "--namespace", "Web!", "--service-account", "x")
    assert p.returncode == 1 and "namespace: 'Web!' is not a Kubernetes namespace" in p.stderr
    p = control.weftctl("token", "create", "--namespace", "a", "--service-account", "b",
                        "--ttl", "soon")
    assert p.returncode == 1 and "ttl: 'soon' is not a duration" in p.stderr, p
    p = control.weftctl("ca", "status", token=False)
    assert p.returncode == 4 and "missing_token" in p.stderr, p
    p = control.weftctl("ca", "status", "--token", "weft-admin-wrong-wrong-wrong", token=False)
    assert p.returncode == 4 and "bad_admin_token" in p.stderr, p
    p = control.weftctl("ca", "frobnicate")
    assert p.returncode == 2 and "unknown command 'ca frobnicate'" in p.stderr, p
    p = subprocess.run([str(weftctl_binary()), "--server", f"127.0.0.1:{M.free_port()}",
                        "ca", "status"], capture_output=True, text=True, timeout=30)
    assert p.returncode == 3 and "cannot reach weft-control" in p.stderr, p
    p = control.weftctl("token", "create", "--namespace", "default", "--service-account", "web",
                        "-o", "json")
    assert p.returncode == 0 and json.loads(p.stdout)["identity"] == WEB, p


def make_operator_ca(tmp_path):
    """A root and an intermediate made with openssl, as an operator would bring them."""
    ext = tmp_path / "ca.ext"
    ext.write_text("[ca]\nbasicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,"
                   "cRLSign\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n")
    root_key = make_key(tmp_path, name="op-root.key")
    subprocess.run(["openssl", "req", "-x509", "-new", "-key", str(root_key), "-subj",
                    "/O=operator/CN=operator root", "-days", "30", "-addext",
                    "basicConstraints=critical,CA:TRUE", "-addext",
                    "keyUsage=critical,keyCertSign,cRLSign", "-out",
                    str(tmp_path / "op-root.pem")], check=True, capture_output=True, timeout=30)
    inter_key = make_key(tmp_path, name="op-inter.key")
    make_csr(tmp_path, inter_key, name="op-inter.csr")
    subprocess.run(["openssl", "x509", "-req", "-in", str(tmp_path / "op-inter.csr"), "-CA",
                    str(tmp_path / "op-root.pem"), "-CAkey", str(root_key), "-days", "20",
                    "-extfile", str(ext), "-extensions", "ca", "-out",
                    str(tmp_path / "op-inter.pem")], check=True, capture_output=True, timeout=30)
    return tmp_path / "op-root.pem", tmp_path / "op-inter.pem", inter_key


def test_operator_supplied_ca_is_used_and_nothing_is_written(tmp_path):
    root, inter, inter_key = make_operator_ca(tmp_path)
    c = Control(tmp_path, "--trust-domain", TD, "--ca-cert", str(inter), "--ca-key",
                str(inter_key), "--root-cert", str(root)).wait_ready()
    try:
        issue(c, tmp_path, c.token(), make_csr(tmp_path, make_key(tmp_path)))
        p = openssl("verify", "-CAfile", str(root), "-untrusted", str(tmp_path / "chain.pem"),
                    str(tmp_path / "certificate.pem"))
        assert p.returncode == 0, p
        assert not (c.data_dir / "ca" / "root.key").exists()
        assert status_json(c)["issuer"]["operatorSupplied"] is True
        # weft-control does not rotate a CA it was given.
        p = c.weftctl("ca", "rotate")
        assert p.returncode == 1 and "operator_ca" in p.stderr, p
        # The leaf never outlives the operator's 20-day intermediate (--cert-ttl is 24h here,
        # so nothing to clamp), and the issuer's expiry is exported.
        assert metric(c.metrics(), "identity_issuer_expiration_timestamp_seconds") > time.time()
    finally:
        assert c.stop() == 0


@pytest.mark.parametrize("case,message", [
    ("no root", "give the trust anchor with --root-cert"),
    ("wrong key", "the key does not match the certificate"),
    ("key only", "--ca-cert and --ca-key go together"),
])
def test_bad_operator_ca_is_refused_at_start(tmp_path, case, message):
    root, inter, inter_key = make_operator_ca(tmp_path)
    args = {"no root": ["--ca-cert", str(inter), "--ca-key", str(inter_key)],
            "wrong key": ["--ca-cert", str(inter), "--ca-key", str(make_key(tmp_path)),
                          "--root-cert", str(root)],
            "key only": ["--ca-key", str(inter_key)]}[case]
    p = subprocess.run([str(M.control_binary()), "--data-dir", str(tmp_path / "d"),
                        "--admin", f"127.0.0.1:{M.free_port()}", "--listen",
                        f"127.0.0.1:{M.free_port()}", "--api", f"127.0.0.1:{M.free_port()}",
                        *args], capture_output=True, text=True, timeout=30)
    assert p.returncode == 1, p
    assert message in p.stdout + p.stderr, p


def test_identity_metrics_pass_promtool(control, tmp_path, csr):
    issue(control, tmp_path, control.token(), csr)
    control.post_csr(None, csr_body(csr))
    text = control.metrics()
    assert metric(text, "identity_certs_issued_total") == 1
    assert metric(text, 'identity_csr_rejected_total{reason="missing_token"}') == 1
    p = subprocess.run(["promtool", "check", "metrics"], input=text.encode(),
                       capture_output=True, timeout=30)
    assert p.returncode == 0, (p.stdout + p.stderr).decode()


def test_trust_bundle_is_public_and_carries_its_version(control, tmp_path):
    p = subprocess.run(["curl", "-sS", "-k", "-D", "-", "--http2",
                        f"https://127.0.0.1:{control.listen}/v1/trust-bundle"],
                       capture_output=True, text=True, timeout=30)
    assert p.returncode == 0, p
    assert "x-weft-bundle-version: 1" in p.stdout.lower(), p.stdout
    assert p.stdout.count("-----BEGIN CERTIFICATE-----") == 1
    assert "x-weft-renew" not in p.stdout.lower()
