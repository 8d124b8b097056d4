"""Fixtures for the Weft integration tests.

Run:  /usr/bin/python3 -m pytest -q tests/integration
Env:  WEFT_PROXY=/path/to/weft-proxy  (default <repo>/build/proxy/weft-proxy)
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import fleet as F  # noqa: E402
import mesh as M  # noqa: E402


# ---------------------------------------------------------------- reporting

@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """On failure, attach the logs of every process still running."""
    outcome = yield
    rep = outcome.get_result()
    if rep.failed and rep.when in ("setup", "call"):
        for p in list(M.LIVE_PROXIES):
            rep.sections.append((f"weft-proxy {p.name} [{p.state()}] log {p.log_path}",
                                 M.tail(p.log_path, 60)))
        for a in list(M.LIVE_APPS):
            rep.sections.append((f"{type(a).__name__} app log ({a.error_log})",
                                 M.tail(a.error_log, 20)))


# ---------------------------------------------------------------- basics

# What the tests drive, with the Debian package that has it (scripts/install-deps.sh installs
# them all). A missing one fails every test with the hint; none is ever skipped for it.
TOOLS = {"curl": "curl", "openssl": "openssl", "nginx": "nginx", "h2load": "nghttp2-client",
         "nghttp": "nghttp2-client", "nghttpd": "nghttp2-server", "promtool": "prometheus"}
MODULES = {"grpc": "python3-grpcio", "h2": "python3-h2", "websockets": "python3-websockets",
           "cryptography": "python3-cryptography"}


@pytest.fixture(scope="session", autouse=True)
def tools() -> None:
    import importlib.util
    import shutil

    path = os.environ.get("PATH", "") + ":/usr/sbin:/sbin"
    missing = [pkg for tool, pkg in TOOLS.items() if shutil.which(tool, path=path) is None]
    missing += [pkg for mod, pkg in MODULES.items() if importlib.util.find_spec(mod) is None]
    if missing:
        pytest.fail(f"missing test tools: run scripts/install-deps.sh, or apt-get install "
                    f"{' '.join(sorted(set(missing)))} (Python modules for /usr/bin/python3)",
                    pytrace=False)


@pytest.fixture(scope="session")
def proxy_bin() -> Path:
    b = M.proxy_binary()
    if not (b.is_file() and os.access(b, os.X_OK)):
        pytest.fail(f"weft-proxy binary not found at {b} "
                    "(build it with `cmake --build build`, or set WEFT_PROXY)", pytrace=False)
    return b


@pytest.fixture(scope="session")
def certs(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("certs")
    subprocess.run(["bash", str(M.MAKE_CERTS), str(d)], check=True, timeout=60)
    return d


@pytest.fixture(scope="module")
def module_dir(request, tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp(request.module.__name__.rsplit(".", 1)[-1])


@pytest.fixture(scope="module")
def payloads(module_dir):
    """Random payload files, one per M.BODY_SIZES entry: name -> (path, sha256)."""
    out = {}
    for name, size in M.BODY_SIZES.items():
        p = module_dir / "payload" / name
        out[name] = (p, M.write_random(p, size))
    return out


@pytest.fixture(scope="module")
def app(module_dir):
    """nginx application (see mesh.NGINX_CONF for its locations)."""
    n = M.Nginx(module_dir / "nginx").start()
    yield n
    n.stop()


@pytest.fixture(scope="module")
def version_apps(module_dir):
    """nginx apps answering every request with "v1\\n" and "v2\\n" (fleet.VersionApp)."""
    apps = {v: F.VersionApp(module_dir / f"app-{v}", v).start() for v in ("v1", "v2")}
    yield apps
    for a in apps.values():
        a.stop()


@pytest.fixture
def make_app(tmp_path):
    """Factory for this test's own version apps: make_app("v2", status=503)."""
    started: list[F.VersionApp] = []

    def make(version: str, status: int = 200) -> F.VersionApp:
        a = F.VersionApp(tmp_path / f"app-{version}-{len(started)}", version, status)
        started.append(a)
        return a.start()

    yield make
    for a in started:
        a.stop()


@pytest.fixture(scope="module")
def echo_app():
    e = M.EchoApp().start()
    yield e
    e.stop()


class ProxyPool:
    """Starts weft-proxy processes. At teardown each still running gets SIGTERM and must exit 0
    within its drain bound, and no log may hold a sanitizer report: otherwise the test (or
    module) that owned the pool fails with what went wrong."""

    def __init__(self, workdir: Path, certs: Path):
        self.workdir, self.certs = workdir, certs
        self.procs: list[M.Proxy] = []
        self.counter = 0

    def new(self, name: str, **kw) -> M.Proxy:
        """Create (not start) a proxy; kw as for mesh.Proxy."""
        self.counter += 1
        p = M.Proxy(self.workdir, f"{name}-{self.counter}", certs=self.certs, **kw)
        self.procs.append(p)
        return p

    def start(self, name: str, **kw) -> M.Proxy:
        return self.new(name, **kw).start()

    def sidecar_pair(self, *, app_port: int, service: str = "backend",
                     server_cert: str | None = None, server_sa: str | None = None,
                     server_trust: str = "ca", identity: str | None = None,
                     client_workers: int = 1, server_workers: int = 1,
                     extra_args=()) -> M.Mesh:
        """server sidecar for `service` in front of app_port, and a `web` client
        sidecar whose mesh.yaml lists the server's inbound port."""
        server = self.new(service, service=service, cert=server_cert, app_port=app_port,
                          service_account=server_sa, trust_bundle=server_trust,
                          workers=server_workers, extra_args=extra_args)
        server.config_path.write_text(M.service_yaml(
            service, [(f"127.0.0.1:{server.inbound}", M.spiffe(service))]))
        server.start()
        client = self.new("web", service="web", app_port=app_port, workers=client_workers,
                          extra_args=extra_args,
                          config=M.service_yaml(service, [(f"127.0.0.1:{server.inbound}",
                                                           identity or M.spiffe(service))]))
        client.start()
        return M.Mesh(app_port=app_port, server=server, client=client, service=service)

    def close(self) -> None:
        for p in self.procs:
            p.stop()
        problems = [problem for p in self.procs if (problem := p.finish())]
        if problems:
            pytest.fail("\n\n".join(problems), pytrace=False)


@pytest.fixture(scope="module")
def module_proxies(proxy_bin, certs, module_dir):
    pool = ProxyPool(module_dir, certs)
    yield pool
    pool.close()


@pytest.fixture
def proxies(proxy_bin, certs, tmp_path):
    """Function-scoped pool for tests that need their own proxies."""
    pool = ProxyPool(tmp_path, certs)
    yield pool
    pool.close()


@pytest.fixture(scope="module")
def mesh(module_proxies, app) -> M.Mesh:
    """web sidecar (2 workers) -> backend sidecar -> nginx app."""
    return module_proxies.sidecar_pair(app_port=app.port, service="backend", client_workers=2)


@pytest.fixture(scope="module")
def echo_mesh(module_proxies, echo_app) -> M.Mesh:
    """web sidecar -> reviews sidecar (2 workers) -> Python echo app."""
    return module_proxies.sidecar_pair(app_port=echo_app.port, service="reviews",
                                       server_workers=2)


# ---------------------------------------------------------------- HTTP/2 and gRPC (issue #4)

@pytest.fixture(scope="module")
def h2_mesh(module_proxies, app) -> M.Mesh:
    """web sidecar -> backend sidecar -> nginx app (HTTP/1.1 only: --app-protocol http1
    once the flag exists)."""
    return module_proxies.sidecar_pair(app_port=app.port, service="backend",
                                       extra_args=M.app_protocol_args("http1"))


@pytest.fixture(scope="module")
def h2_echo_mesh(module_proxies, echo_app) -> M.Mesh:
    """web sidecar -> reviews sidecar -> Python echo app (HTTP/1.1 only)."""
    return module_proxies.sidecar_pair(app_port=echo_app.port, service="reviews",
                                       extra_args=M.app_protocol_args("http1"))


@pytest.fixture(scope="module")
def grpc_app(module_dir):
    """grpc_apps.py (helloworld.Greeter, version v1) in its own process."""
    import grpc_apps
    a = grpc_apps.GrpcApp(module_dir / "grpc-app-v1", "v1").start()
    yield a
    a.stop()


@pytest.fixture(scope="module")
def grpc_mesh(module_proxies, grpc_app) -> M.Mesh:
    """web sidecar -> backend sidecar -> gRPC app.  The backend sidecar runs with the
    default --app-protocol (auto: h2c to the app for requests that came as HTTP/2)."""
    return module_proxies.sidecar_pair(app_port=grpc_app.port, service="backend")


@pytest.fixture(scope="module")
def greeter(grpc_mesh):
    """A GreeterClient on one channel to the web sidecar's outbound port (h2c,
    :authority backend)."""
    import grpc_apps
    ch = grpc_apps.channel(grpc_mesh.client.outbound, "backend")
    yield grpc_apps.GreeterClient(ch)
    ch.close()
