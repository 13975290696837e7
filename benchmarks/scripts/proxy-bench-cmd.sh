#!/usr/bin/env bash
# The --proxy-cmd for benchmarks/scripts/proxy-bench: writes an Envoy bootstrap that listens on
# 127.0.0.1:$PROXY_PORT (h2c with prior knowledge too: codec AUTO) and forwards to 127.0.0.1:$BACKEND_PORT
# over HTTP/1.1 keep-alive, then execs `jmesh proxy` in the foreground on one worker thread.
#
#   benchmarks/scripts/proxy-bench --warmup 20 --repeat 3 --proxy-name jmesh \
#     --proxy-cmd 'exec benchmarks/scripts/proxy-bench-cmd.sh'
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cfg="${PB_WORKDIR:-/tmp}/jmesh-bench.yaml"
cat > "$cfg" <<YAML
static_resources:
  listeners:
  - name: bench
    address: { socket_address: { address: 127.0.0.1, port_value: ${PROXY_PORT} } }
    filter_chains:
    - filters:
      - name: envoy.filters.network.http_connection_manager
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
          stat_prefix: bench
          generate_request_id: false
          route_config:
            virtual_hosts:
            - name: all
              domains: ["*"]
              routes:
              - match: { prefix: / }
                route: { cluster: backend }
          http_filters:
          - name: envoy.filters.http.router
            typed_config:
              "@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router
  clusters:
  - name: backend
    connect_timeout: 1s
    type: STATIC
    load_assignment:
      cluster_name: backend
      endpoints:
      - lb_endpoints:
        - endpoint: { address: { socket_address: { address: 127.0.0.1, port_value: ${BACKEND_PORT} } } }
YAML
exec "$here/benchmarks/scripts/jmesh-proxy-exec.sh" "$cfg"
