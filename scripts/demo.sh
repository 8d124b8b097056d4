#!/usr/bin/env bash
# The local mesh demo: installs dependencies, builds weft-proxy, and runs on loopback
#   curl (app "web") -> weft-proxy web -> mTLS -> weft-proxy backend v1 -> nginx (backend v1)
#                                          \-> mTLS -> weft-proxy backend v2 -> nginx (backend v2)
# then prints responses, the identity the backend app was told about, a 90/10 canary split, a
# header-pinned tester, a weight shift by SIGHUP, and golden metrics.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/install-deps.sh"
"$root/scripts/build.sh" "$root/build"
proxy="$root/build/proxy/weft-proxy"

work=$(mktemp -d /tmp/weft-demo.XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT

# Eleven distinct free ports below the kernel's ephemeral range, so that no outgoing connection
# (a health check, a sidecar's upstream) can hold one of them as its local port before its
# listener binds it (a port picked by binding 0 can be: "Address already in use").
read -r APP B_OUT B_IN B_ADMIN W_OUT W_IN W_ADMIN APP2 B2_OUT B2_IN B2_ADMIN < <(/usr/bin/python3 -c '
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
    if len(picked) == 11:
        break
print(*picked)
')

echo "== certificates (a throwaway mesh CA) in $work/certs"
"$root/tests/certs/make-certs.sh" "$work/certs" >/dev/null

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

# The mesh: Service backend with subsets v1/v2, an HTTPRoute (canary header -> v2, else a
# weighted split), and a DestinationPolicy. write_mesh V1_WEIGHT V2_WEIGHT
write_mesh() {
  cat >"$work/mesh.yaml" <<YAML
apiVersion: weft.dev/v1alpha1
kind: Service
metadata: {name: backend, namespace: default}
spec:
  port: 8080
  subsets:
    - {name: v1, labels: {version: v1}}
    - {name: v2, labels: {version: v2}}
  endpoints:
    - {address: 127.0.0.1:$B_IN, identity: spiffe://cluster.local/ns/default/sa/backend, labels: {version: v1}}
    - {address: 127.0.0.1:$B2_IN, identity: spiffe://cluster.local/ns/default/sa/backend, labels: {version: v2}}
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
        - {name: backend, subset: v1, weight: $1}
        - {name: backend, subset: v2, weight: $2}
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
}
write_mesh 90 10

common=(--namespace default --trust-bundle "$work/certs/ca.pem" --trust-domain cluster.local
        --config "$work/mesh.yaml" --workers 1)
"$proxy" --service backend --service-account backend --labels version=v1 \
  --outbound 127.0.0.1:$B_OUT --inbound 127.0.0.1:$B_IN --admin 127.0.0.1:$B_ADMIN \
  --app 127.0.0.1:$APP --app-protocol http1 \
  --cert "$work/certs/backend.pem" --key "$work/certs/backend-key.pem" \
  "${common[@]}" 2>"$work/backend-proxy.log" &
pids+=($!)
"$proxy" --service backend --service-account backend --labels version=v2 \
  --outbound 127.0.0.1:$B2_OUT --inbound 127.0.0.1:$B2_IN --admin 127.0.0.1:$B2_ADMIN \
  --app 127.0.0.1:$APP2 --app-protocol http1 \
  --cert "$work/certs/backend.pem" --key "$work/certs/backend-key.pem" \
  "${common[@]}" 2>"$work/backend-v2-proxy.log" &
pids+=($!)
"$proxy" --service web --service-account web --labels version=v1 \
  --outbound 127.0.0.1:$W_OUT --inbound 127.0.0.1:$W_IN --admin 127.0.0.1:$W_ADMIN \
  --app 127.0.0.1:1 --cert "$work/certs/web.pem" --key "$work/certs/web-key.pem" \
  "${common[@]}" 2>"$work/web-proxy.log" &
pids+=($!)

for admin in $B_ADMIN $B2_ADMIN $W_ADMIN; do
  for _ in $(seq 100); do curl -sf "http://127.0.0.1:$admin/ready" >/dev/null && break; sleep 0.1; done
  curl -sf "http://127.0.0.1:$admin/ready" >/dev/null || { cat "$work"/*-proxy.log; exit 1; }
done
echo "== sidecars ready (web outbound 127.0.0.1:$W_OUT, backend inbound mTLS 127.0.0.1:$B_IN)"

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
echo "== shift all traffic to v2: rewrite the weights, SIGHUP the web sidecar"
write_mesh 0 100
kill -HUP "${pids[3]}"
for _ in $(seq 50); do
  curl -sS "http://127.0.0.1:$W_ADMIN/metrics" | grep -q '^weft_config_version 2' && break
  sleep 0.1
done
tally

echo
echo "== web sidecar /metrics (outbound golden metrics)"
curl -sS "http://127.0.0.1:$W_ADMIN/metrics" |
  grep -E '^(request_total|response_total|tcp_open_connections|identity_cert_expiration)' | head -10
echo "== connections the web sidecar opened to the backends: one HTTP/2 connection per sidecar"
curl -sS "http://127.0.0.1:$W_ADMIN/metrics" | grep -E '^tcp_open_total\{direction="outbound",peer="dst"' 
echo "== backend sidecar /metrics (inbound)"
curl -sS "http://127.0.0.1:$B_ADMIN/metrics" | grep -E '^(request_total|response_total)' | head -4

echo
echo "== SIGTERM: the sidecars drain and exit"
kill -TERM "${pids[3]}" "${pids[2]}" "${pids[1]}"
wait "${pids[3]}" "${pids[2]}" "${pids[1]}" && echo "the three sidecars exited 0"
tail -n 2 "$work/web-proxy.log"
