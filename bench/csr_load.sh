#!/usr/bin/env bash
# bench/csr_load.sh -- a burst of certificate requests against weft-control, over real TLS.
#
# Starts build/control/weft-control on 127.0.0.1 (ephemeral ports, a fresh --data-dir), makes a
# join token through its operators' API (POST /v1/tokens with DIR/admin.token), makes one EC P-256
# CSR for that token's identity with `openssl req`, and fires N requests at once: h2load with N
# connections (TLS, ALPN h2), one POST /v1/certificates each. Then it reports:
#   - requests succeeded (HTTP 200 with a certificate) and failed
#   - time per request (h2load's "time for request": request sent on the established TLS
#     connection -> certificate received): min, mean, p50, p99, max, from h2load --log-file;
#     the p99 is the "p99 time to certificate"
#   - time from the burst to each certificate (h2load starts connecting -> certificate received;
#     includes the TCP and TLS set-up of all N connections and the queue behind them): p50, p99, max
#   - that identity_certs_issued_total on weft-control's /metrics equals the successes
#   - weft-control's CPU time during the burst, in all and per request
#   - weft-control's open descriptors (peak while the burst ran, and its limit), and any
#     "Too many open files" in its log
#
# Usage: bench/csr_load.sh [--requests N] [--control PATH] [--keep]
#   --requests N    requests, and connections, in the burst (default 1000)
#   --control PATH  weft-control binary (default: $WEFT_CONTROL or build/control/weft-control)
#   --keep          keep the work directory (data dir, logs, h2load output)
#
# Only 127.0.0.1; every wait is bounded; weft-control is stopped on exit. `ulimit -n` is raised
# for both processes (weft-control and h2load each hold one descriptor per connection).
set -uo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$BENCH_DIR/.." && pwd)

REQUESTS=1000
CONTROL=${WEFT_CONTROL:-$REPO/build/control/weft-control}
KEEP=0

usage() { sed -n '2,/^set -uo/{/^set -uo/d;s/^# \{0,1\}//;p}' "$0"; }
die() { echo "csr_load.sh: $*" >&2; exit 1; }

while (($#)); do
    case $1 in
        --requests) [[ ${2:-} =~ ^[1-9][0-9]*$ ]] || die "--requests needs a positive integer"
                    REQUESTS=$2; shift 2 ;;
        --control)  [[ -n ${2:-} ]] || die "--control needs a path"; CONTROL=$2; shift 2 ;;
        --keep)     KEEP=1; shift ;;
        -h|--help)  usage; exit 0 ;;
        *)          usage >&2; die "unknown argument: $1" ;;
    esac
done

for tool in h2load openssl curl python3; do
    command -v "$tool" >/dev/null || die "$tool not found (h2load: apt-get install nghttp2-client)"
done
[[ -x $CONTROL ]] || die "no weft-control at $CONTROL (ninja -C build weft-control)"

# One descriptor per connection on each side, plus the process's own; room to spare.
FDS_NEEDED=$((2 * REQUESTS + 1024))
if (($(ulimit -n) < FDS_NEEDED)); then
    ulimit -n "$FDS_NEEDED" 2>/dev/null ||
        die "cannot raise 'ulimit -n' to $FDS_NEEDED (hard limit $(ulimit -Hn))"
fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/weft-csr-load.XXXXXX")
CONTROL_PID=""
H2LOAD_PID=""
cleanup() {
    [[ -n $H2LOAD_PID ]] && kill -TERM "$H2LOAD_PID" 2>/dev/null
    if [[ -n $CONTROL_PID ]] && kill -0 "$CONTROL_PID" 2>/dev/null; then
        kill -TERM "$CONTROL_PID" 2>/dev/null
        for _ in $(seq 50); do kill -0 "$CONTROL_PID" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$CONTROL_PID" 2>/dev/null
        wait "$CONTROL_PID" 2>/dev/null
    fi
    if ((KEEP)); then echo "work directory kept: $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---------------------------------------------------------------- weft-control
"$CONTROL" --data-dir "$WORK/data" --listen 127.0.0.1:0 --api 127.0.0.1:0 \
    --admin 127.0.0.1:0 >"$WORK/control.log" 2>&1 &
CONTROL_PID=$!
ready=""
for _ in $(seq 100); do
    ready=$(grep -m1 'weft-control ready:' "$WORK/control.log")
    [[ -n $ready ]] && break
    kill -0 "$CONTROL_PID" 2>/dev/null || break
    sleep 0.1
done
[[ -n $ready ]] || { cat "$WORK/control.log" >&2; die "weft-control did not become ready in 10 s"; }
port_of() { sed -n "s/.* $1=127\.0\.0\.1:\([0-9]*\).*/\1/p" <<<"$ready"; }
LISTEN=$(port_of listen)
API=$(port_of api)
ADMIN=$(port_of admin)
[[ -n $LISTEN && -n $API && -n $ADMIN ]] || die "cannot read the ports from: $ready"

# ---------------------------------------------------------------- token and CSR
ADMIN_TOKEN=$(<"$WORK/data/admin.token")
curl -sS --max-time 10 -o "$WORK/token.json" -w '%{http_code}' \
    -H "authorization: Bearer $ADMIN_TOKEN" -H 'content-type: application/json' \
    -d '{"namespace":"default","serviceAccount":"web","ttl":"1h"}' \
    "http://127.0.0.1:$API/v1/tokens" >"$WORK/token.status" || die "POST /v1/tokens failed"
[[ $(<"$WORK/token.status") == 201 ]] ||
    die "POST /v1/tokens answered $(<"$WORK/token.status"): $(<"$WORK/token.json")"
read -r JOIN_TOKEN IDENTITY < <(python3 -c '
import json, sys
doc = json.load(open(sys.argv[1]))
print(doc["token"], doc["identity"])' "$WORK/token.json") || die "no token in $(<"$WORK/token.json")"

openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout "$WORK/workload.key" -subj "/O=weft" -addext "subjectAltName=URI:$IDENTITY" \
    -out "$WORK/workload.csr" 2>"$WORK/openssl.log" || die "openssl req: $(<"$WORK/openssl.log")"
python3 -c '
import json, sys
json.dump({"csr": open(sys.argv[1]).read()}, open(sys.argv[2], "w"))' \
    "$WORK/workload.csr" "$WORK/body.json"

# One request first: the path works, and its certificate is what the burst will get.
curl -sS --max-time 10 --http2 -k -o "$WORK/one.json" -w '%{http_code}' \
    -H "authorization: Bearer $JOIN_TOKEN" -H 'content-type: application/json' \
    --data-binary @"$WORK/body.json" "https://127.0.0.1:$LISTEN/v1/certificates" \
    >"$WORK/one.status" || die "POST /v1/certificates failed"
[[ $(<"$WORK/one.status") == 200 ]] ||
    die "POST /v1/certificates answered $(<"$WORK/one.status"): $(<"$WORK/one.json")"

# ---------------------------------------------------------------- the burst
fd_count() {
    local fds=("/proc/$CONTROL_PID/fd"/*)
    echo "${#fds[@]}"
}
# utime + stime, in clock ticks
cpu_ticks() { awk '{print $14 + $15}' "/proc/$CONTROL_PID/stat" 2>/dev/null || echo 0; }
FDS_BEFORE=$(fd_count)
CPU_BEFORE=$(cpu_ticks)
echo "weft-control pid $CONTROL_PID: listen :$LISTEN, api :$API, admin :$ADMIN; $IDENTITY"
echo "firing $REQUESTS certificate requests at once ($REQUESTS TLS connections, h2)"
BURST_START_US=$(date +%s%6N)
timeout 120 h2load -n "$REQUESTS" -c "$REQUESTS" -m 1 -t 1 -T 60 -N 60 \
    -d "$WORK/body.json" -H "authorization: Bearer $JOIN_TOKEN" \
    -H 'content-type: application/json' --log-file "$WORK/h2load.requests" \
    "https://127.0.0.1:$LISTEN/v1/certificates" >"$WORK/h2load.out" 2>&1 &
H2LOAD_PID=$!
FDS_PEAK=$FDS_BEFORE
while kill -0 "$H2LOAD_PID" 2>/dev/null; do  # bounded by the timeout above
    n=$(fd_count)
    ((n > FDS_PEAK)) && FDS_PEAK=$n
    sleep 0.05
done
wait "$H2LOAD_PID"
H2LOAD_RC=$?
H2LOAD_PID=""
((H2LOAD_RC == 124)) && echo "h2load did not finish in 120 s" >&2

CPU_MS=$(( ($(cpu_ticks) - CPU_BEFORE) * 1000 / $(getconf CLK_TCK) ))
curl -sS --max-time 10 "http://127.0.0.1:$ADMIN/metrics" >"$WORK/metrics.txt" ||
    echo "cannot read /metrics" >&2
FD_LIMIT=$(awk '/^Max open files/ {print $4}' "/proc/$CONTROL_PID/limits" 2>/dev/null)
EMFILE=$(grep -c -i 'too many open files' "$WORK/control.log")
kill -0 "$CONTROL_PID" 2>/dev/null && ALIVE=yes || ALIVE=no

# ---------------------------------------------------------------- report
python3 "$BENCH_DIR/csr_load_report.py" --requests "$REQUESTS" \
    --h2load-out "$WORK/h2load.out" --h2load-log "$WORK/h2load.requests" \
    --burst-start-us "$BURST_START_US" --metrics "$WORK/metrics.txt" \
    --warm-up-issued 1
RC=$?
echo "weft-control CPU during the burst: $CPU_MS ms (user + system; TLS handshakes, token" \
    "checks, HTTP/2, issuing, logging), $((CPU_MS * 1000 / REQUESTS)) us per request"
echo "weft-control: open descriptors $FDS_BEFORE before, $FDS_PEAK at peak (limit ${FD_LIMIT:-?});" \
    "'too many open files' in its log: $EMFILE; still running: $ALIVE"
((EMFILE == 0)) || RC=1
[[ $ALIVE == yes ]] || RC=1
exit $RC
