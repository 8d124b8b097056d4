"""deploy/ as Kubernetes would take it (issue #18), with no API server (none can run here):
`kubectl kustomize deploy/` builds, every object is a valid Kubernetes object (the Kubernetes
Python client's models), the pieces agree with each other (ports, names, webhook paths), and the
real weft-control starts with exactly the flags the Deployment gives it — paths and addresses
mapped to this machine — and serves the webhook paths the webhook configuration calls. The
example app builds too, and `weftctl inject` takes it."""

import json
import signal
import subprocess
import urllib.request

import yaml

import mesh as M
from control_plane import Control, weftctl_binary
from test_ca import make_operator_ca
from k8s import validate, webhook_certificate
from test_k8s_identity import ClusterKeys

DEPLOY = M.REPO / "deploy"


def kustomize(path) -> list[dict]:
    p = subprocess.run(["kubectl", "kustomize", str(path)], capture_output=True, text=True,
                       timeout=60)
    assert p.returncode == 0, p.stderr
    return [d for d in yaml.safe_load_all(p.stdout) if d]


# What deploy/ holds for weft-control.
CONTROL_KINDS = ["Namespace", "ServiceAccount", "PersistentVolumeClaim", "Deployment", "Service",
                 "PodDisruptionBudget", "MutatingWebhookConfiguration"]


def by_kind(objs, kind):
    return [o for o in objs if o["kind"] == kind]


def test_the_kustomization_builds_valid_objects_that_agree():
    objs = kustomize(DEPLOY)
    assert sorted(o["kind"] for o in objs) == sorted(CONTROL_KINDS), [o["kind"] for o in objs]
    for obj in objs:
        validate(obj)
        if obj["kind"] not in ("Namespace", "MutatingWebhookConfiguration"):
            assert obj["metadata"]["namespace"] == "weft-system", obj["metadata"]
    deployment = by_kind(objs, "Deployment")[0]
    pod = deployment["spec"]["template"]["spec"]
    container = pod["containers"][0]
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    args = dict(a.split("=", 1) for a in container["args"])
    for flag, name in (("--listen", "proxies"), ("--api", "api"), ("--admin", "admin"),
                       ("--webhook", "webhook")):
        assert args[flag] == f"0.0.0.0:{ports[name]}", (flag, args[flag], ports)
    mounts = {m["name"] for m in container["volumeMounts"]}
    assert mounts == {v["name"] for v in pod["volumes"]}
    service = by_kind(objs, "Service")[0]
    assert {p["targetPort"] for p in service["spec"]["ports"]} <= set(ports)
    hooks = by_kind(objs, "MutatingWebhookConfiguration")[0]["webhooks"]
    for hook in hooks:
        svc = hook["clientConfig"]["service"]
        assert (svc["name"], svc["namespace"]) == (service["metadata"]["name"], "weft-system")
        assert any(p["port"] == svc["port"] and p["targetPort"] == "webhook"
                   for p in service["spec"]["ports"])
        assert hook["failurePolicy"] == "Ignore" and hook["sideEffects"] == "None"
    assert sorted(h["clientConfig"]["service"]["path"] for h in hooks) == [
        "/inject/annotated", "/inject/namespace-enabled"]


def test_weft_control_starts_with_the_deployments_flags(tmp_path):
    objs = kustomize(DEPLOY)
    container = by_kind(objs, "Deployment")[0]["spec"]["template"]["spec"]["containers"][0]
    root, inter, inter_key = make_operator_ca(tmp_path)
    jwks = tmp_path / "jwks.json"
    jwks.write_text(json.dumps(ClusterKeys().jwks()))
    hook_cert, hook_key = webhook_certificate(tmp_path, "IP:127.0.0.1")
    paths = {"/var/lib/weft": tmp_path / "data", "/etc/weft/ca/tls.crt": inter,
             "/etc/weft/ca/tls.key": inter_key, "/etc/weft/ca/ca.crt": root,
             "/etc/weft/jwks/jwks.json": jwks, "/etc/weft/webhook/tls.crt": hook_cert,
             "/etc/weft/webhook/tls.key": hook_key}
    ports = {}
    args = []
    for arg in container["args"]:
        flag, value = arg.split("=", 1)
        if value.startswith("0.0.0.0:"):
            ports[flag] = M.free_port()
            value = f"127.0.0.1:{ports[flag]}"
        elif value.startswith("/"):
            assert value in paths, f"{flag}={value}: a path the test does not provide"
            value = str(paths[value])
        args.append(f"{flag}={value}")
    log = tmp_path / "weft-control.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen([str(M.control_binary()), *args], stdout=out,
                                stderr=subprocess.STDOUT)
    try:
        def ready():
            try:
                return urllib.request.urlopen(
                    f"http://127.0.0.1:{ports['--admin']}/ready", timeout=1).status == 200
            except OSError:
                return False
        assert M.wait_until(ready, 20, 0.2), log.read_text()
        for path in ("/inject/namespace-enabled", "/inject/annotated"):
            p = subprocess.run(["curl", "-sS", "--cacert", str(hook_cert), "-o", "-", "-w",
                                "\n%{http_code}", "--data-binary", "{}", "-H",
                                "content-type: application/json",
                                f"https://127.0.0.1:{ports['--webhook']}{path}"],
                               capture_output=True, text=True, timeout=30)
            body, _, code = p.stdout.rpartition("\n")
            assert code == "400" and "malformed_review" in body, (path, p)
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0, log.read_text()


def test_the_example_app_builds_and_takes_the_injector(tmp_path):
    objs = kustomize(DEPLOY / "examples" / "shop")
    assert {o["kind"] for o in objs} == {"Namespace", "ServiceAccount", "Deployment", "Service"}
    ns = by_kind(objs, "Namespace")[0]
    assert ns["metadata"]["labels"]["weft.dev/inject"] == "enabled"
    manifest = tmp_path / "shop.yaml"
    manifest.write_text(yaml.safe_dump_all(objs))
    p = subprocess.run([str(weftctl_binary()), "inject", "-f", str(manifest)],
                       capture_output=True, text=True, timeout=30)
    assert p.returncode == 0, p.stderr
    injected = [d for d in yaml.safe_load_all(p.stdout) if d and d["kind"] == "Deployment"]
    assert len(injected) == 3 and p.stderr.count(" injected") == 3, p.stderr
    for d in injected:
        validate(d)
    # Intercepted calls to a Kubernetes Service's cluster IP reach the Weft Service of that
    # name: its spec.addresses and port are the cluster IP and port.
    routing = [d for d in yaml.safe_load_all((DEPLOY / "examples" / "shop" / "mesh.yaml")
                                             .read_text()) if d and d["kind"] == "Service"]
    for svc in routing:
        k8s = next(o for o in by_kind(objs, "Service")
                   if o["metadata"]["name"] == svc["metadata"]["name"])
        assert svc["spec"]["addresses"] == [k8s["spec"]["clusterIP"]], svc
        assert svc["spec"]["port"] == k8s["spec"]["ports"][0]["port"], svc
    # Its routing is valid weft policy: weft-control's own check (apply --dry-run).
    control = Control(tmp_path).wait_ready()
    try:
        p = control.weftctl("apply", "--dry-run", "-f",
                            str(DEPLOY / "examples" / "shop" / "mesh.yaml"))
        assert p.returncode == 0, p
    finally:
        control.stop()
