"""SIGTERM: stop accepting, drain in-flight requests, exit 0."""

import signal
import socket
import subprocess
import time

import pytest

import mesh as M

DRAIN = 10  # --drain-seconds for these tests
SLOW_SIZE = 1 << 20  # ~3 s at the app's /slow/ rate


@pytest.fixture(scope="module")
def slow_file(app):
    return "/slow/one-mb.bin", M.write_random(app.www / "slow" / "one-mb.bin", SLOW_SIZE)


def refused(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return False
    except ConnectionRefusedError:
        return True
    except OSError:
        return False


@pytest.mark.parametrize("targets", ["client", "both"])
def test_sigterm_drains_inflight_download(proxies, app, slow_file, tmp_path, targets):
    path, sha = slow_file
    pair = proxies.sidecar_pair(app_port=app.port, service="backend",
                                extra_args=["--drain-seconds", str(DRAIN)])
    out = tmp_path / "download.bin"
    curl = subprocess.Popen(["curl", "-sS", "--max-time", "30", "-o", str(out), "-w", "%{http_code}",
                             "-H", "Host: backend", pair.url(path)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=M.CURL_ENV)
    try:
        started = M.wait_until(lambda: out.exists() and out.stat().st_size > 64 * 1024, 5)
        assert started, "download did not start"
        assert curl.poll() is None, "download finished too early for a drain test"

        victims = [pair.client] if targets == "client" else [pair.client, pair.server]
        t_signal = time.monotonic()
        for v in victims:
            v.signal(signal.SIGTERM)

        # new connections are refused soon after the signal
        for v in victims:
            assert M.wait_until(lambda: refused(v.outbound), 2.0), \
                f"{v.name}: outbound port still accepts connections after SIGTERM"
        assert curl.poll() is None, "in-flight download ended right after SIGTERM"
        # Draining: not ready for new traffic (Kubernetes takes the pod out of its Service),
        # still live.
        for v in victims:
            assert M.http_get(v.admin_url("/ready"))[0] == 503, f"{v.name}: /ready while draining"
            assert M.http_get(v.admin_url("/live"))[0] == 200, f"{v.name}: /live while draining"
        assert curl.poll() is None, "the download must still be in flight for the checks above"

        stdout, stderr = curl.communicate(timeout=30)
    finally:
        if curl.poll() is None:
            curl.kill()
            curl.wait(5)
    assert curl.returncode == 0, stderr.decode()
    assert stdout.decode().strip() == "200"
    assert out.stat().st_size == SLOW_SIZE
    assert M.sha256_file(out) == sha

    for v in victims:
        left = DRAIN + 3 - (time.monotonic() - t_signal)
        rc = v.wait(max(left, 0.1))
        assert rc is not None, f"{v.name} still running {DRAIN + 3}s after SIGTERM"
        assert rc == 0, f"{v.name} exited with {rc}"


def test_sigterm_idle_exits_promptly(proxies, app):
    pair = proxies.sidecar_pair(app_port=app.port, service="backend",
                                extra_args=["--drain-seconds", str(DRAIN)])
    assert pair.get("/hello").status == 200
    t0 = time.monotonic()
    pair.client.signal(signal.SIGTERM)
    rc = pair.client.wait(DRAIN + 3)
    assert rc == 0, f"exit code {rc}"
    # nothing in flight: should not sit out the whole grace period
    assert time.monotonic() - t0 < DRAIN, "idle proxy waited for the full drain period"


def test_drain_deadline_bounds_shutdown(proxies, app, slow_file, tmp_path):
    """A download longer than --drain-seconds does not keep the proxy alive."""
    path, _ = slow_file
    pair = proxies.sidecar_pair(app_port=app.port, service="backend",
                                extra_args=["--drain-seconds", "1"])
    out = tmp_path / "download.bin"
    curl = subprocess.Popen(["curl", "-sS", "--max-time", "30", "-o", str(out),
                             "-H", "Host: backend", pair.url(path)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=M.CURL_ENV)
    try:
        assert M.wait_until(lambda: out.exists() and out.stat().st_size > 64 * 1024, 5), \
            "download did not start"
        assert curl.poll() is None, "download finished too early for a drain test"
        pair.client.signal(signal.SIGTERM)
        rc = pair.client.wait(6)
        assert rc is not None, "proxy outlived --drain-seconds 1 by more than 5 s"
        assert rc == 0, f"exit code {rc}"
        # The download was cut at the deadline, not finished.
        assert curl.wait(10) != 0 and out.stat().st_size < SLOW_SIZE, out.stat().st_size
    finally:
        if curl.poll() is None:
            curl.kill()
            curl.wait(5)
