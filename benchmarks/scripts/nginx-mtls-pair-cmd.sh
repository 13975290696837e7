#!/usr/bin/env bash
# The reference for mtls-pair-cmd.sh: the same two hops in one nginx process (one worker), with mutual TLS
# between them (same certificates, client certificate required and verified by the server side, TLS sessions reused, upstream
# keep-alive). nginx OSS has no JWT or RBAC filter, so this row is "mTLS only".
#
#   benchmarks/scripts/proxy-bench --warmup 20 --repeat 3 --proxy-name nginx-pair-mtls \
#     --proxy-cmd 'exec benchmarks/scripts/nginx-mtls-pair-cmd.sh'
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
work="${PB_WORKDIR:-$(mktemp -d)}/nginx-mtls-pair"
mkdir -p "$work"
inbound_port="${PB_INBOUND_PORT:-$((PROXY_PORT + 1))}"
"$here/benchmarks/scripts/mesh-certs.sh" "$work" >/dev/null
cat > "$work/nginx.conf" <<CONF
worker_processes 1;
pid $work/nginx.pid;
error_log $work/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  upstream inbound { server 127.0.0.1:$inbound_port; keepalive 256; }
  upstream backend { server 127.0.0.1:$BACKEND_PORT; keepalive 256; }
  server {
    listen 127.0.0.1:$PROXY_PORT;
    location / {
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_pass https://inbound;
      proxy_ssl_certificate $work/client.pem;
      proxy_ssl_certificate_key $work/client-key.pem;
      # nginx checks a DNS name when it verifies, and SPIFFE certificates carry only a URI SAN: the client side
      # does not verify the server's chain (handshakes are rare with keep-alive; the server side verifies).
      proxy_ssl_verify off;
      proxy_ssl_session_reuse on;
    }
  }
  server {
    listen 127.0.0.1:$inbound_port ssl;
    ssl_certificate $work/server.pem;
    ssl_certificate_key $work/server-key.pem;
    ssl_client_certificate $work/root.pem;
    ssl_verify_client on;
    location / {
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_pass http://backend;
    }
  }
}
CONF
exec nginx -c "$work/nginx.conf" -g 'daemon off;'
