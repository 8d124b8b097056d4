"""weft-control as a process: its data directory, its admin port (/live, /ready, /metrics read
by promtool), the SIGTERM drain, and the refusals of bad flags. The CA, its ports and weftctl:
test_ca.py."""

import os
import stat
import subprocess

import pytest

import mesh as M
from control_plane import Control, fetch


@pytest.fixture
def control(tmp_path):
    c = Control(tmp_path, "--trust-domain", "example.org")
    c.wait_ready()
    yield c
    assert c.stop() == 0, f"weft-control did not exit 0 on SIGTERM: {c.log_path.read_text()}"


def test_admin_port_answers_and_metrics_pass_promtool(control):
    assert fetch(control.admin, "/live") == (200, "live\n")
    assert fetch(control.admin, "/ready") == (200, "ready\n")
    status, text = fetch(control.admin, "/metrics")
    assert status == 200
    assert 'weft_control_info{trust_domain="example.org"} 1' in text, text
    p = subprocess.run(["promtool", "check", "metrics"], input=text.encode(),
                       capture_output=True, timeout=30)
    assert p.returncode == 0, (p.stdout + p.stderr).decode()
    status, text = fetch(control.admin, "/nope")
    assert status == 404 and "no admin endpoint /nope" in text, text


def test_data_dir_is_created_private(control):
    mode = stat.S_IMODE(os.stat(control.data_dir).st_mode)
    assert mode == 0o700, oct(mode)


def test_sigterm_exits_0_and_closes_the_admin_port(control):
    assert control.stop() == 0
    assert not M.port_open(control.admin), "admin port still open after exit"
    assert "drained" in control.log_path.read_text()


@pytest.mark.parametrize("args,rc,message", [
    ([], 2, "--data-dir: required"),
    (["--data-dir", "/tmp/x", "--bogus", "1"], 2, "--bogus: unknown flag (see --help)"),
    (["--data-dir", "/tmp/x", "--drain-seconds", "soon"], 2,
     "--drain-seconds: want whole seconds, got 'soon'"),
    (["--data-dir", "/tmp/x", "--admin", "nohost"], 2, "--admin: "),
])
def test_bad_flags_exit_2_naming_the_flag(args, rc, message):
    p = subprocess.run([str(M.control_binary()), *args], capture_output=True, text=True,
                       timeout=10)
    assert p.returncode == rc, p
    assert message in p.stderr, p.stderr


def test_data_dir_that_is_a_file_is_refused(tmp_path):
    f = tmp_path / "not-a-dir"
    f.write_text("x")
    p = subprocess.run([str(M.control_binary()), "--data-dir", str(f), "--admin",
                        f"127.0.0.1:{M.free_port()}"], capture_output=True, text=True, timeout=10)
    assert p.returncode == 1, p
    assert f"--data-dir {f}: not a directory" in p.stdout + p.stderr


def test_admin_port_in_use_is_refused_naming_it(control, tmp_path):
    other = tmp_path / "other"
    p = subprocess.run([str(M.control_binary()), "--data-dir", str(other), "--admin",
                        f"127.0.0.1:{control.admin}"], capture_output=True, text=True,
                       timeout=10)
    assert p.returncode == 1, p
    assert f"cannot listen on admin address 127.0.0.1:{control.admin}" in p.stdout + p.stderr
