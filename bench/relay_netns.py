#!/usr/bin/python3
"""Intercepted traffic, measured (issue #18): pods in network namespaces on a bridge, as
tests/integration/test_transparent_mesh.py builds them, and `curl` downloading a file from
nginx. One run, best of three downloads per path, reported as throughput ratios against the
same download with no sidecar in the way (curl run as the proxy's UID, which the rules exempt):

  outside-mesh relay   A's sidecar relays to C (no sidecar), bytes as sent
  opaque mTLS          A's sidecar -> mTLS (ALPN weft-opaque/1) -> B's sidecar -> nginx :6379
  HTTP over mTLS       A's sidecar -> HTTP/2 over mTLS -> B's sidecar -> nginx :8080

  sudo bench/relay_netns.py [--size-mib 256]

Needs root and network namespaces; loopback-free (namespaces it creates only), bounded in
count (3 downloads a path) and time (60 s each)."""

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "integration"))
import mesh as M  # noqa: E402
import test_transparent_mesh as T  # noqa: E402

NGINX = """daemon off; master_process off; worker_processes 1;
pid {d}/nginx.pid; error_log {d}/error.log warn;
events {{ worker_connections 64; }}
http {{ access_log off; sendfile on; client_body_temp_path {d}/tmp;
  server {{ listen 0.0.0.0:8080; listen 0.0.0.0:6379; root {d}/www; }} }}
"""


def nginx(pods: T.Pods, pod: str, size: int) -> None:
    d = pods.workdir / f"{pod}-nginx"
    (d / "www").mkdir(parents=True)
    (d / "tmp").mkdir()
    with open(d / "www" / "blob", "wb") as f:
        f.truncate(size)  # sparse: the page cache serves it, the disk is not measured
    (d / "nginx.conf").write_text(NGINX.format(d=d))
    pods.start(pod, "nginx", ["nginx", "-c", d / "nginx.conf", "-p", d], uid=None)


def download(pods: T.Pods, uid: int, url: str) -> float:
    """Bytes per second of the best of three downloads."""
    best = 0.0
    for _ in range(3):
        p = subprocess.run(T.in_ns(pods.names["a"], "env", "-i", "curl", "-sS", "-o", "/dev/null",
                                   "--max-time", "60", "-w", "%{speed_download} %{http_code}",
                                   url, uid=uid), capture_output=True, text=True, timeout=90)
        speed, code = p.stdout.split() if p.returncode == 0 else ("0", p.stderr.strip())
        if code != "200":
            raise SystemExit(f"{url} as uid {uid}: {code}")
        best = max(best, float(speed))
    return best


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--size-mib", type=int, default=256)
    args = ap.parse_args()
    size = args.size_mib << 20
    certs = Path(tempfile.mkdtemp(prefix="weft-relay-certs-"))
    subprocess.run(["bash", str(M.MAKE_CERTS), str(certs)], check=True, timeout=60)
    workdir = Path(tempfile.mkdtemp(prefix="weft-relay-"))
    workdir.chmod(0o755)
    pods = T.Pods(workdir)
    a, b, c = "10.89.0.1", "10.89.0.2", "10.89.0.3"
    mesh = T.MESH.replace(T.B, b)
    try:
        pods.setup({"a": a, "b": b, "c": c})
        for pod in ("b", "c"):
            nginx(pods, pod, size)
        T.sidecar(pods, "a", certs, "web", mesh=mesh)
        T.sidecar(pods, "b", certs, "backend", mesh=mesh)
        paths = {
            "outside-mesh relay": (f"http://{c}:6379/blob", f"http://{c}:6379/blob"),
            "opaque mTLS": (f"http://{b}:6379/blob", f"http://{b}:6379/blob"),
            "HTTP over mTLS": (f"http://{b}:8080/blob", f"http://{b}:8080/blob"),
        }
        rows = {}
        for name, (direct_url, meshed_url) in paths.items():
            # The proxy's UID is exempt from interception: the same download with no sidecar
            # on A's side (B's rules still redirect what reaches B, so the baseline for B's
            # ports goes to C's identical nginx instead).
            baseline_url = direct_url.replace(b, c)
            direct = download(pods, T.PROXY_UID, baseline_url)
            meshed = download(pods, T.APP_UID, meshed_url)
            rows[name] = {"direct_MiB_s": round(direct / 2**20), "meshed_MiB_s": round(meshed / 2**20),
                          "ratio": round(meshed / direct, 3)}
        print(json.dumps({"size_mib": args.size_mib, "paths": rows}, indent=2))
    finally:
        problems = pods.teardown()
        if problems:
            print("problems:", problems, file=sys.stderr)


if __name__ == "__main__":
    main()
