"""Kubernetes identity (issue #18): weft-control started with --k8s-jwks accepts a projected
ServiceAccount token in place of a join token, checked offline against the cluster's keys.
The tokens here are shaped like the API server's (RS256 and ES256, kid, aud ["weft.dev"], the
kubernetes.io claims), signed by keys this test makes with python3-cryptography, published in a
JWKS file as /openid/v1/jwks serves them. A real weft-proxy gets its certificate from such a
token; every bad token is refused with its reason."""

import base64
import json
import time
import uuid

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

import mesh as M
from control_plane import Control, csr_body, make_csr, make_key, metric

ISSUER = "https://kubernetes.default.svc.cluster.local"


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def uint(n: int) -> str:
    return b64(n.to_bytes((n.bit_length() + 7) // 8, "big"))


class ClusterKeys:
    """The API server's service-account signing keys: one RSA, one EC P-256."""

    def __init__(self):
        self.rsa = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.ec = ec.generate_private_key(ec.SECP256R1())
        self.rsa_kid, self.ec_kid = "rsa-" + uuid.uuid4().hex[:8], "ec-" + uuid.uuid4().hex[:8]

    def jwks(self) -> dict:
        rn = self.rsa.public_key().public_numbers()
        en = self.ec.public_key().public_numbers()
        return {"keys": [
            {"use": "sig", "kty": "RSA", "kid": self.rsa_kid, "alg": "RS256",
             "n": uint(rn.n), "e": uint(rn.e)},
            {"use": "sig", "kty": "EC", "kid": self.ec_kid, "alg": "ES256", "crv": "P-256",
             "x": b64(en.x.to_bytes(32, "big")), "y": b64(en.y.to_bytes(32, "big"))}]}

    def token(self, alg="RS256", ns="default", sa="web", aud=("weft.dev",), iss=ISSUER,
              exp_in=3600, kid=None, header_alg=None, claims_patch=None) -> str:
        now = int(time.time())
        header = {"alg": header_alg or alg,
                  "kid": kid or (self.rsa_kid if alg == "RS256" else self.ec_kid)}
        claims = {"aud": list(aud), "exp": now + exp_in, "iat": now - 10, "iss": iss,
                  "kubernetes.io": {"namespace": ns,
                                    "pod": {"name": f"{sa}-7d9f8", "uid": str(uuid.uuid4())},
                                    "serviceaccount": {"name": sa, "uid": str(uuid.uuid4())}},
                  "nbf": now - 10, "sub": f"system:serviceaccount:{ns}:{sa}"}
        claims.update(claims_patch or {})
        signing_input = (b64(json.dumps(header).encode()) + "." +
                         b64(json.dumps(claims).encode())).encode()
        if alg == "RS256":
            sig = self.rsa.sign(signing_input, padding.PKCS1v15(), hashes.SHA256())
        else:
            r, s = decode_dss_signature(self.ec.sign(signing_input, ec.ECDSA(hashes.SHA256())))
            sig = r.to_bytes(32, "big") + s.to_bytes(32, "big")
        return signing_input.decode() + "." + b64(sig)


@pytest.fixture(scope="module")
def keys():
    return ClusterKeys()


@pytest.fixture
def control(tmp_path, keys):
    jwks = tmp_path / "jwks.json"
    jwks.write_text(json.dumps(keys.jwks()))
    c = Control(tmp_path, "--k8s-jwks", str(jwks)).wait_ready()
    yield c
    assert c.stop() == 0


def csr(tmp_path) -> bytes:
    return csr_body(make_csr(tmp_path, make_key(tmp_path)))


@pytest.mark.parametrize("alg", ["RS256", "ES256"])
def test_a_service_account_token_gets_the_workload_its_certificate(control, keys, tmp_path,
                                                                    alg):
    status, answer = control.post_csr(keys.token(alg, ns="shop", sa="cart"), csr(tmp_path))
    assert status == 200, answer
    assert answer["identity"] == "spiffe://cluster.local/ns/shop/sa/cart", answer
    # Join tokens still work beside them.
    status, answer = control.post_csr(control.token("default", "web"), csr(tmp_path))
    assert status == 200 and answer["identity"] == M.spiffe("web"), answer


@pytest.mark.parametrize("case,reason,message", [
    (dict(aud=("https://kubernetes.default.svc",)), "wrong_audience",
     "token is not for audience 'weft.dev'"),
    (dict(iss="https://evil.example"), "wrong_issuer", "token issued by 'https://evil.example'"),
    (dict(exp_in=-5), "token_expired", "token expired at"),
    (dict(kid="rotated-away"), "token_signature", "signed by key 'rotated-away' (RS256)"),
    (dict(header_alg="HS256"), "token_signature", "token signed with alg 'HS256'"),
    (dict(header_alg="none"), "token_signature", "token signed with alg 'none'"),
    (dict(claims_patch={"sub": "system:serviceaccount:kube-system:admin"}), "malformed_token",
     "does not match its claims"),
])
def test_bad_tokens_are_refused_with_their_reason(control, keys, tmp_path, case, reason,
                                                  message):
    before = metric(control.metrics(), f'identity_csr_rejected_total{{reason="{reason}"}}')
    status, answer = control.post_csr(keys.token(**case), csr(tmp_path))
    assert status == 401, answer
    assert answer["error"]["reason"] == reason, answer
    assert message in answer["error"]["message"], answer
    assert metric(control.metrics(), f'identity_csr_rejected_total{{reason="{reason}"}}') == \
        before + 1


def test_an_altered_token_is_refused(control, keys, tmp_path):
    for alg in ("RS256", "ES256"):
        header, claims, sig = keys.token(alg, sa="web").split(".")
        forged = json.loads(base64.urlsafe_b64decode(claims + "=="))
        forged["kubernetes.io"]["serviceaccount"]["name"] = "admin"
        forged["sub"] = "system:serviceaccount:default:admin"
        token = f"{header}.{b64(json.dumps(forged).encode())}.{sig}"
        status, answer = control.post_csr(token, csr(tmp_path))
        assert status == 401 and answer["error"]["reason"] == "token_signature", answer


def test_a_proxy_starts_from_its_projected_token(control, keys, tmp_path, proxies):
    token = tmp_path / "token"  # where the projected volume puts it
    token.write_text(keys.token("ES256", sa="web"))
    app = M.EchoApp().start()
    try:
        proxy = proxies.new("web", service="web", app_port=app.port, identity_args=[
            "--control", f"https://127.0.0.1:{control.listen}", "--token-file", str(token),
            "--trust-bundle", str(control.bundle_path(tmp_path))])
        proxy.start(ready_timeout=20)
        assert f"identity={M.spiffe('web')}" in proxy.log()
    finally:
        app.stop()


def test_a_bad_key_set_stops_weft_control_naming_the_file(tmp_path):
    jwks = tmp_path / "jwks.json"
    jwks.write_text(json.dumps({"keys": [{"kty": "RSA", "kid": "small", "n": uint(2**1023 + 1),
                                          "e": uint(65537)}]}))
    c = Control(tmp_path, "--k8s-jwks", str(jwks))
    assert c.proc.wait(timeout=15) != 0
    log = c.log_path.read_text()
    assert f"{jwks}: keys[0] (kid 'small'): RSA key of 1024 bits; 2048 at least" in log, log
