#!/usr/bin/python3
"""The report of bench/csr_load.sh: successes, failures, latency, and the metrics check.

Usage: bench/csr_load_report.py --requests N --h2load-out FILE --h2load-log FILE
                                --burst-start-us T --metrics FILE [--warm-up-issued K]

--h2load-log is h2load's --log-file: one line per finished request, tab-separated: start time
(microseconds since the epoch), HTTP status, microseconds until the end of the response.
--burst-start-us is the wall clock just before h2load started; the burst's start is taken as
the end of the last response less h2load's "finished in" (h2load's clock starts when it begins
connecting), or that wall clock when h2load printed no such line. --metrics is weft-control's
/metrics; identity_certs_issued_total must equal the successes plus the K certificates issued
before the burst. Exits 1 when it does not, or when a request failed. Standard library only.
"""

import argparse
import math
import re
import sys


def percentile(sorted_vals, p):
    """Nearest-rank percentile of an ascending list."""
    if not sorted_vals:
        return float("nan")
    k = max(0, math.ceil(p / 100.0 * len(sorted_vals)) - 1)
    return sorted_vals[k]


def read_log(path):
    """[(start_us, status, duration_us)] from an h2load --log-file."""
    rows = []
    with open(path) as f:
        for line in f:
            fields = line.split()
            if len(fields) >= 3:
                rows.append((int(fields[0]), int(fields[1]), int(fields[2])))
    return rows


def h2load_line(text, prefix):
    for line in text.splitlines():
        if line.strip().startswith(prefix):
            return line.strip()
    return f"{prefix} (not in h2load's output)"


def finished_in_us(text):
    """h2load's "finished in 1.23s" (or ms, us) in microseconds, or None."""
    m = re.search(r"^finished in ([0-9.]+)(us|ms|s),", text, re.M)
    if not m:
        return None
    return float(m.group(1)) * {"us": 1, "ms": 1e3, "s": 1e6}[m.group(2)]


def metric(text, name):
    m = re.search(rf"^{re.escape(name)}(?:{{}})? ([0-9.e+]+)$", text, re.M)
    return float(m.group(1)) if m else None


def ms(us):
    return f"{us / 1000:.1f} ms"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--requests", type=int, required=True)
    ap.add_argument("--h2load-out", required=True)
    ap.add_argument("--h2load-log", required=True)
    ap.add_argument("--burst-start-us", type=int, required=True)
    ap.add_argument("--metrics", required=True)
    ap.add_argument("--warm-up-issued", type=int, default=0)
    args = ap.parse_args()

    out = open(args.h2load_out).read()
    try:
        rows = read_log(args.h2load_log)
    except OSError:
        rows = []
    ok = [r for r in rows if r[1] == 200]
    succeeded = len(ok)
    failed = args.requests - succeeded
    statuses = {}
    for r in rows:
        statuses[r[1]] = statuses.get(r[1], 0) + 1

    print("h2load:")
    for prefix in ("finished in", "requests:", "status codes:", "time for request:",
                   "time for connect:", "time to 1st byte:"):
        print("  " + h2load_line(out, prefix))
    print(f"requests: {args.requests}, succeeded (200 with a certificate): {succeeded}, "
          f"failed: {failed}" + (f" (statuses in the log: {statuses})" if failed else ""))

    durations = sorted(r[2] for r in ok)
    if durations:
        mean = sum(durations) / len(durations)
        print(f"time per request (sent on the TLS connection -> certificate received): "
              f"min {ms(durations[0])}, mean {ms(mean)}, p50 {ms(percentile(durations, 50))}, "
              f"p99 {ms(percentile(durations, 99))}, max {ms(durations[-1])}")
        print(f"p99 time to certificate: {ms(percentile(durations, 99))}")
        ends = [r[0] + r[2] for r in rows]
        took = finished_in_us(out)
        start = max(ends) - took if took is not None else args.burst_start_us
        since_burst = sorted(r[0] + r[2] - start for r in ok)
        print(f"time from the burst to the certificate (h2load starts connecting -> received; "
              f"includes TCP and TLS set-up and queueing): p50 {ms(percentile(since_burst, 50))}, "
              f"p99 {ms(percentile(since_burst, 99))}, max {ms(since_burst[-1])}")

    metrics = open(args.metrics).read() if args.metrics else ""
    issued = metric(metrics, "identity_certs_issued_total")
    expected = succeeded + args.warm_up_issued
    rejected = sum(float(v) for v in re.findall(
        r"^identity_csr_rejected_total\{[^}]*\} ([0-9.e+]+)$", metrics, re.M))
    if issued is None:
        print("identity_certs_issued_total: not found in /metrics")
        metrics_ok = False
    else:
        metrics_ok = int(issued) == expected
        print(f"identity_certs_issued_total {int(issued)} = {succeeded} successes + "
              f"{args.warm_up_issued} before the burst: {'yes' if metrics_ok else 'NO'}; "
              f"identity_csr_rejected_total {int(rejected)}")
    return 0 if metrics_ok and failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
