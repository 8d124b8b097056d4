"""`weft-proxy init` in network namespaces the test creates (issue #18, interception): the rules
it writes, that a second run leaves the same rules (no duplicate jumps, no "chain already
exists"), on the nft and the legacy backend, IPv4 and IPv6; and that they do what they say —
an app's connection to any address is redirected to the proxy's outbound port with its original
destination recoverable (SO_ORIGINAL_DST), while the proxy's own connections (its UID), loopback
and skipped subnets are left alone."""

import os
import shutil
import socket
import struct
import subprocess
import uuid

import pytest

import mesh as M

PROXY_UID = 1337
APP_UID = 1000


def sh(*args, check=True, **kw) -> subprocess.CompletedProcess:
    p = subprocess.run(list(args), capture_output=True, text=True, timeout=60, **kw)
    if check:
        assert p.returncode == 0, (args, p.stdout, p.stderr)
    return p


@pytest.fixture
def netns():
    """A fresh network namespace with lo up and a veth pair, one end holding 10.77.0.2/24 and
    fd77::2/64 (so that 10.77.0.1 and fd77::1 are routable destinations)."""
    if os.geteuid() != 0 or shutil.which("ip") is None:
        pytest.skip("network namespaces need root and iproute2 (ip)")
    name = f"weft-{uuid.uuid4().hex[:8]}"
    p = sh("ip", "netns", "add", name, check=False)
    if p.returncode != 0:
        pytest.skip(f"the kernel refuses network namespaces here: {p.stderr.strip()}")
    try:
        for cmd in (["ip", "link", "set", "lo", "up"],
                    ["ip", "link", "add", "d0", "type", "veth", "peer", "name", "d1"],
                    ["ip", "link", "set", "d1", "up"],
                    ["ip", "addr", "add", "10.77.0.2/24", "dev", "d0"],
                    ["ip", "-6", "addr", "add", "fd77::2/64", "dev", "d0", "nodad"],
                    ["ip", "link", "set", "d0", "up"]):
            sh("ip", "netns", "exec", name, *cmd)
        yield name
    finally:
        sh("ip", "netns", "del", name, check=False)


def init(ns, *args) -> subprocess.CompletedProcess:
    return sh("ip", "netns", "exec", ns, str(M.proxy_binary()), "init",
              "--proxy-uid", str(PROXY_UID), *args, check=False)


def weft_rules(ns, tool) -> list[str]:
    out = sh("ip", "netns", "exec", ns, tool, "-t", "nat").stdout
    return [line for line in out.splitlines() if "WEFT" in line and line.startswith("-A")]


EXPECTED_V4 = [
    "-A PREROUTING -p tcp -j WEFT_INBOUND",
    "-A OUTPUT -p tcp -j WEFT_OUTPUT",
    "-A WEFT_INBOUND -p tcp -m tcp --dport 15006 -j RETURN",
    "-A WEFT_INBOUND -p tcp -m tcp --dport 15020 -j RETURN",
    "-A WEFT_INBOUND -p tcp -m tcp --dport 22 -j RETURN",
    "-A WEFT_INBOUND -p tcp -j REDIRECT --to-ports 15006",
    f"-A WEFT_OUTPUT -m owner --uid-owner {PROXY_UID} -j RETURN",
    "-A WEFT_OUTPUT -o lo -j RETURN",
    "-A WEFT_OUTPUT -d 127.0.0.0/8 -j RETURN",
    "-A WEFT_OUTPUT -d 10.96.0.0/12 -j RETURN",
    "-A WEFT_OUTPUT -p tcp -m tcp --dport 3306 -j RETURN",
    "-A WEFT_OUTPUT -p tcp -j REDIRECT --to-ports 15001",
]
FLAGS = ["--skip-inbound-ports", "22", "--skip-outbound-ports", "3306",
         "--skip-subnets", "10.96.0.0/12,fd00:10::/64"]


@pytest.mark.parametrize("mode", ["nft", "legacy"])
def test_init_writes_its_rules_and_a_second_run_leaves_the_same(netns, mode):
    for run in range(2):
        p = init(netns, "--iptables-mode", mode, "--ipv6", "on", *FLAGS)
        assert p.returncode == 0, (run, p.stdout, p.stderr)
        assert f"IPv4 nat rules in place (iptables-{mode}-restore)" in p.stdout, p.stdout
        assert weft_rules(netns, f"iptables-{mode}-save") == EXPECTED_V4, run
        v6 = weft_rules(netns, f"ip6tables-{mode}-save")
        assert "-A WEFT_OUTPUT -d ::1/128 -j RETURN" in v6, v6
        assert "-A WEFT_OUTPUT -d fd00:10::/64 -j RETURN" in v6, v6
        assert "-A WEFT_OUTPUT -d 10.96.0.0/12 -j RETURN" not in v6, v6
        assert v6.count("-A OUTPUT -p tcp -j WEFT_OUTPUT") == 1, v6


def test_auto_mode_follows_the_backend_that_holds_rules(netns):
    # Rules already on the legacy backend (an older kube-proxy, say): auto writes there too.
    sh("ip", "netns", "exec", netns, "iptables-legacy", "-t", "filter", "-A", "INPUT", "-p",
       "udp", "--dport", "9", "-j", "ACCEPT")
    assert init(netns, "--ipv6", "off").returncode == 0
    assert weft_rules(netns, "iptables-legacy-save") == [
        r for r in EXPECTED_V4 if "22" not in r and "3306" not in r and "10.96" not in r]
    assert weft_rules(netns, "iptables-nft-save") == []


def test_bad_flags_are_refused_with_the_flag_named(netns):
    p = init(netns, "--skip-subnets", "10.0.0.0/33")
    assert p.returncode == 2 and "--skip-subnets: '10.0.0.0/33' has a bad prefix length" in p.stderr
    p = sh("ip", "netns", "exec", netns, str(M.proxy_binary()), "init", check=False)
    assert p.returncode == 2 and "--proxy-uid: required" in p.stderr, p.stderr
    p = init(netns, "--iptables-mode", "ebpf")
    assert p.returncode == 2 and "--iptables-mode: want nft, legacy or auto" in p.stderr


def test_dry_run_prints_the_rules_and_changes_nothing(netns):
    p = init(netns, "--dry-run", "--iptables-mode", "nft", "--ipv6", "off")
    assert p.returncode == 0, p.stderr
    assert p.stdout.startswith("# IPv4: iptables-nft-restore --noflush\n*nat\n"), p.stdout
    assert "-A WEFT_OUTPUT -p tcp -j REDIRECT --to-ports 15001" in p.stdout
    assert weft_rules(netns, "iptables-nft-save") == []


ORIGINAL_DST = 80  # SO_ORIGINAL_DST


LISTENER = r"""
import socket, struct, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", 15001))
s.listen(16)
print("ready", flush=True)
while True:
    c, _ = s.accept()
    raw = c.getsockopt(socket.SOL_IP, 80, 16)
    port, = struct.unpack("!H", raw[2:4])
    c.sendall(f"{socket.inet_ntoa(raw[4:8])}:{port}\n".encode())
    c.close()
"""

CLIENT = r"""
import socket, sys
try:
    with socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=2) as c:
        print("answer", c.recv(100).decode().strip())
except OSError as e:
    print("error", type(e).__name__)
"""


def test_the_rules_redirect_the_app_and_leave_the_proxy_alone(netns, tmp_path):
    assert init(netns, "--iptables-mode", "nft", "--ipv6", "off",
                "--skip-subnets", "10.77.0.128/25").returncode == 0
    listener = subprocess.Popen(["ip", "netns", "exec", netns, "/usr/bin/python3", "-c", LISTENER],
                                stdout=subprocess.PIPE, text=True)
    try:
        assert listener.stdout.readline().strip() == "ready"

        def connect(uid, host, port):
            return sh("ip", "netns", "exec", netns, "setpriv", f"--reuid={uid}",
                      f"--regid={uid}", "--clear-groups", "/usr/bin/python3", "-c", CLIENT,
                      host, str(port)).stdout.strip()
        # The app: any destination reaches the proxy's outbound port, which can tell where the
        # app meant to go.
        assert connect(APP_UID, "10.77.0.1", 80) == "answer 10.77.0.1:80"
        assert connect(APP_UID, "10.77.0.9", 5432) == "answer 10.77.0.9:5432"
        # The proxy itself: not redirected (no loop); nothing listens at 10.77.0.1:80.
        assert connect(PROXY_UID, "10.77.0.1", 80).startswith("error"), "proxy was redirected"
        # A skipped subnet: not redirected either.
        assert connect(APP_UID, "10.77.0.200", 80).startswith("error")
    finally:
        listener.kill()
        listener.wait(timeout=10)
