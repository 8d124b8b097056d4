#!/usr/bin/env bash
# The local mesh demo: installs dependencies, builds Weft, and runs on loopback
#   weft-control (the CA, the policy store, push) <- weftctl
#   curl (app "web") -> weft-proxy web -> mTLS -> weft-proxy backend v1 -> nginx (backend v1)
#                                          \-> mTLS -> weft-proxy backend v2 -> nginx (backend v2)
# The proxies start from join tokens alone: weft-control issues their certificates, registers
# them as endpoints and pushes them the policy applied with weftctl. Then it prints responses,
# the identity the backend app was told about, a 90/10 canary split, a header-pinned tester, a
# canary shift with `weftctl split`, the proxies' sync state and golden metrics.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/install-deps.sh"
"$root/scripts/build.sh" "$root/build"
proxy="$root/build/proxy/weft-proxy"
control="$root/build/control/weft-control"
weftctl="$root/build/control/weftctl"

work=$(mktemp -d /tmp/weft-demo.XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT

# Fourteen distinct free ports below the kernel's ephemeral range, so that no outgoing connection
# (a health check, a sidecar's upstream) can hold one of them as its local port before its
# listener binds it (a port picked by binding 0 can be: "Address already in use").
read -r APP B_OUT B_IN B_ADMIN W_OUT W_IN W_ADMIN APP2 B2_OUT B2_IN B2_ADMIN C_LISTEN C_API C_ADMIN < <(/usr/bin/python3 -c '
import random, socket
low = int(open("/proc/sys/net/ipv4/ip_local_port_range").read().split()[0])
picked = []
for port in random.sample(range(10000, low), 2000):
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            continue
    picked.append(port)
    if len(picked) == 14:
        break
print(*picked)
')

echo "== weft-control: the mesh CA, the policy store and push (data in $work/control)"
"$control" --data-dir "$work/control" --trust-domain cluster.local --listen 127.0.0.1:$C_LISTEN \
  --api 127.0.0.1:$C_API --admin 127.0.0.1:$C_ADMIN --registration-ttl 10s \
  2>"$work/control.log" &
pids+=($!)
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$C_ADMIN/ready" >/dev/null && break; sleep 0.1; done
curl -sf "http://127.0.0.1:$C_ADMIN/ready" >/dev/null || { cat "$work/control.log"; exit 1; }
ctl() { "$weftctl" --server "http://127.0.0.1:$C_API" --data-dir "$work/control" "$@"; }
ctl ca bundle >"$work/ca.pem"
for sa in backend web; do
  ctl token create --namespace default --service-account $sa --ttl 1h >"$work/$sa.token" 2>/dev/null
done

echo "== backend apps: nginx on 127.0.0.1:$APP (v1) and 127.0.0.1:$APP2 (v2)"
mkdir -p "$work/www"
cat >"$work/nginx.conf" <<CONF
daemon off; master_process off; worker_processes 1;
pid $work/nginx.pid; error_log $work/nginx-error.log;
events {}
http {
  access_log off;
  client_body_temp_path $work; proxy_temp_path $work; fastcgi_temp_path $work;
  uwsgi_temp_path $work; scgi_temp_path $work;
  server {
    listen 127.0.0.1:$APP;
    location / { return 200 "hello from backend v1; caller identity: \$http_x_weft_peer_identity\n"; }
  }
  server {
    listen 127.0.0.1:$APP2;
    location / { return 200 "hello from backend v2; caller identity: \$http_x_weft_peer_identity\n"; }
  }
}
CONF
nginx -c "$work/nginx.conf" -p "$work" -e "$work/nginx-error.log" &
pids+=($!)

# The mesh: Service backend with subsets v1/v2 (its endpoints are the proxies that register
# with weft-control), an HTTPRoute (canary header -> v2, else a 90/10 split), and a
# DestinationPolicy.
cat >"$work/mesh.yaml" <<YAML
apiVersion: weft.dev/v1alpha1
kind: Service
metadata: {name: backend, namespace: default}
spec:
  port: 8080
  subsets:
    - {name: v1, labels: {version: v1}}
    - {name: v2, labels: {version: v2}}
---
apiVersion: weft.dev/v1alpha1
kind: HTTPRoute
metadata: {name: backend, namespace: default}
spec:
  parentRefs: [{name: backend}]
  rules:
    - matches: [{headers: [{name: canary, value: "true"}]}]
      backendRefs: [{name: backend, subset: v2}]
    - backendRefs:
        - {name: backend, subset: v1, weight: 90}
        - {name: backend, subset: v2, weight: 10}
      timeouts: {request: 5s}
      retry: {attempts: 2, on: [connect-failure, "503"]}
---
apiVersion: weft.dev/v1alpha1
kind: DestinationPolicy
metadata: {name: backend, namespace: default}
spec:
  targetRef: {name: backend}
  loadBalancer: least_request
YAML
echo "\$ weftctl apply -f mesh.yaml"
ctl apply -f "$work/mesh.yaml"

# No --config: routing comes from weft-control's pushes. No --cert/--key: a join token.
common=(--namespace default --trust-bundle "$work/ca.pem" --trust-domain cluster.local
        --control "https://127.0.0.1:$C_LISTEN" --workers 1)
"$proxy" --service backend --service-account backend --labels version=v1 \
  --outbound 127.0.0.1:$B_OUT --inbound 127.0.0.1:$B_IN --admin 127.0.0.1:$B_ADMIN \
  --app 127.0.0.1:$APP --app-protocol http1 \
  --token-file "$work/backend.token" --cache-dir "$work/cache-b1" \
  "${common[@]}" 2>"$work/backend-proxy.log" &
pids+=($!)
"$proxy" --service backend --service-account backend --labels version=v2 \
  --outbound 127.0.0.1:$B2_OUT --inbound 127.0.0.1:$B2_IN --admin 127.0.0.1:$B2_ADMIN \
  --app 127.0.0.1:$APP2 --app-protocol http1 \
  --token-file "$work/backend.token" --cache-dir "$work/cache-b2" \
  "${common[@]}" 2>"$work/backend-v2-proxy.log" &
pids+=($!)
"$proxy" --service web --service-account web --labels version=v1 \
  --outbound 127.0.0.1:$W_OUT --inbound 127.0.0.1:$W_IN --admin 127.0.0.1:$W_ADMIN \
  --app 127.0.0.1:1 --token-file "$work/web.token" --cache-dir "$work/cache-web" \
  "${common[@]}" 2>"$work/web-proxy.log" &
pids+=($!)

for admin in $B_ADMIN $B2_ADMIN $W_ADMIN; do
  for _ in $(seq 100); do curl -sf "http://127.0.0.1:$admin/ready" >/dev/null && break; sleep 0.1; done
  curl -sf "http://127.0.0.1:$admin/ready" >/dev/null || { cat "$work"/*-proxy.log; exit 1; }
done
# Both backends registered and every proxy runs the latest config.
synced() {
  ctl proxies -o json | /usr/bin/python3 -c '
import json, sys
d = json.load(sys.stdin)
ps = d["proxies"]
sys.exit(0 if len(ps) == 3 and all(p["status"] == "SYNCED" and p["version"] == d["version"] for p in ps) else 1)'
}
for _ in $(seq 100); do synced && break; sleep 0.1; done
echo "== sidecars ready with certificates from weft-control (web outbound 127.0.0.1:$W_OUT)"
echo "\$ weftctl proxies"
ctl proxies

echo
echo "\$ curl -H 'Host: backend' http://127.0.0.1:$W_OUT/"
curl -sS -H 'Host: backend' "http://127.0.0.1:$W_OUT/"
echo "\$ http_proxy=http://127.0.0.1:$W_OUT curl http://backend.default.svc.cluster.local:8080/"
http_proxy=http://127.0.0.1:$W_OUT curl -sS http://backend.default.svc.cluster.local:8080/
echo "\$ curl --http2-prior-knowledge -H 'Host: backend' http://127.0.0.1:$W_OUT/   # h2c in, HTTP/1.1 at nginx"
curl -sS --http2-prior-knowledge -H 'Host: backend' "http://127.0.0.1:$W_OUT/"
echo "\$ curl -i -H 'Host: nosuch' http://127.0.0.1:$W_OUT/   # a proxy-generated error says why"
curl -sS -i -H 'Host: nosuch' "http://127.0.0.1:$W_OUT/" | grep -iE '^(HTTP|x-weft-error)'

# 200 requests on one keep-alive connection; prints how many each version answered.
tally() {
  local urls=()
  for _ in $(seq 200); do urls+=("http://127.0.0.1:$W_OUT/"); done
  curl -sS -H 'Host: backend' "$@" "${urls[@]}" | grep -o 'backend v[12]' | sort | uniq -c
}
echo
echo "== canary: 200 requests split 90/10 by the HTTPRoute"
tally
echo "== a tester pinned by 'canary: true' always reaches v2"
tally -H 'canary: true'
echo "== shift all traffic to v2 (weft-control pushes it to every proxy; each ACKs)"
echo "\$ weftctl split backend v1=0 v2=100"
ctl split backend v1=0 v2=100
for _ in $(seq 100); do synced && break; sleep 0.05; done
tally
echo "\$ weftctl get routes"
ctl get routes

echo
echo "== web sidecar /metrics (outbound golden metrics)"
curl -sS "http://127.0.0.1:$W_ADMIN/metrics" |
  grep -E '^(request_total|response_total|tcp_open_connections|identity_cert_expiration)' | head -10
echo "== connections the web sidecar opened to the backends: one HTTP/2 connection per sidecar"
curl -sS "http://127.0.0.1:$W_ADMIN/metrics" | grep -E '^tcp_open_total\{direction="outbound",peer="dst"' 
echo "== backend sidecar /metrics (inbound)"
curl -sS "http://127.0.0.1:$B_ADMIN/metrics" | grep -E '^(request_total|response_total)' | head -4

echo
echo "== weft-control /metrics (push)"
curl -sS "http://127.0.0.1:$C_ADMIN/metrics" |
  grep -E '^(control_connected_proxies|control_pushes_total|control_push_acks_total|control_push_nacks_total|control_apply_total)'

echo
echo "== SIGTERM: the sidecars drain and exit"
kill -TERM "${pids[4]}" "${pids[3]}" "${pids[2]}"
wait "${pids[4]}" "${pids[3]}" "${pids[2]}" && echo "the three sidecars exited 0"
tail -n 2 "$work/web-proxy.log"
