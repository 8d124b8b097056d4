"""Fleets for the routing and resilience tests (issue #3): nginx apps that answer
with their version, one `reviews` sidecar per version in front of its app, and a
`web` client sidecar whose mesh.yaml holds Service (with subsets), HTTPRoute and
DestinationPolicy documents.  Also: mesh.yaml builders, SIGHUP reloads, log and
metric polling, promtool.  Standard library only; every wait is bounded."""

from __future__ import annotations

import os
import signal
import subprocess
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import load
import mesh as M

SERVICE = "reviews"  # the destination Service of every fleet
DST_SERVICE = f"{SERVICE}.{M.NAMESPACE}"  # its dst_service metric label


# --------------------------------------------------------------------------
# an nginx app that answers every request with its version

VERSION_APP_CONF = """\
daemon off;
master_process off;
worker_processes 1;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log info;

events {{ worker_connections 1024; }}

http {{
    log_format brief '$request_method $uri $status';
    access_log {prefix}/access.log brief;
    client_body_temp_path {prefix}/tmp/client_body;
    proxy_temp_path {prefix}/tmp/proxy;
    fastcgi_temp_path {prefix}/tmp/fastcgi;
    uwsgi_temp_path {prefix}/tmp/uwsgi;
    scgi_temp_path {prefix}/tmp/scgi;
    keepalive_requests 1000000;
    keepalive_timeout 60s;
    client_max_body_size 0;

    server {{
        listen 127.0.0.1:{port};
        server_name _;
        location / {{
            default_type text/plain;
            return {status} "{body}\\n";
        }}
    }}
}}
"""


class VersionApp(M.Nginx):
    """Answers every request with `status` and the body "<version>\\n" (200), or
    "<version> says <status>\\n" otherwise.  Its access log records each request."""

    def __init__(self, prefix: Path, version: str, status: int = 200):
        super().__init__(prefix)
        self.version, self.status = version, status

    @property
    def body(self) -> bytes:
        return (self.version if self.status == 200
                else f"{self.version} says {self.status}").encode() + b"\n"

    def config_text(self) -> str:
        return VERSION_APP_CONF.format(prefix=self.prefix, port=self.port, status=self.status,
                                       body=self.body.decode().strip())

    def requests(self, method: str | None = None) -> int:
        """Requests this app has answered (per its access log)."""
        try:
            lines = (self.prefix / "access.log").read_text().splitlines()
        except FileNotFoundError:
            return 0
        return sum(1 for ln in lines if method is None or ln.startswith(method + " "))


# --------------------------------------------------------------------------
# mesh.yaml documents (the shapes of issue #3's example)

HEADER = "apiVersion: weft.dev/v1alpha1\n"


def service_yaml(addrs: dict[str, str], *, name: str = SERVICE, subsets: bool = True,
                 sa: str = SERVICE, port: int = 9080) -> str:
    """A Service with one endpoint per version (labels {version: <v>}) at addrs[v],
    identity sa/<sa>, and (subsets=True) one subset per version."""
    out = [HEADER + "kind: Service",
           f"metadata: {{name: {name}, namespace: {M.NAMESPACE}}}",
           "spec:",
           f"  port: {port}"]
    if subsets:
        out.append("  subsets:")
        out += [f"    - {{name: {v}, labels: {{version: {v}}}}}" for v in addrs]
    out.append("  endpoints:")
    out += [f"    - {{address: {a}, identity: {M.spiffe(sa)}, labels: {{version: {v}}}}}"
            for v, a in addrs.items()]
    return "\n".join(out) + "\n"


def route_yaml(rules: str, *, name: str = SERVICE, parent: str = SERVICE) -> str:
    """An HTTPRoute attached to Service `parent`; `rules` is the YAML list of
    spec.rules (any indentation, it is re-indented)."""
    body = textwrap.indent(textwrap.dedent(rules).strip("\n"), "    ")
    return (HEADER + "kind: HTTPRoute\n"
            f"metadata: {{name: {name}, namespace: {M.NAMESPACE}}}\n"
            "spec:\n"
            f"  parentRefs: [{{name: {parent}}}]\n"
            "  rules:\n" + body + "\n")


def policy_yaml(target: str = SERVICE, *, name: str | None = None, **fields: str) -> str:
    """A DestinationPolicy for Service `target`; each keyword is one spec field written
    as YAML, e.g. loadBalancer="round_robin", connectionPool="{maxConnections: 1}"."""
    lines = [HEADER + "kind: DestinationPolicy",
             f"metadata: {{name: {name or target}, namespace: {M.NAMESPACE}}}",
             "spec:",
             f"  targetRef: {{name: {target}}}"]
    lines += [f"  {k}: {v}" for k, v in fields.items()]
    return "\n".join(lines) + "\n"


def documents(*docs: str) -> str:
    return "---\n".join(docs)


# --------------------------------------------------------------------------
# a fleet: backend sidecars per version and the client sidecar


@dataclass
class Fleet:
    backends: dict[str, M.Proxy]  # version -> its `reviews` sidecar
    client: M.Proxy  # the `web` sidecar the tests send to

    def addrs(self) -> dict[str, str]:
        return {v: f"127.0.0.1:{p.inbound}" for v, p in self.backends.items()}

    def client_for(self, host: str = SERVICE) -> load.Client:
        """A keep-alive connection to the client sidecar's outbound port."""
        return load.Client(self.client.outbound, host)


def start_fleet(pool, app_ports: dict[str, int], config: Callable[[dict[str, str]], str], *,
                client_workers: int = 1, client_args=()) -> Fleet:
    """Start one `reviews` sidecar (labels version=<v>) in front of app_ports[v] for each
    version, then the `web` client sidecar with mesh.yaml = config(addrs), where addrs[v]
    is the inbound address of version v's sidecar.  pool is conftest's ProxyPool."""
    backends = {}
    for v, port in app_ports.items():
        backends[v] = pool.start(f"{SERVICE}-{v}", service=SERVICE, app_port=port,
                                 extra_args=["--labels", f"version={v}"])
    addrs = {v: f"127.0.0.1:{p.inbound}" for v, p in backends.items()}
    client = pool.new("web", service="web", app_port=next(iter(app_ports.values())),
                      workers=client_workers, config=config(addrs), extra_args=client_args)
    client.start()
    return Fleet(backends, client)


# --------------------------------------------------------------------------
# reloads, logs, metrics


def config_version(proxy: M.Proxy) -> float:
    return M.metric_sum(proxy.metrics(), "weft_config_version")


def write_config(proxy: M.Proxy, text: str) -> None:
    """Replace the proxy's --config file in one rename (never half-written)."""
    tmp = proxy.config_path.with_suffix(".tmp")
    tmp.write_text(text)
    os.replace(tmp, proxy.config_path)


def reload(proxy: M.Proxy, text: str, timeout: float = 5.0) -> bool:
    """Write text as the config, SIGHUP, and wait until the proxy reports a newer
    weft_config_version.  True when it did within timeout."""
    before = config_version(proxy)
    write_config(proxy, text)
    proxy.signal(signal.SIGHUP)
    return M.wait_until(lambda: config_version(proxy) > before, timeout, 0.02)


def log_size(proxy: M.Proxy) -> int:
    return proxy.log_path.stat().st_size


def wait_log_line(proxy: M.Proxy, offset: int, needle: str, timeout: float = 5.0) -> str | None:
    """The first log line written after byte offset that contains needle."""
    found: list[str] = []

    def seen() -> bool:
        with open(proxy.log_path, "rb") as f:
            f.seek(offset)
            text = f.read().decode(errors="replace")
        found[:] = [ln for ln in text.splitlines() if needle in ln][:1]
        return bool(found)

    M.wait_until(seen, timeout, 0.05)
    return found[0] if found else None


def metric(proxy: M.Proxy, name: str, **labels: str) -> float:
    return M.metric_sum(proxy.metrics(), name, **labels)


def settled(proxy: M.Proxy, expected: float, name: str, timeout: float = 3.0,
            **labels: str) -> float:
    """Poll (bounded) until the metric sum reaches expected; returns the last value.
    (Counters are updated when a response completes, which may be just after the
    client has read it.)"""
    val = 0.0

    def reached() -> bool:
        nonlocal val
        val = metric(proxy, name, **labels)
        return val >= expected

    M.wait_until(reached, timeout, 0.05)
    return val


KNOWN_LINT = "response_latency_ms metric names should not contain abbreviated units"


def promtool_problems(text: str) -> list[str]:
    """What `promtool check metrics` complains about, beyond the one known lint."""
    p = subprocess.run(["promtool", "check", "metrics"], input=text.encode(),
                       capture_output=True, timeout=30)
    output = (p.stdout + p.stderr).decode()
    if p.returncode not in (0, 3):
        return [f"promtool rc={p.returncode}", *output.splitlines()]
    return [ln for ln in output.splitlines() if ln.strip() and ln.strip() != KNOWN_LINT]
