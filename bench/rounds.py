"""The summary of a multi-round bench/run.sh (--rounds N): every setup ran once per round,
in alternating order, so slow drifts of a shared machine hit each setup alike. Weft's ratios
to nginx and HAProxy are taken within each round (the processes ran minutes apart, not
tens of minutes) and summarised by their median. Standard library only."""

import os
import statistics

# (label, key, better): "lower" for latencies, "higher" for throughput
METRICS = [("p99@2000", "p99_2000", "lower"), ("max req/s", "max_rps", "higher")]
PAIRS = [("weft", "nginx"), ("weft", "haproxy"), ("weft-split", "weft"), ("h2c-weft", "h2c-nginx")]


def round_dirs(results):
    """The round1, round2, ... directories of RESULTS, in order (empty: a one-round run)."""
    found = []
    k = 1
    while os.path.isdir(os.path.join(results, f"round{k}")):
        found.append(os.path.join(results, f"round{k}"))
        k += 1
    return found


def ratio(a, b):
    if a is None or b is None or b == 0:
        return None
    return a / b


def summary(rounds_rows, split_target):
    """rounds_rows: one {setup: row} per round (rows as report.load_setup builds them).
    Returns markdown lines: per-round ratios, their medians, and whether the median meets
    'weft at least as good as the other' (weft-split: p99@2000 at most split_target x weft's)."""
    fmt = lambda v: "–" if v is None else f"{v:.2f}×"  # noqa: E731
    n = len(rounds_rows)
    lines = [f"## Summary over {n} rounds", "",
             "| ratio | " + " | ".join(f"round {k + 1}" for k in range(n)) + " | median | verdict |",
             "|---|" + "---:|" * (n + 2)]
    for a, b in PAIRS:
        if not all(a in rows and b in rows for rows in rounds_rows):
            continue
        for label, key, better in METRICS:
            values = [ratio(rows[a].get(key), rows[b].get(key)) for rows in rounds_rows]
            present = [v for v in values if v is not None]
            median = statistics.median(present) if present else None
            verdict = "–"
            if median is not None:
                good = median <= 1.0 if better == "lower" else median >= 1.0
                if (a, b) == ("weft-split", "weft"):
                    good = median <= split_target if better == "lower" else True
                verdict = "met" if good else "NOT met"
            lines.append(f"| {a}/{b} {label} | " + " | ".join(fmt(v) for v in values)
                         + f" | {fmt(median)} | {verdict} |")
    lines.append("")
    lines.append("Verdicts compare the median ratio with the issues' targets: weft's p99@2000 at most "
                 "the other pair's and its max req/s at least the other pair's (weft-split: p99@2000 "
                 f"at most {split_target:.2f}× weft's).")
    return lines
