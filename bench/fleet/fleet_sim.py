"""Driving weft_fleet_sim (fleet_sim.cc) from Python: the bench (bench/push_fleet.py) and the
reconnect test (tests/integration/test_push_reconnect.py) both start it this way."""

import json
import subprocess
from pathlib import Path


class FleetSim:
    """N simulated proxies in one weft_fleet_sim process; ask() sends one command (see
    fleet_sim.cc) and returns its JSON answer."""

    def __init__(self, binary: Path, listen: int, cert: Path, key: Path, bundle: Path,
                 streams: int, log: Path, threads: int = 2):
        self.log = open(log, "wb")
        self.proc = subprocess.Popen(
            [str(binary), "--control", f"127.0.0.1:{listen}", "--cert", str(cert),
             "--key", str(key), "--bundle", str(bundle), "--streams", str(streams),
             "--threads", str(threads)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.log, text=True)

    def ask(self, *words) -> dict:
        self.proc.stdin.write(" ".join(str(w) for w in words) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"weft_fleet_sim ended; see {self.log.name}")
        return json.loads(line)

    def stop(self) -> None:
        try:
            self.proc.stdin.write("quit\n")
            self.proc.stdin.flush()
            self.proc.wait(timeout=30)
        except (OSError, subprocess.TimeoutExpired):
            self.proc.kill()
            self.proc.wait(timeout=10)
        self.log.close()
