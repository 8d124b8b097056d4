"""`weftctl inject` (issue #18): real manifests in, the mesh added to every workload out — the
init container with `weft-proxy init`, the proxy as a native sidecar with a startup probe on
/ready (or first and with a postStart wait, --legacy-sidecar), its token, trust bundle, cache and
scrape annotations — with unrelated documents byte for byte as they were, opt-outs honoured, a
second run changing nothing; and every object still a valid Kubernetes object (the Kubernetes
Python client's models, Debian's python3-kubernetes). `weft-proxy await-ready` is what the
legacy form waits with."""

import subprocess
from pathlib import Path

import yaml

import mesh as M
from control_plane import weftctl_binary
from k8s import validate

DATA = Path(__file__).parent / "data"


def inject(*args: str, input: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([str(weftctl_binary()), "inject", *args], capture_output=True,
                          text=True, timeout=30, input=input)


def documents(text: str) -> list[dict]:
    return [d for d in yaml.safe_load_all(text) if d is not None]


def pod_spec(obj: dict) -> dict:
    if obj["kind"] == "CronJob":
        return obj["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    return obj["spec"]["template"]["spec"] if obj["kind"] != "Pod" else obj["spec"]


def test_inject_adds_the_mesh_to_workloads_and_nothing_else():
    source = (DATA / "inject-input.yaml").read_text()
    p = inject("-f", str(DATA / "inject-input.yaml"))
    assert p.returncode == 0, p.stderr
    assert p.stderr.splitlines() == [
        "deployment/web injected", "job/migrate injected", "cronjob/report injected",
        "deployment/legacy-app skipped: annotated weft.dev/inject: disabled",
        "pod/node-agent skipped: on the host network: its iptables are the node's"], p.stderr
    out_docs = p.stdout.split("---\n")
    in_docs = source.split("---\n")
    assert len(out_docs) == len(in_docs) == 7
    for i in (0, 2, 5, 6):  # Service, ConfigMap, the opted-out Deployment, the host Pod
        assert out_docs[i] == in_docs[i], i
    objs = documents(p.stdout)
    for obj in objs:
        validate(obj)
    web = objs[1]
    spec = pod_spec(web)
    init, proxy = spec["initContainers"][0], spec["initContainers"][1]
    assert init["name"] == "weft-init" and init["args"][0] == "init"
    assert set(init["securityContext"]["capabilities"]["add"]) == {"NET_ADMIN", "NET_RAW"}
    assert proxy["name"] == "weft-proxy" and proxy["restartPolicy"] == "Always"
    assert proxy["startupProbe"]["httpGet"] == {"path": "/ready", "port": 15020}
    args = proxy["args"]
    assert args[args.index("--service") + 1] == "web"
    assert args[args.index("--app") + 1] == "127.0.0.1:8080"
    assert args[args.index("--labels") + 1] == "app=web,version=v1"
    assert proxy["securityContext"]["runAsUser"] == 1337
    assert [c["name"] for c in spec["containers"]] == ["web"]  # the app is untouched
    token = next(v for v in spec["volumes"] if v["name"] == "weft-token")
    assert token["projected"]["sources"][0]["serviceAccountToken"]["audience"] == "weft.dev"
    cache = next(v for v in spec["volumes"] if v["name"] == "weft-cache")
    assert cache["emptyDir"]["medium"] == "Memory"
    ann = web["spec"]["template"]["metadata"]["annotations"]
    assert ann["prometheus.io/scrape"] == "true" and ann["prometheus.io/port"] == "15020"
    env = {e["name"]: e["valueFrom"]["fieldRef"]["fieldPath"] for e in proxy["env"]}
    assert env == {"POD_NAME": "metadata.name", "POD_NAMESPACE": "metadata.namespace",
                   "POD_SERVICE_ACCOUNT": "spec.serviceAccountName"}
    assert pod_spec(objs[3])["initContainers"][1]["name"] == "weft-proxy"  # the Job
    assert pod_spec(objs[4])["initContainers"][1]["name"] == "weft-proxy"  # the CronJob
    # A second run: everything is injected or opted out already; nothing changes.
    again = inject("-f", "-", input=p.stdout)
    assert again.returncode == 0 and again.stdout == p.stdout, again.stderr
    assert "deployment/web skipped: already injected" in again.stderr


def test_legacy_sidecar_puts_the_proxy_first_and_waits_for_it():
    p = inject("-f", str(DATA / "inject-input.yaml"), "--legacy-sidecar", "--image",
               "registry.example/weft-proxy:dev")
    assert p.returncode == 0, p.stderr
    web = documents(p.stdout)[1]
    validate(web)
    spec = pod_spec(web)
    proxy = spec["containers"][0]
    assert proxy["name"] == "weft-proxy" and "restartPolicy" not in proxy
    assert proxy["image"] == "registry.example/weft-proxy:dev"
    assert proxy["lifecycle"]["postStart"]["exec"]["command"][1] == "await-ready"
    assert [c["name"] for c in spec["initContainers"]] == ["weft-init"]


def test_bad_input_is_refused_with_the_reason(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("kind: Deployment\nmetadata: {name: x\n")
    p = inject("-f", str(bad))
    assert p.returncode == 2 and f"{bad}: document 1: not YAML" in p.stderr, p.stderr
    p = inject("-f", str(tmp_path / "missing.yaml"))
    assert p.returncode != 0 and "missing.yaml" in p.stderr
    p = inject("-f", str(DATA / "inject-input.yaml"), "--proxy-uid", "0")
    assert p.returncode == 2 and "--proxy-uid: want a UID other than 0" in p.stderr


def test_await_ready_waits_for_a_ready_proxy(mesh):
    ok = subprocess.run([str(M.proxy_binary()), "await-ready", "--admin",
                         f"127.0.0.1:{mesh.client.admin}", "--timeout", "10s"],
                        capture_output=True, text=True, timeout=30)
    assert ok.returncode == 0, ok.stderr
    port = M.free_port()
    late = subprocess.run([str(M.proxy_binary()), "await-ready", "--admin", f"127.0.0.1:{port}",
                           "--timeout", "1s"], capture_output=True, text=True, timeout=30)
    assert late.returncode == 1, late
    assert f"127.0.0.1:{port}/ready not ready after 1s: Connection refused" in late.stderr


ANNOTATED = """apiVersion: apps/v1
kind: Deployment
metadata: {name: db-client}
spec:
  selector: {matchLabels: {app: db-client}}
  template:
    metadata:
      labels: {app: db-client}
      annotations:
        weft.dev/opaque-ports: "5432,6379"
        weft.dev/permissive-ports: "9090"
        weft.dev/skip-outbound-ports: "53"
        weft.dev/skip-subnets: "169.254.169.254/32"
    spec:
      containers: [{name: app, image: app:1, ports: [{containerPort: 9090}]}]
"""


def test_interception_annotations_reach_the_proxy_and_its_init_container(tmp_path):
    p = inject("-f", "-", input=ANNOTATED)
    assert p.returncode == 0, p.stderr
    obj = documents(p.stdout)[0]
    validate(obj)
    init, proxy = pod_spec(obj)["initContainers"][:2]
    assert proxy["args"][-4:] == ["--opaque-ports", "5432,6379", "--permissive-ports", "9090"]
    assert init["args"][-4:] == ["--skip-outbound-ports", "53", "--skip-subnets",
                                 "169.254.169.254/32"]
    # The flags as injected are ones the binary takes: its init prints the rules they make.
    dry = subprocess.run([str(M.proxy_binary()), *init["args"], "--dry-run", "--ipv6", "off"],
                         capture_output=True, text=True, timeout=30)
    assert dry.returncode == 0, dry.stderr
    assert "-A WEFT_OUTPUT -p tcp --dport 53 -j RETURN" in dry.stdout, dry.stdout
    assert "-A WEFT_OUTPUT -d 169.254.169.254/32 -j RETURN" in dry.stdout, dry.stdout
    # A malformed annotation: the pod is left alone, and the reason names the annotation.
    bad = ANNOTATED.replace('"5432,6379"', '"5432,mysql"')
    p = inject("-f", "-", input=bad)
    assert p.returncode == 0, p.stderr
    assert documents(p.stdout)[0] == yaml.safe_load(bad)
    assert ("deployment/db-client skipped: annotation weft.dev/opaque-ports: want ports 1-65535, "
            "comma-separated, got '5432,mysql'") in p.stderr, p.stderr
