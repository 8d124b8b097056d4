#!/usr/bin/python3
"""Turn the raw results of bench/run.sh into one markdown table.

Usage: bench/report.py RESULTS_DIR [--out FILE]

After bench/run.sh --rounds N, RESULTS_DIR holds round1 ... roundN, each laid out as below: the
report has one table per round and a summary of the ratios over the rounds (bench/rounds.py).

RESULTS_DIR holds run.env and one directory per setup (direct, weft, weft-split,
nginx, haproxy, h2c-direct, h2c-weft, h2c-nginx) with meta.env, the h2load outputs
(rate200.txt, rate2000.txt, full.txt) and the per-request logs of the fixed-rate runs
(rate200.log, rate2000.log: start time in us since the epoch, HTTP status, duration in
us). The h2c setups have no 200 req/s run and get a table of their own.
Standard library only.
"""

import argparse
import math
import os
import re
import sys

import rounds

SETUPS = ["direct", "weft", "weft-split", "nginx", "haproxy"]
H2C_SETUPS = ["h2c-direct", "h2c-weft", "h2c-nginx"]
SPLIT_TARGET = 1.05  # issue #3: a split route may raise p99@2000 by at most 5%
RATES = [200, 2000]
H2C_RATES = [2000]


def read_env(path):
    env = {}
    try:
        with open(path) as f:
            for line in f:
                line = line.rstrip("\n")
                if "=" in line:
                    k, v = line.split("=", 1)
                    if k == "note":
                        env.setdefault("notes", []).append(v)
                    else:
                        env[k] = v
    except FileNotFoundError:
        pass
    return env


def percentile(sorted_vals, p):
    """Nearest-rank percentile of an ascending list."""
    if not sorted_vals:
        return None
    k = max(0, math.ceil(p / 100.0 * len(sorted_vals)) - 1)
    return sorted_vals[k]


def parse_h2load(path):
    """Totals from h2load's summary; {} when the file is missing."""
    out = {}
    try:
        with open(path) as f:
            text = f.read()
    except FileNotFoundError:
        return out
    m = re.search(r"finished in ([\d.]+)s, ([\d.]+) req/s", text)
    if m:
        out["secs"], out["rps"] = float(m.group(1)), float(m.group(2))
    m = re.search(r"requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, "
                  r"(\d+) failed, (\d+) errored, (\d+) timeout", text)
    if m:
        keys = ["total", "started", "done", "succeeded", "failed", "errored", "timeout"]
        out.update(zip(keys, map(int, m.groups())))
    m = re.search(r"status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx", text)
    if m:
        out.update(zip(["s2xx", "s3xx", "s4xx", "s5xx"], map(int, m.groups())))
    m = re.search(r"h2load exit status (\d+)", text)
    if m:
        out["exit"] = int(m.group(1))
    return out


def parse_latency_log(path):
    """(sorted durations in ms, non-2xx count, achieved req/s) from an h2load --log-file."""
    durs, bad, first, last = [], 0, None, None
    try:
        with open(path) as f:
            for line in f:
                parts = line.split()
                if len(parts) < 3:
                    continue
                start, status, dur = int(parts[0]), int(parts[1]), int(parts[2])
                if not 200 <= status < 300:
                    bad += 1
                    continue
                durs.append(dur / 1000.0)
                first = start if first is None else min(first, start)
                last = start + dur if last is None else max(last, start + dur)
    except FileNotFoundError:
        return None
    durs.sort()
    rate = None
    if first is not None and last > first:
        rate = len(durs) / ((last - first) / 1e6)
    return durs, bad, rate


def fmt_ms(v):
    return "–" if v is None else f"{v:.3f}"


def fmt_ratio(a, b):
    if a is None or b is None or b == 0:
        return "–"
    return f"{a / b:.2f}×"


def per_cpu_busy(row):
    """' (93% / 97%)': how busy each CPU was, when known."""
    cpu = row.get("cpu_busy")
    return " (" + " / ".join(f"{b:.0%}" for b in cpu) + ")" if cpu else ""


def load_setup(results, name, cpus):
    d = os.path.join(results, name)
    meta = read_env(os.path.join(d, "meta.env"))
    tck = int(meta.get("clk_tck") or 100)  # clock ticks per second, for the *_ticks counts
    r = {"name": name, "meta": meta, "notes": list(meta.get("notes", []))}
    if meta.get("status") != "ok":
        return r
    for rate in (H2C_RATES if name in H2C_SETUPS else RATES):
        parsed = parse_latency_log(os.path.join(d, f"rate{rate}.log"))
        summary = parse_h2load(os.path.join(d, f"rate{rate}.txt"))
        if parsed is None:
            r["notes"].append(f"{rate} req/s run produced no log ({summary.get('exit', 'no h2load summary')})")
            continue
        durs, bad, achieved = parsed
        r[f"answered_{rate}"] = len(durs)
        r[f"p50_{rate}"] = percentile(durs, 50)
        r[f"p99_{rate}"] = percentile(durs, 99)
        expected = summary.get("total")
        errs = (summary.get("failed", 0) + summary.get("errored", 0) + summary.get("timeout", 0))
        if bad or errs or (expected and len(durs) < expected):
            r["notes"].append(f"{rate} req/s run: {len(durs)} of {expected} requests answered 2xx, "
                              f"{bad} non-2xx, {errs} failed/errored/timed out")
        if achieved is not None and achieved < 0.95 * rate:
            r["notes"].append(f"{rate} req/s run only achieved {achieved:.0f} req/s")
    full = parse_h2load(os.path.join(d, "full.txt"))
    if "rps" in full:
        ok2xx = full.get("s2xx", full.get("succeeded", 0))
        secs = full.get("secs") or 0
        r["max_rps"] = full["rps"]
        if full.get("succeeded") and ok2xx < full["succeeded"]:
            # count only 2xx answers as served
            r["max_rps"] = full["rps"] * ok2xx / full["succeeded"]
            r["notes"].append(f"full-speed run: {full['succeeded'] - ok2xx} non-2xx answers (excluded)")
        errs = full.get("failed", 0) + full.get("errored", 0) + full.get("timeout", 0)
        if errs:
            r["notes"].append(f"full-speed run: {errs} requests failed/errored/timed out")
        r["full_requests"] = ok2xx
        for side in ("client", "server", "app"):
            ticks = meta.get(f"{side}_ticks")
            if ticks not in (None, "") and ok2xx:
                r[f"cpu_{side}"] = int(ticks) * 1000.0 / tck / (ok2xx / 1000.0)
    else:
        r["notes"].append(f"full-speed run: no h2load summary (exit {full.get('exit', '?')})")
    # CPU used during the full-speed run by processes that are not part of the setup
    try:
        busy_ms = int(meta["machine_busy_ticks"]) * 1000.0 / tck
        ours_ms = int(meta["h2load_cpu_ms"]) + sum(
            int(meta.get(f"{side}_ticks") or 0) * 1000.0 / tck for side in ("client", "server", "app"))
        capacity_ms = int(meta["full_wall_ms"]) * cpus
        other = (busy_ms - ours_ms) / capacity_ms if capacity_ms else 0.0
        r["other_cpu"] = other
        r["machine_busy"] = busy_ms / capacity_ms if capacity_ms else None
        wall_ms = int(meta["full_wall_ms"])
        per_cpu = [int(t) * 1000.0 / tck / wall_ms for t in meta.get("cpu_busy_ticks", "").split()]
        r["cpu_busy"] = per_cpu if wall_ms and len(per_cpu) > 1 else None
        if other > 0.05:
            r["notes"].append(f"other processes used about {other:.0%} of the machine's CPU during the "
                              "full-speed run; throughput and CPU figures are disturbed")
    except (KeyError, ValueError):
        pass
    answered = r.get("answered_2000")  # 2xx answers in the 2000 req/s run, parsed above
    for side in ("client", "server"):
        ticks = meta.get(f"{side}_ticks_2000")
        if ticks not in (None, "") and answered:
            r[f"cpu2000_{side}"] = int(ticks) * 1000.0 / tck / (answered / 1000.0)
    for side in ("client", "server", "app"):
        kb = meta.get(f"{side}_hwm_kb")
        if kb not in (None, ""):
            r[f"rss_{side}"] = int(kb) / 1024.0
    if name == "weft-split":
        r["notes"].extend(split_notes(meta))
    return r


def split_notes(meta):
    """Whether the split route carried the weft-split load, from the client's response_total."""
    try:
        a, b, other = (float(meta[f"split_{k}"]) for k in ("a", "b", "other"))
    except (KeyError, ValueError):
        return ["no split-route metrics from the client sidecar: cannot tell whether the "
                "HTTPRoute carried the load"]
    total = a + b + other
    if not total or not a or not b:
        return [f"the split route did not carry the load (subset a {a:.0f}, b {b:.0f}, "
                f"outside the route {other:.0f} responses): the comparison with weft is void"]
    note = f"split route: subset a {100 * a / total:.1f}%, b {100 * b / total:.1f}%"
    if other:
        note += f", outside the route {100 * other / total:.1f}%"
    return [note + f" of {total:,.0f} responses"]


def pair(a, b, fmt):
    if a is None and b is None:
        return "–"
    return f"{fmt(a)}, {fmt(b)}"


def load_results(results):
    """run.env and every listed setup's row: (run, names, h2c_names, rows)."""
    run = read_env(os.path.join(results, "run.env"))
    listed = run.get("setups", " ".join(SETUPS)).split()
    names = [s for s in listed if s in SETUPS]
    h2c_names = [s for s in listed if s in H2C_SETUPS]
    cpus = int(run.get("cpus") or os.cpu_count() or 1)
    rows = {n: load_setup(results, n, cpus) for n in names + h2c_names}
    return run, names, h2c_names, rows


def build_report(loaded):
    run, names, h2c_names, rows = loaded

    lines = []
    lines.append("## Weft sidecar benchmark")
    lines.append("")
    lines.append(f"{run.get('date', '?')} · {run.get('cpus', '?')} CPUs · kernel {run.get('kernel', '?')} · "
                 f"{run.get('duration', '?')} s per phase{' (--quick)' if run.get('quick') == '1' else ''} · "
                 f"{run.get('h2load', 'h2load')} · nginx {run.get('nginx', '?')} · "
                 f"HAProxy {run.get('haproxy', '?')} · 1 KiB response")
    load = run.get("loadavg_start")
    if load and float(load.split()[0]) > 1.0:
        lines.append("")
        lines.append(f"Load average {load} when the run started (includes earlier benchmark runs); "
                     "see the per-setup notes for CPU taken by other processes.")
    lines.append("")
    if names:  # the HTTP/1.1 table
        lines.append("| setup | p50@200 (ms) | p99@200 (ms) | p50@2000 (ms) | p99@2000 (ms) | max req/s "
                     "| CPU ms/1k req (client-side, server-side proxy) | peak RSS MB (client-side, server-side) |")
        lines.append("|---|---:|---:|---:|---:|---:|---:|---:|")
        f1 = lambda v: "–" if v is None else f"{v:.1f}"
        for n in names:
            r = rows[n]
            if r["meta"].get("status") != "ok":
                reason = r["meta"].get("reason", "no results")
                lines.append(f"| {n} | FAILED | | | | | | |")
                r["notes"].insert(0, f"FAILED: {reason}")
                continue
            rps = r.get("max_rps")
            lines.append("| {} | {} | {} | {} | {} | {} | {} | {} |".format(
                n, fmt_ms(r.get("p50_200")), fmt_ms(r.get("p99_200")),
                fmt_ms(r.get("p50_2000")), fmt_ms(r.get("p99_2000")),
                "–" if rps is None else f"{rps:,.0f}",
                pair(r.get("cpu_client"), r.get("cpu_server"), f1) if n != "direct" else "–",
                pair(r.get("rss_client"), r.get("rss_server"), f1) if n != "direct" else "–"))
        weft = rows.get("weft")
        split = rows.get("weft-split")
        if weft is not None and split is not None:
            lines.append(f"| weft-split/weft | | | | {fmt_ratio(split.get('p99_2000'), weft.get('p99_2000'))} "
                         f"| {fmt_ratio(split.get('max_rps'), weft.get('max_rps'))} | | |")
        for other in ("nginx", "haproxy"):
            if weft is None or other not in rows:
                continue
            o = rows[other]
            lines.append(f"| weft/{other} | | | | {fmt_ratio(weft.get('p99_2000'), o.get('p99_2000'))} "
                         f"| {fmt_ratio(weft.get('max_rps'), o.get('max_rps'))} | | |")
        lines.append("")

        direct = rows.get("direct")
        if direct and direct.get("p99_2000") is not None:
            added = []
            for n in names:
                if n != "direct" and rows[n].get("p99_2000") is not None:
                    added.append(f"{n} {rows[n]['p99_2000'] - direct['p99_2000']:+.3f} ms")
            if added:
                lines.append("Added p99@2000 over direct: " + ", ".join(added) + ".")
        if weft is not None and split is not None:
            a, b = split.get("p99_2000"), weft.get("p99_2000")
            if a is not None and b:
                verdict = "within" if a / b <= SPLIT_TARGET else "over"
                lines.append(f"Split route: weft-split/weft p99@2000 = {a / b:.3f}× ({a:.3f} ms vs "
                             f"{b:.3f} ms), {verdict} the issue #3 target of ≤ {SPLIT_TARGET:.2f}×.")
            else:
                lines.append("Split route: weft-split/weft p99@2000 = – (a setup has no p99@2000).")
        low = [f"{n} {pair(rows[n].get('cpu2000_client'), rows[n].get('cpu2000_server'), f1)}"
               for n in names if rows[n].get("cpu2000_client") is not None]
        if low:
            lines.append("Proxy CPU ms/1k req in the 2000 req/s run (client-side, server-side; a request "
                         "at low load pays for waking up and cold caches): " + ", ".join(low) + ".")
        busy = [f"{n} {rows[n]['machine_busy']:.0%}" + per_cpu_busy(rows[n]) for n in names
                if rows[n].get("machine_busy") is not None]
        if busy:
            lines.append("Machine busy during the full-speed run (all CPUs, then each CPU; below 100% "
                         "means the processes waited on each other, not on CPU): " +
                         ", ".join(busy) + ".")
        apps = [f"{n} {rows[n]['cpu_app']:.1f}" for n in names if rows[n].get("cpu_app") is not None]
        if apps:
            lines.append("App nginx CPU ms/1k req in the full-speed run (same app in every setup): "
                         + ", ".join(apps) + ".")
        lines.append(f"Latency: {run.get('rate_clients', 5)} HTTP/1.1 connections with staggered starts, "
                     "h2load --rps, per-request times from --log-file (nearest-rank percentiles; "
                     "time from sending a request to the end of its response). Max req/s: "
                     f"{run.get('full_clients', 32)} connections, one h2load thread, sharing the "
                     f"{run.get('cpus', '?')} CPUs with the app and both proxies. CPU: utime+stime of each "
                     "proxy process over the full-speed run / 2xx responses. RSS: VmHWM at the end of the setup.")
    if h2c_names:
        if names:
            lines.append("")
        lines += h2c_section(run, rows, h2c_names)
    for n in names + h2c_names:
        for note in rows[n]["notes"]:
            lines.append(f"- {n}: {note}")
    return "\n".join(lines) + "\n"


def h2c_section(run, rows, names):
    """The h2c table (issue #4): p50/p99 at 2000 req/s, max req/s, CPU, RSS; weft/nginx
    ratios and the targets (max req/s >= nginx's, p99@2000 <= nginx's)."""
    f1 = lambda v: "–" if v is None else f"{v:.1f}"  # noqa: E731
    c, m = run.get("h2c_clients", "10"), run.get("h2c_streams", "10")
    lines = [f"### h2c: HTTP/2 with prior knowledge, {c} connections × {m} streams", "",
             "| setup | p50@2000 (ms) | p99@2000 (ms) | max req/s "
             "| CPU ms/1k req (client-side, server-side proxy) | peak RSS MB (client-side, server-side) |",
             "|---|---:|---:|---:|---:|---:|"]
    for n in names:
        r = rows[n]
        if r["meta"].get("status") != "ok":
            lines.append(f"| {n} | FAILED | | | | |")
            r["notes"].insert(0, f"FAILED: {r['meta'].get('reason', 'no results')}")
            continue
        rps = r.get("max_rps")
        direct = n == "h2c-direct"
        lines.append("| {} | {} | {} | {} | {} | {} |".format(
            n, fmt_ms(r.get("p50_2000")), fmt_ms(r.get("p99_2000")),
            "–" if rps is None else f"{rps:,.0f}",
            "–" if direct else pair(r.get("cpu_client"), r.get("cpu_server"), f1),
            "–" if direct else pair(r.get("rss_client"), r.get("rss_server"), f1)))
    weft, nginx = rows.get("h2c-weft"), rows.get("h2c-nginx")
    if weft is None or nginx is None:
        return lines
    wp, np_ = weft.get("p99_2000"), nginx.get("p99_2000")
    wr, nr = weft.get("max_rps"), nginx.get("max_rps")
    lines.append(f"| h2c-weft/h2c-nginx | | {fmt_ratio(wp, np_)} | {fmt_ratio(wr, nr)} | | |")
    lines.append("")
    verdicts = []
    if wr is not None and nr:
        verdicts.append(f"max req/s {wr:,.0f} vs {nr:,.0f}: {'met' if wr >= nr else 'NOT met'} (≥ nginx)")
    if wp is not None and np_:
        verdicts.append(f"p99@2000 {wp:.3f} ms vs {np_:.3f} ms: "
                        f"{'met' if wp <= np_ else 'NOT met'} (≤ nginx)")
    lines.append("Issue #4 targets, h2c-weft against h2c-nginx: "
                 + ("; ".join(verdicts) if verdicts else "– (a setup has no results)") + ".")
    lines.append(f"Latency: {c} h2c connections × {m} streams, h2load --rps, per-request times from "
                 "--log-file. Max req/s: the same connections and streams, one h2load thread. "
                 "h2c-nginx passes HTTP/2 between its sidecars with grpc_pass (one request per "
                 "upstream connection at a time).")
    return lines


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("results")
    ap.add_argument("--out")
    args = ap.parse_args()
    dirs = rounds.round_dirs(args.results)
    if dirs:
        parts, per_round = [], []
        for k, d in enumerate(dirs, 1):
            loaded = load_results(d)
            parts.append(f"# Round {k}\n\n" + build_report(loaded))
            per_round.append(loaded[3])
        summary = rounds.summary(per_round, SPLIT_TARGET)
        report = "\n".join(parts) + "\n" + "\n".join(summary) + "\n"
    else:
        report = build_report(load_results(args.results))
    sys.stdout.write(report)
    if args.out:
        with open(args.out, "w") as f:
            f.write(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
