"""weft-control's mutating admission webhook (issue #18): a real AdmissionReview v1 (the shape
the API server sends for a ReplicaSet's pod) over TLS; the JSON patch it answers with is applied
by kubectl offline (`kubectl patch --local`), and the result is a valid Pod (python3-kubernetes)
with the mesh added; pods that did not ask, or opted out, get no patch and are still allowed;
malformed reviews get 400 with the reason."""

import base64
import copy
import json
import shutil
import subprocess
from pathlib import Path

import pytest

import mesh as M
from control_plane import Control
from k8s import validate, webhook_certificate

DATA = Path(__file__).parent / "data"
REVIEW = json.loads((DATA / "admission-review-pod.json").read_text())


@pytest.fixture(scope="module")
def webhook(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("webhook")
    cert, key = webhook_certificate(tmp, "DNS:weft-control.weft-system.svc,IP:127.0.0.1")
    port = M.free_port()
    c = Control(tmp, "--webhook", f"127.0.0.1:{port}", "--webhook-cert", str(cert),
                "--webhook-key", str(key), "--inject-image", "registry.example/weft-proxy:1.0")
    c.wait_ready()
    c.webhook_port, c.webhook_ca = port, cert
    yield c
    assert c.stop() == 0


def post(webhook, path: str, body: bytes) -> tuple[int, dict]:
    p = subprocess.run(["curl", "-sS", "--cacert", str(webhook.webhook_ca), "--http2",
                        "-H", "content-type: application/json", "--data-binary", "@-",
                        "-o", "-", "-w", "\n%{http_code}",
                        f"https://127.0.0.1:{webhook.webhook_port}{path}"],
                       input=body, capture_output=True, timeout=30)
    assert p.returncode == 0, p.stderr
    text, _, code = p.stdout.decode().rpartition("\n")
    return int(code), json.loads(text)


def review(**patch) -> bytes:
    doc = copy.deepcopy(REVIEW)
    annotations = patch.pop("annotations", None)
    if annotations is not None:
        doc["request"]["object"]["metadata"]["annotations"] = annotations
    doc["request"].update(patch)
    return json.dumps(doc).encode()


def apply_patch(tmp_path, pod: dict, patch: list) -> dict:
    if shutil.which("kubectl") is None:
        pytest.fail("kubectl is not installed: apt-get install kubectl (or kubernetes-client)")
    f = tmp_path / "pod.json"
    f.write_text(json.dumps(pod))
    p = subprocess.run(["kubectl", "patch", "--local", "-f", str(f), "--type=json", "-p",
                        json.dumps(patch), "-o", "json"], capture_output=True, text=True,
                       timeout=60)
    assert p.returncode == 0, p.stderr
    return json.loads(p.stdout)


def test_a_pod_in_an_enabled_namespace_gets_a_patch_kubectl_applies(webhook, tmp_path):
    status, answer = post(webhook, "/inject/namespace-enabled", review())
    assert status == 200, answer
    assert answer["apiVersion"] == "admission.k8s.io/v1" and answer["kind"] == "AdmissionReview"
    response = answer["response"]
    assert response["uid"] == REVIEW["request"]["uid"] and response["allowed"] is True
    assert response["patchType"] == "JSONPatch"
    patch = json.loads(base64.b64decode(response["patch"]))
    assert {op["path"] for op in patch} == {"/metadata/annotations", "/spec/initContainers",
                                            "/spec/volumes"}, patch
    pod = apply_patch(tmp_path, REVIEW["request"]["object"], patch)
    validate(pod)
    names = [c["name"] for c in pod["spec"]["initContainers"]]
    assert names == ["weft-init", "weft-proxy"], names
    proxy = pod["spec"]["initContainers"][1]
    assert proxy["image"] == "registry.example/weft-proxy:1.0"
    assert proxy["restartPolicy"] == "Always"
    args = proxy["args"]
    assert args[args.index("--service") + 1] == "cart"
    assert args[args.index("--app") + 1] == "127.0.0.1:9080"
    assert "version=v2" in args[args.index("--labels") + 1]
    # What the pod had stays: its containers, its API-access volume, beside the new ones.
    assert [c["name"] for c in pod["spec"]["containers"]] == ["cart"]
    assert [v["name"] for v in pod["spec"]["volumes"]] == [
        "kube-api-access-x7k2p", "weft-token", "weft-trust", "weft-cache"]
    assert pod["metadata"]["annotations"]["weft.dev/injected"] == "native-sidecar"


def test_pods_that_did_not_ask_or_opted_out_are_allowed_unpatched(webhook):
    for path, annotations in (("/inject/annotated", None),
                              ("/inject/annotated", {"weft.dev/inject": "disabled"}),
                              ("/inject/namespace-enabled", {"weft.dev/inject": "disabled"})):
        status, answer = post(webhook, path, review(annotations=annotations))
        assert status == 200, answer
        assert answer["response"] == {"uid": REVIEW["request"]["uid"], "allowed": True}, answer
    # Annotated, in a namespace that is not enabled: injected.
    status, answer = post(webhook, "/inject/annotated",
                          review(annotations={"weft.dev/inject": "enabled"}))
    assert status == 200 and answer["response"]["patchType"] == "JSONPatch", answer


def test_a_pod_that_cannot_be_injected_is_allowed_with_a_warning(webhook):
    doc = copy.deepcopy(REVIEW)
    doc["request"]["object"]["spec"]["hostNetwork"] = True
    status, answer = post(webhook, "/inject/namespace-enabled", json.dumps(doc).encode())
    assert status == 200, answer
    assert answer["response"]["allowed"] is True and "patch" not in answer["response"]
    assert answer["response"]["warnings"] == [
        "weft: not injected: on the host network: its iptables are the node's"], answer


def test_malformed_reviews_get_400_with_the_reason(webhook):
    status, answer = post(webhook, "/inject/namespace-enabled", b'{"kind": "Pod"}')
    assert status == 400 and answer["error"]["reason"] == "malformed_review", answer
    assert "not an AdmissionReview" in answer["error"]["message"]
    doc = copy.deepcopy(REVIEW)
    del doc["request"]["uid"]
    status, answer = post(webhook, "/inject/annotated", json.dumps(doc).encode())
    assert status == 400 and "request.uid" in answer["error"]["message"], answer
    status, answer = post(webhook, "/inject/annotated", b"not json")
    assert status == 400 and answer["error"]["reason"] == "malformed_body", answer
    # Not a pod (a Deployment sent by a misconfigured webhook rule): allowed, untouched.
    status, answer = post(webhook, "/inject/namespace-enabled",
                          review(kind={"group": "apps", "version": "v1", "kind": "Deployment"}))
    assert status == 200 and "patch" not in answer["response"], answer
