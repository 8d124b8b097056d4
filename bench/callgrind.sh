#!/usr/bin/env bash
# bench/callgrind.sh -- user-space instructions per proxied request, with valgrind callgrind.
#
# Starts the app (nginx, 1 KiB body) and a weft sidecar pair like bench/run.sh, both proxies
# under callgrind. After a warm-up the counters are zeroed, N keep-alive requests go through
# one connection (h2load --h1 -c 1), and the counters are dumped: Ir / N is the deterministic
# per-request cost of each proxy (client side: plain in, mTLS out; server side: mTLS in, plain
# out). Deterministic to within a fraction of a percent, unlike wall-clock numbers on a shared VM.
#
# Usage: bench/callgrind.sh [-n N] [--weft PATH] [--keep]
#   -n N         requests measured (default 2000)
#   --weft PATH  weft-proxy binary (default build/proxy/weft-proxy)
#   --keep       keep the work directory (callgrind.out.* for callgrind_annotate)
set -uo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$BENCH_DIR/.." && pwd)
N=2000
WEFT=$REPO/build/proxy/weft-proxy
KEEP=0
while (($#)); do
    case $1 in
        -n) N=$2; shift 2 ;;
        --weft) WEFT=$2; shift 2 ;;
        --keep) KEEP=1; shift ;;
        -h|--help) sed -n '2,/^set -uo/{/^set -uo/d;s/^# \{0,1\}//;p}' "$0"; exit 0 ;;
        *) echo "unknown argument: $1" >&2; exit 2 ;;
    esac
done

W=$(mktemp -d /tmp/weft-cg.XXXXXX)
PIDS=()
cleanup() {
    local p
    for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null; done
    for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
    if ((KEEP)); then echo "work directory kept: $W" >&2; else rm -rf "$W"; fi
}
trap cleanup EXIT

read -ra P <<<"$(python3 -c '
import socket
s = [socket.socket() for _ in range(8)]
for x in s: x.bind(("127.0.0.1", 0))
print(" ".join(str(x.getsockname()[1]) for x in s))')"
APP=${P[0]} S_OUT=${P[1]} S_IN=${P[2]} S_ADMIN=${P[3]} C_OUT=${P[4]} C_IN=${P[5]} C_ADMIN=${P[6]} C_APP=${P[7]}

"$REPO/tests/certs/make-certs.sh" "$W/certs" >/dev/null 2>&1 || { echo "make-certs failed" >&2; exit 1; }
mkdir -p "$W/tmp"
BODY=$(python3 -c 'import string; s=(string.ascii_letters+string.digits)*20; print(s[:1023], end="")')
sed -e "s|@DIR@|$W|g" -e "s|@APP_PORT@|$APP|g" -e "s|@BODY@|$BODY|g" \
    "$BENCH_DIR/nginx-app.conf.tmpl" >"$W/app.conf"
sed -e "s|@IN_PORT@|$S_IN|g" "$BENCH_DIR/mesh.yaml.tmpl" >"$W/mesh.yaml"

nginx -p "$W" -c "$W/app.conf" -e "$W/app-error.log" >"$W/app.out" 2>&1 &
PIDS+=($!)
CG=(valgrind --tool=callgrind --collect-atstart=yes --compress-strings=no --compress-pos=no)
"${CG[@]}" --callgrind-out-file="$W/callgrind.out.server" "$WEFT" --service backend \
    --namespace default --service-account backend --outbound "127.0.0.1:$S_OUT" \
    --inbound "127.0.0.1:$S_IN" --admin "127.0.0.1:$S_ADMIN" --app "127.0.0.1:$APP" \
    --cert "$W/certs/backend.pem" --key "$W/certs/backend-key.pem" --trust-bundle "$W/certs/ca.pem" \
    --trust-domain cluster.local --config "$W/mesh.yaml" --workers 1 >"$W/server.out" 2>&1 &
SERVER=$!
PIDS+=($SERVER)
"${CG[@]}" --callgrind-out-file="$W/callgrind.out.client" "$WEFT" --service web \
    --namespace default --service-account web --outbound "127.0.0.1:$C_OUT" \
    --inbound "127.0.0.1:$C_IN" --admin "127.0.0.1:$C_ADMIN" --app "127.0.0.1:$C_APP" \
    --cert "$W/certs/web.pem" --key "$W/certs/web-key.pem" --trust-bundle "$W/certs/ca.pem" \
    --trust-domain cluster.local --config "$W/mesh.yaml" --workers 1 >"$W/client.out" 2>&1 &
CLIENT=$!
PIDS+=($CLIENT)

for port in $S_ADMIN $C_ADMIN; do
    for ((i = 0; i < 300; i++)); do
        curl -sf -m 2 -o /dev/null "http://127.0.0.1:$port/ready" && break
        sleep 0.2
    done
done
URL="http://127.0.0.1:$C_OUT/"
H2=(h2load --h1 -H ':authority: backend' -c 1)
timeout 120 "${H2[@]}" -n 200 "$URL" >"$W/warmup.txt" 2>&1 || { echo "warm-up failed" >&2; cat "$W/warmup.txt" >&2; exit 1; }

measure() { # N -> prints "client_ir server_ir" for N requests
    callgrind_control -z "$CLIENT" >/dev/null 2>&1
    callgrind_control -z "$SERVER" >/dev/null 2>&1
    timeout 600 "${H2[@]}" -n "$1" "$URL" >"$W/run-$1.txt" 2>&1
    grep -q " 0 failed, 0 errored" "$W/run-$1.txt" || grep "requests:" "$W/run-$1.txt" >&2
    callgrind_control -d "run$1" "$CLIENT" >/dev/null 2>&1
    callgrind_control -d "run$1" "$SERVER" >/dev/null 2>&1
    sleep 1
    local c s
    c=$(ls -t "$W"/callgrind.out.client.* | head -1)
    s=$(ls -t "$W"/callgrind.out.server.* | head -1)
    echo "$(awk '/^summary:|^totals:/{print $2; exit}' "$c") $(awk '/^summary:|^totals:/{print $2; exit}' "$s")"
}
read -r c0 s0 <<<"$(measure 1)"   # connection set-up and the first request
read -r c1 s1 <<<"$(measure "$N")"
echo "N=$N  client-side: $(((c1 - c0) / (N - 1))) Ir/request  server-side: $(((s1 - s0) / (N - 1))) Ir/request"
echo "      (raw: client $c0 / $c1, server $s0 / $s1)"
ls -t "$W"/callgrind.out.client.* | head -1 >"$W/client-profile"
ls -t "$W"/callgrind.out.server.* | head -1 >"$W/server-profile"
