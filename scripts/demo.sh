#!/usr/bin/env bash
# The local mesh demo: installs dependencies, builds weft-proxy, and runs on loopback
#   curl (app "web") -> weft-proxy web -> mTLS -> weft-proxy backend -> nginx (app "backend")
# then prints the response, the identity the backend app was told about, and golden metrics.
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

port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
APP=$(port); B_OUT=$(port); B_IN=$(port); B_ADMIN=$(port); W_OUT=$(port); W_IN=$(port); W_ADMIN=$(port)

echo "== certificates (a throwaway mesh CA) in $work/certs"
"$root/tests/certs/make-certs.sh" "$work/certs" >/dev/null

echo "== backend app: nginx on 127.0.0.1:$APP"
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
    location / { return 200 "hello from backend; caller identity: \$http_x_weft_peer_identity\n"; }
  }
}
CONF
nginx -c "$work/nginx.conf" -p "$work" -e "$work/nginx-error.log" &
pids+=($!)

cat >"$work/mesh.yaml" <<YAML
apiVersion: weft.dev/v1alpha1
kind: Service
metadata: {name: backend, namespace: default}
spec:
  port: 8080
  endpoints:
    - address: 127.0.0.1:$B_IN
      identity: spiffe://cluster.local/ns/default/sa/backend
      labels: {version: v1}
YAML

common=(--namespace default --trust-bundle "$work/certs/ca.pem" --trust-domain cluster.local
        --config "$work/mesh.yaml" --workers 1)
"$proxy" --service backend --service-account backend --labels version=v1 \
  --outbound 127.0.0.1:$B_OUT --inbound 127.0.0.1:$B_IN --admin 127.0.0.1:$B_ADMIN \
  --app 127.0.0.1:$APP --cert "$work/certs/backend.pem" --key "$work/certs/backend-key.pem" \
  "${common[@]}" 2>"$work/backend-proxy.log" &
pids+=($!)
"$proxy" --service web --service-account web --labels version=v1 \
  --outbound 127.0.0.1:$W_OUT --inbound 127.0.0.1:$W_IN --admin 127.0.0.1:$W_ADMIN \
  --app 127.0.0.1:1 --cert "$work/certs/web.pem" --key "$work/certs/web-key.pem" \
  "${common[@]}" 2>"$work/web-proxy.log" &
pids+=($!)

for admin in $B_ADMIN $W_ADMIN; do
  for _ in $(seq 100); do curl -sf "http://127.0.0.1:$admin/ready" >/dev/null && break; sleep 0.1; done
  curl -sf "http://127.0.0.1:$admin/ready" >/dev/null || { cat "$work"/*-proxy.log; exit 1; }
done
echo "== sidecars ready (web outbound 127.0.0.1:$W_OUT, backend inbound mTLS 127.0.0.1:$B_IN)"

echo
echo "\$ curl -H 'Host: backend' http://127.0.0.1:$W_OUT/"
curl -sS -H 'Host: backend' "http://127.0.0.1:$W_OUT/"
echo "\$ http_proxy=http://127.0.0.1:$W_OUT curl http://backend.default.svc.cluster.local:8080/"
http_proxy=http://127.0.0.1:$W_OUT curl -sS http://backend.default.svc.cluster.local:8080/
echo "\$ curl -i -H 'Host: nosuch' http://127.0.0.1:$W_OUT/   # a proxy-generated error says why"
curl -sS -i -H 'Host: nosuch' "http://127.0.0.1:$W_OUT/" | grep -iE '^(HTTP|x-weft-error)'

echo
echo "== web sidecar /metrics (outbound golden metrics)"
curl -sS "http://127.0.0.1:$W_ADMIN/metrics" |
  grep -E '^(request_total|response_total|tcp_open_connections|identity_cert_expiration)' | head -8
echo "== backend sidecar /metrics (inbound)"
curl -sS "http://127.0.0.1:$B_ADMIN/metrics" | grep -E '^(request_total|response_total)' | head -4

echo
echo "== SIGTERM: the sidecars drain and exit"
kill -TERM "${pids[2]}" "${pids[1]}"
wait "${pids[2]}" "${pids[1]}" && echo "both sidecars exited 0"
tail -n 2 "$work/web-proxy.log"
