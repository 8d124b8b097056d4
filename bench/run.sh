#!/usr/bin/env bash
# bench/run.sh -- sidecar-pair benchmark: weft-proxy vs nginx vs HAProxy.
#
# Five setups, each with a fresh set of processes on 127.0.0.1 ephemeral ports:
#   direct      h2load -> app (nginx)
#   weft        h2load -> weft-proxy (web, outbound) =mTLS h2=> weft-proxy (backend, inbound) -> app
#               (weft carries HTTP/1.1 between sidecars over one pooled HTTP/2 connection)
#   weft-split  the weft pair, but the client's mesh.yaml has an HTTPRoute that splits 50/50
#               between two subsets of backend (both select the one backend sidecar), so a
#               request is matched, weighted and balanced (issue #3: p99@2000 within 5% of weft)
#   nginx       h2load -> nginx (outbound)          =mTLS=> nginx (inbound)                -> app
#   haproxy     h2load -> haproxy (outbound)        =mTLS=> haproxy (inbound)              -> app
# For each: latency p50/p99 at a fixed 200 and 2000 req/s, max req/s at full
# speed (32 connections), CPU ms per 1000 requests of each proxy process during
# the full-speed run and during the 2000 req/s run, how busy the whole machine was
# during the full-speed run, and peak RSS (VmHWM) of each proxy process.
#
# The h2c section (issue #4): h2load speaks HTTP/2 with prior knowledge, 10 connections
# x 10 concurrent streams, at 2000 req/s and at full speed; the app is the same nginx
# (HTTP/1.1, and h2c on a second port for h2c-direct):
#   h2c-direct  h2load -h2c-> app
#   h2c-weft    h2load -h2c-> weft-proxy (web)  =mTLS h2=> weft-proxy (backend) -> app
#   h2c-nginx   h2load -h2c-> nginx (listen http2, grpc_pass) =mTLS h2=> nginx (ssl http2) -> app
#
# Usage: bench/run.sh [--duration N] [--quick] [--out FILE] [--setups LIST]
#                     [--rounds N] [--weft PATH] [--keep]
#   --duration N   seconds per measurement (default 10)
#   --quick        duration 3 and shorter warm-ups (smoke check)
#   --out FILE     also write the markdown report to FILE
#   --setups LIST  comma-separated subset of direct,weft,weft-split,nginx,haproxy,
#                  h2c-direct,h2c-weft,h2c-nginx (default: all); `h2c` = the three h2c setups
#   --rounds N     run every setup N times, in alternating order (listed, reversed, listed,
#                  ...), and report each round and the median of weft's per-round ratios:
#                  on a shared machine one round's ratios move by 15-25% (default 1)
#   --weft PATH    weft-proxy binary (default: $WEFT_PROXY or build/proxy/weft-proxy)
#   --keep         keep the work directory (configs, logs, raw h2load output)
# Environment: WEFT_MAKE_CERTS overrides the cert script (default tests/certs/make-certs.sh).
#
# All traffic stays on 127.0.0.1; every h2load run is bounded (-n or -D, plus
# an outer timeout); every process started here is killed on exit.
set -uo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$BENCH_DIR/.." && pwd)

DURATION=10
QUICK=0
OUT=""
KEEP=0
ROUNDS=1
SETUPS="direct,weft,weft-split,nginx,haproxy,h2c-direct,h2c-weft,h2c-nginx"
WEFT=${WEFT_PROXY:-$REPO/build/proxy/weft-proxy}
MAKE_CERTS=${WEFT_MAKE_CERTS:-$REPO/tests/certs/make-certs.sh}

usage() { sed -n '2,/^set -uo/{/^set -uo/d;s/^# \{0,1\}//;p}' "$0"; }
die() { echo "run.sh: $*" >&2; exit 1; }

while (($#)); do
    case $1 in
        --duration) [[ ${2:-} =~ ^[1-9][0-9]*$ ]] || die "--duration needs a positive integer"
                    DURATION=$2; shift 2 ;;
        --duration=*) DURATION=${1#*=}; [[ $DURATION =~ ^[1-9][0-9]*$ ]] || die "bad --duration"; shift ;;
        --quick)    QUICK=1; shift ;;
        --out)      [[ -n ${2:-} ]] || die "--out needs a file"; OUT=$2; shift 2 ;;
        --out=*)    OUT=${1#*=}; shift ;;
        --setups)   [[ -n ${2:-} ]] || die "--setups needs a list"; SETUPS=$2; shift 2 ;;
        --setups=*) SETUPS=${1#*=}; shift ;;
        --rounds)   [[ ${2:-} =~ ^[1-9][0-9]*$ ]] || die "--rounds needs a positive integer"
                    ROUNDS=$2; shift 2 ;;
        --weft)     [[ -n ${2:-} ]] || die "--weft needs a path"; WEFT=$2; shift 2 ;;
        --weft=*)   WEFT=${1#*=}; shift ;;
        --keep)     KEEP=1; shift ;;
        -h|--help)  usage; exit 0 ;;
        *)          usage >&2; die "unknown argument: $1" ;;
    esac
done
if ((QUICK)); then
    DURATION=3
    WARM_START=1   # seconds of full-speed warm-up after a setup starts
    WARM_FULL=1    # seconds of full-speed warm-up right before the full-speed run
else
    WARM_START=2
    WARM_FULL=1
fi
IFS=, read -ra SETUP_ARGS <<<"$SETUPS"
SETUP_LIST=()
for s in "${SETUP_ARGS[@]}"; do
    if [[ $s == h2c ]]; then SETUP_LIST+=(h2c-direct h2c-weft h2c-nginx); else SETUP_LIST+=("$s"); fi
done
for s in "${SETUP_LIST[@]}"; do
    [[ $s =~ ^(direct|weft|weft-split|nginx|haproxy|h2c-direct|h2c-weft|h2c-nginx)$ ]] ||
        die "unknown setup '$s' (direct,weft,weft-split,nginx,haproxy,h2c-direct,h2c-weft,h2c-nginx)"
done

for tool in h2load nginx haproxy curl openssl python3; do
    command -v "$tool" >/dev/null || die "$tool not found"
done
[[ -n $OUT ]] && OUT=$(realpath -m "$OUT")

# Load shapes. h2load's --rps timers of clients that connect together fire
# together (bursts of C requests), so the clients are started staggered with
# -r 1 --rate-period: at 200 req/s 5 clients x 40 req/s started 5 ms apart
# give one request every 5 ms; at 2000 req/s 5 clients x 400 req/s started
# 1 ms apart (mod 2.5 ms) give one request every 0.5 ms. -n (not -D) because
# -r and -D are mutually exclusive; -n = rate x duration.
RATE_CLIENTS=5
FULL_CLIENTS=32
# h2c: 10 connections x 10 streams for both the 2000 req/s and the full-speed run. At
# 2000 req/s each client sends 200 req/s (one every 5 ms); h2load's --rate-period has
# 1 ms steps, so the 10 clients start 1 ms apart and fire in pairs every 1 ms.
H2C_CLIENTS=10
H2C_STREAMS=10
H2LOAD_COMMON=(-H ':authority: backend' -N 5s)

W=$(mktemp -d /tmp/weft-bench.XXXXXX) || die "mktemp failed"
mkdir -p "$W/tmp" "$W/results"

SETUP_PIDS=()   # long-running processes of the current setup (earlier setups are already stopped)
declare -A PID_NAME=()
CUR_H2LOAD=""

kill_pids() { # PIDS... : TERM, wait up to 5 s, then KILL
    local pid alive i
    for pid in "$@"; do kill -TERM "$pid" 2>/dev/null; done
    for ((i = 0; i < 50; i++)); do
        alive=0
        for pid in "$@"; do kill -0 "$pid" 2>/dev/null && alive=1; done
        ((alive)) || break
        sleep 0.1
    done
    for pid in "$@"; do kill -KILL "$pid" 2>/dev/null; done
    for pid in "$@"; do wait "$pid" 2>/dev/null; done
    return 0
}

cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    [[ -n $CUR_H2LOAD ]] && kill -TERM "$CUR_H2LOAD" 2>/dev/null  # timeout(1) passes it on to h2load
    ((${#SETUP_PIDS[@]})) && kill_pids "${SETUP_PIDS[@]}"
    if ((KEEP)); then
        echo "work directory kept: $W" >&2
    else
        rm -rf "$W"
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

log() { printf '[%(%H:%M:%S)T] %s\n' -1 "$*" >&2; }

# start NAME CMD... : start a long-running process, output to $W/NAME.{out,err}; sets LAST_PID
start() {
    local name=$1; shift
    "$@" >"$W/$name.out" 2>"$W/$name.err" </dev/null &
    LAST_PID=$!
    SETUP_PIDS+=("$LAST_PID")
    PID_NAME[$LAST_PID]=$name
}

# check_alive WHEN : every process of the setup still runs, else FAIL names the dead one
check_alive() {
    local pid name rc dead=()
    for pid in "${SETUP_PIDS[@]}"; do
        kill -0 "$pid" 2>/dev/null && continue
        name=${PID_NAME[$pid]}
        wait "$pid" 2>/dev/null
        rc=$?
        ((rc > 128)) && rc="signal $((rc - 128))" || rc="status $rc"
        dead+=("$name (pid $pid, exit $rc; last output: $(fail_tail "$name"))")
    done
    ((${#dead[@]})) || return 0
    local IFS=';'
    FAIL="died $1: ${dead[*]}"
    return 1
}

stop_setup() {
    ((${#SETUP_PIDS[@]})) && kill_pids "${SETUP_PIDS[@]}"
    SETUP_PIDS=()
    PID_NAME=()
}

# free_ports N : N distinct free TCP ports on 127.0.0.1 (held open together, then released)
free_ports() {
    python3 - "$1" <<'EOF'
import socket, sys
socks = []
for _ in range(int(sys.argv[1])):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    socks.append(s)
print(" ".join(str(s.getsockname()[1]) for s in socks))
EOF
}

# render TEMPLATE OUTFILE ROLE KEY=VALUE... : substitute @KEY@; keep "#ROLE " lines (ROLE: OUT/IN/-)
render() {
    local tmpl=$1 out=$2 role=$3; shift 3
    local args=() kv
    for kv in "$@"; do args+=(-e "s|@${kv%%=*}@|${kv#*=}|g"); done
    [[ $role != - ]] && args+=(-e "s/^#$role ?//")
    sed -E "${args[@]}" "$BENCH_DIR/$tmpl" >"$out"
}

# fail_tail NAME : last lines of a process's stderr/stdout, for failure messages
fail_tail() { tail -n 5 "$W/$1.err" "$W/$1.out" 2>/dev/null | grep -v '^==> .* <==$' | grep -v '^$' | tail -n 6 | tr '\n' ' '; }

# wait_port PORT PID NAME : until something accepts on 127.0.0.1:PORT (10 s), or the process dies
wait_port() {
    local port=$1 pid=$2 name=$3 i
    for ((i = 0; i < 100; i++)); do
        kill -0 "$pid" 2>/dev/null || { FAIL="$name exited during start-up: $(fail_tail "$name")"; return 1; }
        (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && return 0
        sleep 0.1
    done
    FAIL="$name did not listen on 127.0.0.1:$port within 10 s"
    return 1
}

# wait_ready ADMIN_PORT PID NAME : until GET /ready on the admin port succeeds (15 s)
wait_ready() {
    local port=$1 pid=$2 name=$3 i
    for ((i = 0; i < 150; i++)); do
        kill -0 "$pid" 2>/dev/null || { FAIL="$name exited during start-up: $(fail_tail "$name")"; return 1; }
        curl -sf -m 1 -o /dev/null "http://127.0.0.1:$port/ready" && return 0
        sleep 0.1
    done
    FAIL="$name: http://127.0.0.1:$port/ready not OK within 15 s: $(fail_tail "$name")"
    return 1
}

# check_e2e PORT [CURL_ARGS...] : one request through the chain must return 200 and the app's body
check_e2e() {
    local port=$1 i code
    shift
    for ((i = 0; i < 20; i++)); do
        rm -f "$W/e2e.body"
        code=$(curl -sS -m 3 "$@" -o "$W/e2e.body" -w '%{http_code}' -H 'Host: backend' \
            "http://127.0.0.1:$port/" 2>"$W/e2e.err") || code="curl-error ($(tr '\n' ' ' <"$W/e2e.err"))"
        if [[ $code == 200 ]] && cmp -s "$W/e2e.body" "$W/app.body"; then
            return 0
        fi
        sleep 0.2
    done
    FAIL="end-to-end check via 127.0.0.1:$port${*:+ (curl $*)}: HTTP $code, body: $(head -c 300 "$W/e2e.body" 2>/dev/null | tr '\n' ' ')"
    return 1
}

# h2load_run OUTFILE TIMEOUT ARGS... : bounded h2load run in the background (so traps fire promptly)
h2load_run() {
    local outfile=$1 limit=$2; shift 2
    timeout -k 5 "$limit" h2load "${H2LOAD_COMMON[@]}" "$@" >"$outfile" 2>&1 &
    CUR_H2LOAD=$!
    wait "$CUR_H2LOAD"
    local rc=$?
    CUR_H2LOAD=""
    return "$rc"
}

# pid_tree PID : PID and all its descendants
pid_tree() {
    local p c
    for p in "$@"; do
        echo "$p"
        for c in $(ps -o pid= --ppid "$p" 2>/dev/null); do pid_tree "$c"; done
    done
}

# cpu_ticks PID : utime+stime (clock ticks) of PID and its descendants
cpu_ticks() {
    local total=0 p s f
    for p in $(pid_tree "$1"); do
        s=$(cat "/proc/$p/stat" 2>/dev/null) || continue
        s=${s##*) }                    # drop "pid (comm) "; field 3 (state) is now f[0]
        read -ra f <<<"$s"
        total=$((total + f[11] + f[12]))  # fields 14 utime, 15 stime
    done
    echo "$total"
}

# hwm_kb PID : VmHWM (kB) of PID and its descendants
hwm_kb() {
    local total=0 p v
    for p in $(pid_tree "$1"); do
        v=$(awk '/^VmHWM:/{print $2}' "/proc/$p/status" 2>/dev/null) || continue
        total=$((total + ${v:-0}))
    done
    echo "$total"
}

# cpu_busy : busy clock ticks of each CPU since boot (user+nice+system+irq+softirq+steal),
# space-separated; the whole machine's are their sum
cpu_busy() { awk '/^cpu[0-9]/{printf "%s%d", sep, $2 + $3 + $4 + $7 + $8 + $9; sep = " "} END {print ""}' /proc/stat; }

# children_cpu_ms : CPU ms used by waited-for children of this shell (bash `times`,
# 2nd line). `times` must run in this shell, not in a $(...) subshell.
children_cpu_ms() {
    local t
    times >"$W/times.txt"
    t=$(tail -n 1 "$W/times.txt")
    awk -v t="$t" 'BEGIN { n = split(t, a, " "); ms = 0
        for (i = 1; i <= n; i++) { split(a[i], b, "m"); sub("s", "", b[2]); ms += (b[1] * 60 + b[2]) * 1000 }
        printf "%d\n", ms }'
}

APP_PORT="" APP_H2_PORT=""
# start_app [h2] : the app on APP_PORT (HTTP/1.1); with h2 also h2c on APP_H2_PORT
start_app() {
    local p role=-
    read -ra p <<<"$(free_ports 2)"
    APP_PORT=${p[0]} APP_H2_PORT=""
    [[ ${1:-} == h2 ]] && APP_H2_PORT=${p[1]} role=H2
    render nginx-app.conf.tmpl "$W/app.conf" "$role" DIR="$W" APP_PORT="$APP_PORT" \
        APP_H2_PORT="$APP_H2_PORT" BODY="$BODY"
    start app nginx -p "$W" -c "$W/app.conf" -e "$W/app-error.log"
    APP_PID=$LAST_PID
    wait_port "$APP_PORT" "$APP_PID" app || return 1
    [[ -z $APP_H2_PORT ]] || wait_port "$APP_H2_PORT" "$APP_PID" app
}

# --app-protocol http1 for the server sidecar: the app speaks HTTP/1.1 only, and the default
# (auto) would speak h2c to it for HTTP/2 requests.
WEFT_APP_ARGS=(--app-protocol http1)

# Each setup_* starts its processes and sets TARGET_PORT, CLIENT_PID, SERVER_PID
# (empty for direct); on failure it sets FAIL and returns 1.
setup_direct() {
    start_app || return 1
    TARGET_PORT=$APP_PORT CLIENT_PID="" SERVER_PID=""
}

setup_h2c_direct() {
    start_app h2 || return 1
    TARGET_PORT=$APP_H2_PORT CLIENT_PID="" SERVER_PID=""
}

# setup_weft_pair CLIENT_MESH_TEMPLATE : the weft pair; the server sidecar loads mesh.yaml.tmpl,
# the client sidecar the given template. Also sets CLIENT_ADMIN.
setup_weft_pair() {
    local client_tmpl=$1
    if [[ ! -x $WEFT ]]; then
        FAIL="weft-proxy binary not found or not executable: $WEFT"
        return 1
    fi
    start_app || return 1
    local p
    read -ra p <<<"$(free_ports 7)"
    local s_out=${p[0]} s_in=${p[1]} s_admin=${p[2]} c_out=${p[3]} c_in=${p[4]} c_admin=${p[5]} c_app=${p[6]}
    render mesh.yaml.tmpl "$W/mesh.yaml" - IN_PORT="$s_in"
    render "$client_tmpl" "$W/client-mesh.yaml" - IN_PORT="$s_in"
    start weft-server "$WEFT" --service backend --namespace default --service-account backend \
        --outbound "127.0.0.1:$s_out" --inbound "127.0.0.1:$s_in" --admin "127.0.0.1:$s_admin" \
        --app "127.0.0.1:$APP_PORT" --cert "$CERTS/backend.pem" --key "$CERTS/backend-key.pem" \
        --trust-bundle "$CERTS/ca.pem" --trust-domain cluster.local --config "$W/mesh.yaml" --workers 1 \
        "${WEFT_APP_ARGS[@]}"
    SERVER_PID=$LAST_PID
    start weft-client "$WEFT" --service web --namespace default --service-account web \
        --outbound "127.0.0.1:$c_out" --inbound "127.0.0.1:$c_in" --admin "127.0.0.1:$c_admin" \
        --app "127.0.0.1:$c_app" --cert "$CERTS/web.pem" --key "$CERTS/web-key.pem" \
        --trust-bundle "$CERTS/ca.pem" --trust-domain cluster.local --config "$W/client-mesh.yaml" --workers 1
    CLIENT_PID=$LAST_PID
    wait_ready "$s_admin" "$SERVER_PID" weft-server || return 1
    wait_ready "$c_admin" "$CLIENT_PID" weft-client || return 1
    TARGET_PORT=$c_out CLIENT_ADMIN=$c_admin
}

setup_weft() { setup_weft_pair mesh.yaml.tmpl; }
setup_weft_split() { setup_weft_pair mesh-split.yaml.tmpl; }
setup_h2c_weft() { setup_weft_pair mesh.yaml.tmpl; }

# split_shares : for weft-split, the client's outbound response_total per subset of the
# split route (so the report can show that the route, not a fallback, carried the load)
split_shares() {
    curl -sf -m 5 -o "$W/client-metrics.txt" "http://127.0.0.1:$CLIENT_ADMIN/metrics" || return 0
    python3 - "$W/client-metrics.txt" <<'EOF'
import re, sys
n = {"a": 0.0, "b": 0.0, "other": 0.0}
for line in open(sys.argv[1]):
    if not line.startswith("response_total{") or 'direction="outbound"' not in line:
        continue
    route = re.search(r'route="([^"]*)"', line)
    subset = re.search(r'dst_subset="([^"]*)"', line)
    key = "other"
    if route and subset and route.group(1) == "backend-split" and subset.group(1) in ("a", "b"):
        key = subset.group(1)
    n[key] += float(line.rsplit(None, 1)[1])
for k in ("a", "b", "other"):
    print("split_%s=%.0f" % (k, n[k]))
EOF
}

# nginx as the sidecar pair: start_nginx_pair TEMPLATE ROLE_PREFIX renders TEMPLATE for the
# inbound (ROLE_PREFIX-in) and outbound (ROLE_PREFIX-out) nginx and starts both.
start_nginx_pair() {
    local template=$1 role=$2
    start_app || return 1
    local p
    read -ra p <<<"$(free_ports 2)"
    local out=${p[0]} in=${p[1]}
    local vars=(DIR="$W" CERTS="$CERTS" APP_PORT="$APP_PORT" IN_PORT="$in" OUT_PORT="$out"
                SERVER_CN=backend.default CLIENT_CN_RE='web\\.default')
    render "$template" "$W/nginx-in.conf" IN ROLE="$role-in" "${vars[@]}"
    render "$template" "$W/nginx-out.conf" OUT ROLE="$role-out" "${vars[@]}"
    start nginx-in nginx -p "$W" -c "$W/nginx-in.conf" -e "$W/$role-in-error.log"
    SERVER_PID=$LAST_PID
    start nginx-out nginx -p "$W" -c "$W/nginx-out.conf" -e "$W/$role-out-error.log"
    CLIENT_PID=$LAST_PID
    wait_port "$in" "$SERVER_PID" nginx-in || return 1
    wait_port "$out" "$CLIENT_PID" nginx-out || return 1
    TARGET_PORT=$out
}

setup_nginx() { start_nginx_pair nginx-pair.conf.tmpl nginx; }

# nginx pair for h2c: h2c in (listen http2), grpc_pass over mTLS with ALPN h2 to the inbound
# nginx (listen ssl http2), HTTP/1.1 to the app. grpc_pass is nginx's only HTTP/2 upstream
# (one request per upstream connection at a time, connections kept alive).
setup_h2c_nginx() { start_nginx_pair nginx-h2-pair.conf.tmpl nginx-h2; }

setup_haproxy() {
    start_app || return 1
    local p
    read -ra p <<<"$(free_ports 2)"
    local out=${p[0]} in=${p[1]}
    # HAProxy wants certificate and key in one file.
    cat "$CERTS/web.pem" "$CERTS/web-key.pem" >"$W/web-combined.pem"
    cat "$CERTS/backend.pem" "$CERTS/backend-key.pem" >"$W/backend-combined.pem"
    chmod 600 "$W"/*-combined.pem
    local vars=(DIR="$W" CERTS="$CERTS" APP_PORT="$APP_PORT" IN_PORT="$in" OUT_PORT="$out"
                SERVER_CN=backend.default CLIENT_CN=web.default)
    render haproxy-pair.cfg.tmpl "$W/haproxy-in.cfg" IN "${vars[@]}"
    render haproxy-pair.cfg.tmpl "$W/haproxy-out.cfg" OUT "${vars[@]}"
    haproxy -c -q -f "$W/haproxy-in.cfg" >"$W/haproxy-check.txt" 2>&1 &&
        haproxy -c -q -f "$W/haproxy-out.cfg" >>"$W/haproxy-check.txt" 2>&1 ||
        { FAIL="haproxy config check failed: $(tr '\n' ' ' <"$W/haproxy-check.txt")"; return 1; }
    start haproxy-in haproxy -db -f "$W/haproxy-in.cfg"
    SERVER_PID=$LAST_PID
    start haproxy-out haproxy -db -f "$W/haproxy-out.cfg"
    CLIENT_PID=$LAST_PID
    wait_port "$in" "$SERVER_PID" haproxy-in || return 1
    wait_port "$out" "$CLIENT_PID" haproxy-out || return 1
    TARGET_PORT=$out
}

# measure SETUP : run the load phases against $TARGET_PORT, write results into $W/results/SETUP
measure() {
    local name=$1 R="$W/results/$1" url="http://127.0.0.1:$TARGET_PORT/"
    local limit=$((DURATION * 3 + 30))
    # shape: HTTP/1.1 (32 connections; 5 at the fixed rates) or h2c (10 connections x 10 streams)
    local proto=(--h1) full=(-c "$FULL_CLIENTS") rates=(200 2000) rate rc period
    if [[ $name == h2c-* ]]; then
        proto=(-m "$H2C_STREAMS") full=(-c "$H2C_CLIENTS") rates=(2000)
    fi

    log "$name: warm-up ${WARM_START}s"
    h2load_run "$R/warmup.txt" 60 "${proto[@]}" "${full[@]}" -D "$WARM_START" "$url"
    check_alive "during the warm-up run" || return 1

    local rate_cpu=()  # proxy CPU during the 2000 req/s run: the cost of a request at low load
    for rate in "${rates[@]}"; do
        rc=$RATE_CLIENTS period=1ms
        ((rate == 200)) && period=5ms
        [[ $name == h2c-* ]] && rc=$H2C_CLIENTS
        log "$name: $rate req/s for ${DURATION}s"
        local rc0="" rs0=""
        [[ -n $CLIENT_PID ]] && rc0=$(cpu_ticks "$CLIENT_PID")
        [[ -n $SERVER_PID ]] && rs0=$(cpu_ticks "$SERVER_PID")
        h2load_run "$R/rate$rate.txt" "$limit" "${proto[@]}" -c "$rc" --rps $((rate / rc)) \
            -r 1 --rate-period "$period" -n $((rate * DURATION)) --log-file "$R/rate$rate.log" "$url" ||
            echo "h2load exit status $?" >>"$R/rate$rate.txt"
        check_alive "during the $rate req/s run" || return 1
        if ((rate == 2000)); then
            rate_cpu=("client_ticks_2000=${rc0:+$(($(cpu_ticks "$CLIENT_PID") - rc0))}"
                "server_ticks_2000=${rs0:+$(($(cpu_ticks "$SERVER_PID") - rs0))}")
        fi
    done

    log "$name: full speed, ${full[*]}, ${DURATION}s"
    h2load_run "$R/warmup-full.txt" 60 "${proto[@]}" "${full[@]}" -D "$WARM_FULL" "$url"
    check_alive "during the second warm-up run" || return 1
    local c0="" s0="" c1="" s1="" a0 a1
    [[ -n $CLIENT_PID ]] && c0=$(cpu_ticks "$CLIENT_PID")
    [[ -n $SERVER_PID ]] && s0=$(cpu_ticks "$SERVER_PID")
    a0=$(cpu_ticks "$APP_PID")
    local h0 h1 t0 t1 i busy=0
    local -a v0 v1 per_cpu
    children_cpu_ms >"$W/h0"; h0=$(<"$W/h0"); read -ra v0 <<<"$(cpu_busy)"; t0=$(date +%s%N)
    h2load_run "$R/full.txt" "$limit" "${proto[@]}" "${full[@]}" -t 1 -D "$DURATION" "$url" ||
        echo "h2load exit status $?" >>"$R/full.txt"
    read -ra v1 <<<"$(cpu_busy)"; t1=$(date +%s%N); children_cpu_ms >"$W/h1"; h1=$(<"$W/h1")
    for i in "${!v0[@]}"; do
        per_cpu+=($((v1[i] - v0[i])))
        busy=$((busy + v1[i] - v0[i]))
    done
    [[ -n $CLIENT_PID ]] && c1=$(cpu_ticks "$CLIENT_PID")
    [[ -n $SERVER_PID ]] && s1=$(cpu_ticks "$SERVER_PID")
    a1=$(cpu_ticks "$APP_PID")
    check_alive "during the full-speed run" || return 1

    {
        echo "status=ok"
        echo "clk_tck=$(getconf CLK_TCK)"
        echo "client_ticks=${c0:+$((c1 - c0))}"
        echo "server_ticks=${s0:+$((s1 - s0))}"
        echo "app_ticks=$((a1 - a0))"
        printf '%s\n' "${rate_cpu[@]}"
        # whole machine during the full-speed run, and what h2load itself used,
        # so report.py can flag CPU taken by processes outside the benchmark
        echo "machine_busy_ticks=$busy"
        echo "cpu_busy_ticks=${per_cpu[*]}"
        echo "h2load_cpu_ms=$((h1 - h0))"
        echo "full_wall_ms=$(((t1 - t0) / 1000000))"
        echo "client_hwm_kb=${CLIENT_PID:+$(hwm_kb "$CLIENT_PID")}"
        echo "server_hwm_kb=${SERVER_PID:+$(hwm_kb "$SERVER_PID")}"
        echo "app_hwm_kb=$(hwm_kb "$APP_PID")"
        if [[ $name == weft-split ]]; then split_shares; fi
    } >"$R/meta.env"
}

run_setup() {
    local name=$1 R="$W/results/$1" attempt f earlier=() e2e
    for attempt in 1 2; do
        rm -rf "$R"
        mkdir -p "$R"
        log "$name: starting${earlier:+ (attempt $attempt)}"
        FAIL="" TARGET_PORT="" CLIENT_PID="" SERVER_PID="" APP_PID="" CLIENT_ADMIN=""
        e2e=()
        [[ $name == h2c-* ]] && e2e=(--http2-prior-knowledge)
        if "setup_${name//-/_}" && check_e2e "$TARGET_PORT" "${e2e[@]}" &&
            { sleep 0.3; check_alive "after the end-to-end check (one curl request, connection then closed)"; } &&
            measure "$name"; then
            FAIL=""
        else
            log "$name: FAILED: $FAIL"
        fi
        stop_setup
        # keep the logs of this setup's processes next to its results
        for f in "$W"/*.out "$W"/*.err "$W"/*-error.log; do
            [[ -e $f ]] && mv "$f" "$R/"
        done
        [[ -z $FAIL ]] && break
        earlier+=("attempt $attempt failed: ${FAIL//$'\n'/ }")
        # a missing binary or a broken config does not get better by retrying
        [[ $FAIL == *"not found"* || $FAIL == *"config check failed"* ]] && break
    done
    if [[ -n $FAIL ]]; then
        printf 'status=failed\nreason=%s\n' "${FAIL//$'\n'/ }" >"$R/meta.env"
        ((${#earlier[@]} > 1)) && printf 'note=%s\n' "${earlier[0]}" >>"$R/meta.env"
    else
        for f in "${earlier[@]}"; do printf 'note=%s (retried)\n' "$f" >>"$R/meta.env"; done
    fi
}

# --- certificates and app body -------------------------------------------
[[ -x $MAKE_CERTS ]] || die "certificate script not found: $MAKE_CERTS"
CERTS="$W/certs"
"$MAKE_CERTS" "$CERTS" >"$W/make-certs.log" 2>&1 || die "$MAKE_CERTS failed: $(tail -n 5 "$W/make-certs.log")"
for f in ca.pem web.pem web-key.pem backend.pem backend-key.pem; do
    [[ -s $CERTS/$f ]] || die "$MAKE_CERTS did not create $f"
done
# The nginx/haproxy configs check the peer's subject CN (see the templates).
for n in web backend; do
    openssl x509 -in "$CERTS/$n.pem" -noout -subject -nameopt RFC2253 | grep -q "CN=$n\.default" ||
        log "warning: $n.pem subject is not CN=$n.default; the nginx/haproxy identity checks will fail"
done

BODY=$(python3 -c 'import string; s=(string.ascii_letters+string.digits)*20; print(s[:1023], end="")')
printf '%s\n' "$BODY" >"$W/app.body"   # 1024 bytes, as the app returns it

{
    echo "date=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "duration=$DURATION"
    echo "quick=$QUICK"
    echo "cpus=$(nproc)"
    echo "loadavg_start=$(cut -d' ' -f1-3 /proc/loadavg)"
    echo "kernel=$(uname -r)"
    echo "h2load=$(h2load --version 2>&1 | head -n 1)"
    echo "nginx=$(nginx -v 2>&1 | sed 's/^nginx version: //')"
    echo "haproxy=$(haproxy -v 2>&1 | head -n 1 | awk '{print $3}')"
    echo "weft=$WEFT"
    echo "setups=${SETUP_LIST[*]}"
    echo "rate_clients=$RATE_CLIENTS"
    echo "full_clients=$FULL_CLIENTS"
    echo "h2c_clients=$H2C_CLIENTS"
    echo "h2c_streams=$H2C_STREAMS"
} >"$W/results/run.env"

log "work directory: $W (duration ${DURATION}s per phase, $ROUNDS round(s))"
if ((ROUNDS == 1)); then
    for s in "${SETUP_LIST[@]}"; do
        run_setup "$s"
    done
else
    # run_setup writes to $W/results/<setup>; each round's results move to round<k>/
    mv "$W/results/run.env" "$W/run.env"
    for ((round = 1; round <= ROUNDS; round++)); do
        order=("${SETUP_LIST[@]}")
        if ((round % 2 == 0)); then
            order=()
            for ((i = ${#SETUP_LIST[@]} - 1; i >= 0; i--)); do order+=("${SETUP_LIST[i]}"); done
        fi
        log "round $round of $ROUNDS: ${order[*]}"
        for s in "${order[@]}"; do
            run_setup "$s"
        done
        mkdir -p "$W/results/round$round"
        cp "$W/run.env" "$W/results/round$round/run.env"
        for s in "${SETUP_LIST[@]}"; do
            mv "$W/results/$s" "$W/results/round$round/"
        done
    done
fi

report_args=("$W/results")
[[ -n $OUT ]] && report_args+=(--out "$OUT")
python3 "$BENCH_DIR/report.py" "${report_args[@]}"
