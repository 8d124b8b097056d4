"""A thousand proxies reconnecting at once after weft-control is killed and restarted (issue #17,
"Bad input and faults"): 1,000 control streams from bench's weft_fleet_sim (the proxy's own
ControlStream code, one process) beside a real web -> reviews mesh under load. weft-control is
killed with SIGKILL and restarted on the same data and port: every stream comes back (backoff
with jitter), registers again, the next change reaches all of them, and the real traffic sees
not one failure throughout."""

import os
import signal
import sys
import time
from pathlib import Path

import mesh as M
from control_plane import Control, csr_body, make_csr, make_key, metric
from test_push import TTL, Fleet, Load

sys.path.insert(0, str(M.REPO / "bench" / "fleet"))
from fleet_sim import FleetSim  # noqa: E402

# A thousand, as the issue asks. Under ASan every TLS handshake costs weft-control tens of
# milliseconds, so a thousand queue past the proxies' handshake timeout and back off for 40 s:
# that build checks the same path with 200.
STREAMS = 200 if M.proxy_sanitized() else 1000


def sim_binary() -> Path:
    return Path(os.environ.get("WEFT_FLEET_SIM")
                or M.control_binary().parent.parent / "bench" / "weft_fleet_sim")


def start_sim(control: Control, tmp_path: Path, streams: int) -> FleetSim:
    key = make_key(tmp_path, name="fleet-key.pem")
    status, answer = control.post_csr(control.token("default", "fleet"),
                                      csr_body(make_csr(tmp_path, key, name="fleet.csr")))
    assert status == 200, answer
    cert = tmp_path / "fleet.pem"
    cert.write_text(answer["certificate"] + answer["chain"])
    return FleetSim(sim_binary(), control.listen, cert, key, control.bundle_path(tmp_path),
                    streams, tmp_path / "fleet-sim.log")


def test_a_thousand_proxies_reconnecting_after_a_restart_disturb_no_traffic(tmp_path, proxies):
    fleet = Fleet(tmp_path, proxies).start()
    sim = start_sim(fleet.control, tmp_path, STREAMS)
    try:
        assert sim.ask("ready", 120)["have"] == STREAMS
        with Load(fleet.web, limit=200000, seconds=150) as load:
            M.wait_until(lambda: len(load.answers) >= 20, 10)
            fleet.control.stop(signal.SIGKILL)
            # Down for 10 s, over three times the registration ttl: the proxies' backoff has grown
            # to 8 s (±50%), so many come back seconds after the restart. The registrations it
            # restores must not lapse meanwhile (reviews would have no endpoints).
            time.sleep(10)
            fleet.control = Control(fleet.tmp, "--trust-domain", M.TRUST_DOMAIN,
                                    "--registration-ttl", f"{TTL}s",
                                    data_dir=fleet.control.data_dir,
                                    listen=fleet.control.listen, name="control-2").wait_ready()

            def connected():
                return metric(fleet.control.metrics(), "control_connected_proxies")
            assert M.wait_until(lambda: connected() == STREAMS + 3, 90, 0.2), connected()
            # The next change reaches every stream, and the real proxies take it too.
            p = fleet.control.weftctl("split", "reviews", "v1=0", "v2=100")
            assert p.returncode == 0, p
            version = fleet.proxies_json()["version"]
            got = sim.ask("collect", version, 0, 60)
            assert got["have"] == STREAMS, got["have"]
            # The web proxy takes the split too (asked afresh: the load may have hit its bound).
            assert M.wait_until(lambda: fleet.versions(1) == {"v1": 0, "v2": 1}, 20), \
                fleet.proxies_json()
        assert load.failures == [], load.failures[:5]
        assert fleet.versions(20) == {"v1": 0, "v2": 20}
    finally:
        sim.stop()
        fleet.control.stop()
