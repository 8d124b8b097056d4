"""The operators' mesh resources in weft-control, driven with weftctl and curl: apply (YAML from
a file or stdin, JSON over the API), get as tables, YAML and JSON, delete, diff, split. Invalid
input is refused with the field and reason and changes nothing; a stale resourceVersion gets
409; an acknowledged apply survives kill -9; a store that cannot write says why."""

import json
import signal
import subprocess

import pytest

from control_plane import REVIEWS_POLICY as MESH, Control, metric



@pytest.fixture
def control(tmp_path):
    c = Control(tmp_path).wait_ready()
    yield c
    c.stop()


def applied(control, tmp_path, text: str, name: str = "mesh.yaml", *flags: str):
    path = tmp_path / name
    path.write_text(text)
    return control.weftctl("apply", "-f", str(path), *flags)


def curl_api(control, method: str, path: str, body: bytes | None = None,
             content_type: str = "application/json") -> tuple[int, dict]:
    token = (control.data_dir / "admin.token").read_text().strip()
    args = ["curl", "-sS", "-o", "-", "-w", "\n%{http_code}", "-X", method,
            "-H", f"Authorization: Bearer {token}", "-H", f"Content-Type: {content_type}",
            f"http://127.0.0.1:{control.api}{path}"]
    if body is not None:
        args += ["--data-binary", "@-"]
    p = subprocess.run(args, input=body, capture_output=True, timeout=60)
    out, _, code = p.stdout.decode().rpartition("\n")
    return int(code), json.loads(out) if out.strip() else {}


def route_weights(control) -> list[int]:
    p = control.weftctl("get", "route", "reviews", "-o", "json")
    assert p.returncode == 0, p
    rule = json.loads(p.stdout)["spec"]["rules"][0]
    return [b["weight"] for b in rule["backendRefs"]]


def test_apply_get_and_apply_again(control, tmp_path):
    p = applied(control, tmp_path, MESH)
    assert p.returncode == 0, p
    assert p.stdout == ("Service default/reviews created\n"
                        "HTTPRoute default/reviews created\n")
    p = applied(control, tmp_path, MESH)
    assert p.stdout.count("unchanged") == 2, p

    p = control.weftctl("get", "svc")
    assert p.returncode == 0, p
    header, row = p.stdout.splitlines()
    assert header.split() == ["NAMESPACE", "NAME", "PORT", "SUBSETS", "ENDPOINTS", "VERSION"]
    assert row.split() == ["default", "reviews", "9080", "v1,v2", "0", "1"]
    p = control.weftctl("get", "routes")
    assert "reviews/v1=90 reviews/v2=10" in p.stdout, p

    # -o yaml reads back through apply as the same objects: nothing changes.
    p = control.weftctl("get", "all", "-o", "yaml")
    assert p.returncode == 0 and p.stdout.count("kind:") == 2, p
    assert "resourceVersion: \"1\"" in p.stdout, p
    p = subprocess.run(
        [*control.weftctl_command(), "apply", "-f", "-"], input=p.stdout, capture_output=True,
        text=True, timeout=30)
    assert p.returncode == 0 and p.stdout.count("unchanged") == 2, p

    changed = MESH.replace("weight: 90", "weight: 50")
    p = applied(control, tmp_path, changed)
    assert p.stdout.splitlines() == ["Service default/reviews unchanged",
                                     "HTTPRoute default/reviews configured"], p
    assert route_weights(control) == [50, 10]
    p = control.weftctl("get", "route", "reviews", "-o", "json")
    assert json.loads(p.stdout)["metadata"]["resourceVersion"] == "2"
    assert metric(control.metrics(), 'control_apply_total{result="ok"}') == 4


@pytest.mark.parametrize("text,where,reason", [
    (MESH.replace("port: 9080", "port: 9080\n  prot: 1"), "mesh.yaml:6",
     "spec.prot: unknown field"),
    (MESH.replace("subset: v2, weight", "subset: v3, weight"), "mesh.yaml:18",
     "spec.rules[0].backendRefs[1].subset: Service default/reviews has no subset 'v3'"),
    (MESH.replace("weight: 90", "weight: 0").replace("weight: 10", "weight: 0"), "mesh.yaml:",
     "weights add up to 0"),
    (MESH.replace("parentRefs: [{name: reviews}]", "parentRefs: [{name: ratings}]"),
     "mesh.yaml:14", "spec.parentRefs[0].name: unknown Service default/ratings"),
])
def test_an_invalid_apply_names_the_field_and_changes_nothing(control, tmp_path, text, where,
                                                              reason):
    assert applied(control, tmp_path, MESH).returncode == 0
    p = applied(control, tmp_path, text)
    assert p.returncode == 1, p
    assert "refused (400 invalid_resource)" in p.stderr, p
    assert where in p.stderr and reason in p.stderr, p.stderr
    assert route_weights(control) == [90, 10]
    p = control.weftctl("get", "all", "-o", "json")
    assert {o["metadata"]["resourceVersion"] for o in json.loads(p.stdout)["items"]} == {"1"}
    assert metric(control.metrics(), 'control_apply_total{result="invalid_resource"}') == 1


def test_json_over_the_api_gets_the_same_checks(control, tmp_path):
    assert applied(control, tmp_path, MESH).returncode == 0
    route = {"apiVersion": "weft.dev/v1alpha1", "kind": "HTTPRoute",
             "metadata": {"name": "canary"},
             "spec": {"parentRefs": [{"name": "reviews"}],
                      "rules": [{"backendRefs": [{"name": "reviews", "subset": "v3"}]}]}}
    status, body = curl_api(control, "POST", "/v1/apply", json.dumps(route).encode())
    assert status == 400, body
    assert body["error"]["reason"] == "invalid_resource"
    assert body["error"]["message"] == (
        "request body: spec.rules[0].backendRefs[0].subset: Service default/reviews has no "
        "subset 'v3' (subsets: v1, v2)")
    route["spec"]["rules"][0]["backendRefs"][0]["subset"] = "v2"
    status, body = curl_api(control, "POST", "/v1/apply",
                            json.dumps({"kind": "List", "items": [route]}).encode())
    assert status == 200 and body["results"][0]["action"] == "created", body
    status, body = curl_api(control, "GET", "/v1/resources/HTTPRoute/default/canary")
    assert status == 200 and body["metadata"]["resourceVersion"] == "2", body
    status, body = curl_api(control, "GET", "/v1/resources/Gateway")
    assert status == 404 and body["error"]["reason"] == "unknown_kind", body
    # A field of the wrong type is named, not an internal error.
    status, body = curl_api(control, "POST", "/v1/authz/check", json.dumps(
        {"from": "spiffe://cluster.local/ns/default/sa/web", "to": "reviews", "path": 5}).encode())
    assert (status, body["error"]["reason"]) == (400, "invalid_field"), body
    assert body["error"]["message"] == "path: must be a string", body
    status, body = curl_api(control, "POST", "/v1/tokens", json.dumps(
        {"namespace": "default", "serviceAccount": "web", "ttl": 5}).encode())
    assert (status, body["error"]["message"]) == (400, "ttl: must be a string"), body


def test_a_stale_resource_version_is_refused_with_409(control, tmp_path):
    assert applied(control, tmp_path, MESH).returncode == 0
    p = control.weftctl("get", "route", "reviews", "-o", "yaml")
    mine = p.stdout  # resourceVersion "1"
    assert control.weftctl("split", "reviews", "v1=0", "v2=100").returncode == 0
    p = applied(control, tmp_path, mine.replace("weight: 90", "weight: 80"), "mine.yaml")
    assert p.returncode == 1, p
    assert "refused (409 conflict)" in p.stderr, p
    assert "HTTPRoute default/reviews: resourceVersion 1 is stale (now 2)" in p.stderr, p
    assert route_weights(control) == [0, 100]


def test_a_50_mb_apply_is_refused_and_the_api_keeps_serving(control, tmp_path):
    big = b"# " + b"x" * (50 << 20)
    status, body = curl_api(control, "POST", "/v1/apply", big, "application/yaml")
    assert status == 413, body
    assert body["error"]["reason"] == "body_too_large"
    assert applied(control, tmp_path, MESH).returncode == 0


def test_delete_refuses_what_is_still_referred_to(control, tmp_path):
    assert applied(control, tmp_path, MESH).returncode == 0
    p = control.weftctl("delete", "svc", "reviews")
    assert p.returncode == 1, p
    assert "409 in_use" in p.stderr, p
    assert ("HTTPRoute default/reviews: spec.parentRefs[0].name: unknown Service default/reviews"
            in p.stderr), p
    p = control.weftctl("delete", "svc", "nope")
    assert p.returncode == 1 and "404 not_found" in p.stderr, p
    p = control.weftctl("delete", "route", "reviews")
    assert p.returncode == 0 and p.stdout == "HTTPRoute default/reviews deleted\n", p
    p = control.weftctl("delete", "-f", str(tmp_path / "mesh.yaml"))
    assert p.returncode == 1 and "HTTPRoute default/reviews does not exist" in p.stderr, p
    p = control.weftctl("get", "all")
    assert p.returncode == 0 and p.stdout == "" and "no resources found" in p.stderr, p


def test_diff_shows_what_apply_would_change(control, tmp_path):
    assert applied(control, tmp_path, MESH).returncode == 0
    (tmp_path / "same.yaml").write_text(MESH)
    p = control.weftctl("diff", "-f", str(tmp_path / "same.yaml"))
    assert p.returncode == 0 and p.stdout == "", p
    (tmp_path / "next.yaml").write_text(MESH.replace("weight: 90", "weight: 70"))
    p = control.weftctl("diff", "-f", str(tmp_path / "next.yaml"))
    assert p.returncode == 5, p
    changed = [line.replace(" ", "") for line in p.stdout.splitlines()
               if line[:1] in "+-" and not line.startswith(("---", "+++"))]
    assert changed == ["-weight:90", "+weight:70"], p.stdout
    assert route_weights(control) == [90, 10]  # a diff changes nothing


def test_split_moves_the_weights_and_checks_the_subsets(control, tmp_path):
    assert applied(control, tmp_path, MESH).returncode == 0
    p = control.weftctl("split", "reviews", "v1=0", "v2=100")
    assert p.returncode == 0, p
    assert p.stdout == "HTTPRoute default/reviews: v1=0 v2=100 (configured, resourceVersion 2)\n"
    assert route_weights(control) == [0, 100]
    p = control.weftctl("split", "reviews", "v1=100")
    assert p.returncode == 2 and "also sends to v2" in p.stderr, p
    p = control.weftctl("split", "reviews", "v1=50", "v3=50")
    assert p.returncode == 2 and "no backendRef of the route has subset or Service 'v3'" in p.stderr
    p = control.weftctl("split", "reviews", "v1=0", "v2=0")
    assert p.returncode == 1 and "weights add up to 0" in p.stderr, p
    p = control.weftctl("split", "ratings", "v1=1")
    assert p.returncode == 1 and "404" in p.stderr, p
    assert route_weights(control) == [0, 100]


def test_an_acknowledged_apply_survives_kill_9(tmp_path):
    c = Control(tmp_path).wait_ready()
    assert applied(c, tmp_path, MESH).returncode == 0
    assert c.weftctl("split", "reviews", "v1=10", "v2=90").returncode == 0
    c.stop(signal.SIGKILL)
    c = Control(tmp_path, data_dir=c.data_dir, name="second").wait_ready()
    try:
        assert route_weights(c) == [10, 90]
        p = c.weftctl("get", "route", "reviews", "-o", "json")
        assert json.loads(p.stdout)["metadata"]["resourceVersion"] == "2"
    finally:
        c.stop()


def test_a_store_that_cannot_write_refuses_with_the_reason_and_keeps_what_it_had(tmp_path):
    # A file-size limit (ulimit -f) the store's log reaches part-way through a large apply.
    c = Control(tmp_path, wrap=["prlimit", "--fsize=262144"]).wait_ready()
    try:
        assert applied(c, tmp_path, MESH).returncode == 0
        services = "".join(
            f"---\napiVersion: weft.dev/v1alpha1\nkind: Service\nmetadata: {{name: s{i}}}\n"
            f"spec: {{port: 80}}\n" for i in range(3000))
        p = applied(c, tmp_path, services, "many.yaml")
        assert p.returncode == 1, p
        assert "refused (503 store_write_failed)" in p.stderr, p
        assert "nothing was changed: cannot write" in p.stderr, p
        p = c.weftctl("get", "svc", "-o", "json")
        assert [o["metadata"]["name"] for o in json.loads(p.stdout)["items"]] == ["reviews"]
        assert c.weftctl("split", "reviews", "v1=1", "v2=1").returncode == 0
    finally:
        c.stop()
