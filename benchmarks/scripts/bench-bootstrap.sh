#!/usr/bin/env bash
# Prints the static bootstrap of the HTTP benchmarks: one listener on 127.0.0.1:LISTEN_PORT (codec AUTO: h2c with
# prior knowledge too, no request ids) routing everything to 127.0.0.1:BACKEND_PORT over HTTP/1.1 keep-alive; the
# admin interface on 127.0.0.1:ADMIN_PORT when given.
#
#   benchmarks/scripts/bench-bootstrap.sh LISTEN_PORT BACKEND_PORT [ADMIN_PORT] > bootstrap.yaml
set -euo pipefail
if [[ $# -lt 2 ]]; then
  echo "usage: $0 LISTEN_PORT BACKEND_PORT [ADMIN_PORT]" >&2
  exit 2
fi
if [[ -n ${3:-} ]]; then
  printf 'admin:\n  address: { socket_address: { address: 127.0.0.1, port_value: %s } }\n' "$3"
fi
cat <<YAML
static_resources:
  listeners:
  - name: bench
    address: { socket_address: { address: 127.0.0.1, port_value: $1 } }
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
        - endpoint: { address: { socket_address: { address: 127.0.0.1, port_value: $2 } } }
YAML
