"""A config file with no resources (empty, comments only, a bare `---`) or a directory is
refused (issue 14 §4): at start the proxy exits naming why; on SIGHUP the previous config
keeps serving, a log line names why and config_reload_total{result="rejected"} counts it.
Before, such a file was accepted as zero Services and every request became a 404."""

import shutil
import signal

import pytest

import fleet as F
import mesh as M

# (case id, file content or None for a directory, what the log line must say)
NO_RESOURCES = [
    ("empty", "", "no resources"),
    ("comments-only", "# services go here\n\n# (none yet)\n", "no resources"),
    ("bare-marker", "---\n", "no resources"),
    ("directory", None, "is a directory"),
]
IDS = [c[0] for c in NO_RESOURCES]


def make_bad(path, content) -> None:
    """Put the bad config at path: a file with content, or a directory when content is None."""
    if path.is_dir():
        shutil.rmtree(path)
    elif path.exists():
        path.unlink()
    if content is None:
        path.mkdir()
        (path / "mesh.yaml").write_text("# a file inside does not make the directory a config\n")
    else:
        path.write_text(content)


def reloads(proxy, result: str) -> float:
    return F.metric(proxy, "config_reload_total", result=result)


@pytest.mark.parametrize("case,content,reason", NO_RESOURCES, ids=IDS)
def test_start_refuses_config_without_resources(proxies, app, case, content, reason):
    p = proxies.new("web", service="web", app_port=app.port, config="placeholder")
    make_bad(p.config_path, content)
    p.extra_args += ["--config", str(p.config_path)]  # mesh.Proxy leaves an empty file out
    with pytest.raises(M.ProxyStartError) as started:
        p.start(ready_timeout=5)
    assert "exited with 1" in str(started.value), f"the proxy did not refuse to start: {started.value}"
    log = p.log()
    assert f"cannot start: {p.config_path}: {reason}" in log, \
        f"no log line naming {p.config_path} and '{reason}':\n{M.tail(p.log_path, 10)}"


@pytest.mark.parametrize("case,content,reason", NO_RESOURCES, ids=IDS)
def test_sighup_refuses_config_without_resources(proxies, app, case, content, reason):
    mesh = proxies.sidecar_pair(app_port=app.port, service="backend")
    client = mesh.client
    good = client.config_path.read_text()
    assert mesh.get("/hello").status == 200
    version = F.config_version(client)
    rejected = reloads(client, "rejected")

    offset = F.log_size(client)
    make_bad(client.config_path, content)
    client.signal(signal.SIGHUP)
    assert M.wait_until(lambda: reloads(client, "rejected") == rejected + 1, 5, 0.02), \
        f"config_reload_total{{result=\"rejected\"}} did not count the reload: " \
        f"{reloads(client, 'rejected')} (was {rejected})\n{M.tail(client.log_path, 10)}"
    logged = F.wait_log_line(client, offset, "config reload rejected", timeout=5)
    assert logged is not None and f"{client.config_path}: {reason}" in logged, \
        f"the rejection does not name {client.config_path} and '{reason}': {logged}"

    client.assert_alive()
    assert F.config_version(client) == version, "a config without resources was applied"
    results = [mesh.get("/hello") for _ in range(5)]
    assert all(r.status == 200 for r in results), \
        f"the previous config must keep serving: {[r.status for r in results]}"

    # A good file is taken again on the next SIGHUP.
    make_bad(client.config_path, good)
    applied = reloads(client, "applied")
    client.signal(signal.SIGHUP)
    assert M.wait_until(lambda: reloads(client, "applied") == applied + 1, 5, 0.02)
    assert F.config_version(client) > version
