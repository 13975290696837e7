#!/usr/bin/env bash
# The --proxy-cmd for benchmarks/scripts/proxy-bench that runs a *sidecar pair* in one jmesh process (one worker):
#
#   client -> 127.0.0.1:$PROXY_PORT  "outbound" listener (plaintext in, as from the app)
#          -> mutual TLS (SPIFFE certificates, the peer's URI SAN checked, ALPN istio)
#          -> 127.0.0.1:$PB_INBOUND_PORT "inbound" listener: TLS required with a client certificate,
#             envoy.filters.http.jwt_authn (RS256, local JWKS), envoy.filters.http.rbac (ALLOW the client's
#             principal on GET /*, and a valid JWT), router
#          -> 127.0.0.1:$BACKEND_PORT (HTTP/1.1 keep-alive)
#
# The outbound route adds the JWT to every request, as the calling app would. PAIR_MODE=plain runs the same two
# hops in plaintext with the router only (the baseline of the issue's "within 1.5x" goal); PAIR_MODE=mtls-only keeps
# mutual TLS and drops both policy filters, PAIR_MODE=mtls-rbac drops only jwt_authn (to see what each costs);
# PAIR_MODE=mtls-nocache is PAIR_MODE=mtls without the provider's jwt_cache_config (every token verified again).
#
#   benchmarks/scripts/proxy-bench --warmup 20 --repeat 3 --proxy-name jmesh-pair-mtls \
#     --proxy-cmd 'exec benchmarks/scripts/mtls-pair-cmd.sh'
#   benchmarks/scripts/proxy-bench --warmup 20 --repeat 3 --proxy-name jmesh-pair-plain \
#     --proxy-cmd 'PAIR_MODE=plain exec benchmarks/scripts/mtls-pair-cmd.sh'
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
work="${PB_WORKDIR:-$(mktemp -d)}/mtls-pair"
mkdir -p "$work"
mode="${PAIR_MODE:-mtls}"
inbound_port="${PB_INBOUND_PORT:-$((PROXY_PORT + 1))}"
"$here/benchmarks/scripts/mesh-certs.sh" "$work" >/dev/null

b64url() { base64 -w0 | tr '+/' '-_' | tr -d '='; }
n=$(openssl rsa -in "$work/jwt-key.pem" -noout -modulus | cut -d= -f2 | xxd -r -p | b64url)
jwks="{\"keys\":[{\"kty\":\"RSA\",\"alg\":\"RS256\",\"use\":\"sig\",\"kid\":\"bench\",\"n\":\"$n\",\"e\":\"AQAB\"}]}"
header=$(printf '{"alg":"RS256","kid":"bench","typ":"JWT"}' | b64url)
payload=$(printf '{"iss":"bench@jmesh.io","sub":"user-1","aud":"bench","exp":4102444800}' | b64url)
sig=$(printf '%s.%s' "$header" "$payload" | openssl dgst -sha256 -sign "$work/jwt-key.pem" | b64url)
token="$header.$payload.$sig"

if [[ "$mode" == mtls* ]]; then
  upstream_tls=$(cat <<YAML
    transport_socket:
      name: envoy.transport_sockets.tls
      typed_config:
        "@type": type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext
        common_tls_context:
          alpn_protocols: [istio]
          tls_certificates: [{ certificate_chain: { filename: "$work/client.pem" }, private_key: { filename: "$work/client-key.pem" } }]
          validation_context:
            trusted_ca: { filename: "$work/root.pem" }
            match_typed_subject_alt_names: [{ san_type: URI, matcher: { exact: "spiffe://cluster.local/ns/default/sa/server" } }]
YAML
)
  downstream_tls=$(cat <<YAML
      transport_socket:
        name: envoy.transport_sockets.tls
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext
          require_client_certificate: true
          common_tls_context:
            alpn_protocols: [istio, h2, http/1.1]
            tls_certificates: [{ certificate_chain: { filename: "$work/server.pem" }, private_key: { filename: "$work/server-key.pem" } }]
            validation_context: { trusted_ca: { filename: "$work/root.pem" } }
YAML
)
  policy_filters=$(cat <<YAML
          - name: envoy.filters.http.jwt_authn
            typed_config:
              "@type": type.googleapis.com/envoy.extensions.filters.http.jwt_authn.v3.JwtAuthentication
              providers:
                bench:
                  issuer: bench@jmesh.io
                  audiences: [bench]
                  local_jwks: { inline_string: '$jwks' }
                  forward: true
                  payload_in_metadata: bench@jmesh.io
                  jwt_cache_config: { jwt_cache_size: 100 }
              rules: [{ match: { prefix: / }, requires: { provider_name: bench } }]
          - name: envoy.filters.http.rbac
            typed_config:
              "@type": type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBAC
              rules:
                action: ALLOW
                policies:
                  ns[default]-policy[bench]-rule[0]:
                    permissions: [{ and_rules: { rules: [ { header: { name: ":method", string_match: { exact: GET } } }, { url_path: { path: { prefix: / } } } ] } }]
                    principals: [{ authenticated: { principal_name: { exact: "spiffe://cluster.local/ns/default/sa/client" } } }]
YAML
)
  if [[ "$mode" == mtls-nocache ]]; then
    policy_filters="$(printf '%s\n' "$policy_filters" | grep -v jwt_cache_config)"
  elif [[ "$mode" == mtls-only ]]; then
    policy_filters=""
  elif [[ "$mode" == mtls-rbac ]]; then
    policy_filters="$(printf '%s\n' "$policy_filters" | sed -n '/envoy.filters.http.rbac/,$p')"
  fi
else
  upstream_tls=""; downstream_tls=""; policy_filters=""
fi

cfg="$work/jmesh-pair.yaml"
cat > "$cfg" <<YAML
static_resources:
  listeners:
  - name: outbound
    address: { socket_address: { address: 127.0.0.1, port_value: ${PROXY_PORT} } }
    filter_chains:
    - filters:
      - name: envoy.filters.network.http_connection_manager
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
          stat_prefix: outbound
          generate_request_id: false
          route_config:
            virtual_hosts:
            - name: all
              domains: ["*"]
              routes:
              - match: { prefix: / }
                route: { cluster: inbound }
                request_headers_to_add: [{ header: { key: authorization, value: "Bearer $token" } }]
          http_filters:
          - name: envoy.filters.http.router
            typed_config: { "@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router }
  - name: inbound
    address: { socket_address: { address: 127.0.0.1, port_value: ${inbound_port} } }
    filter_chains:
    - filters:
      - name: envoy.filters.network.http_connection_manager
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
          stat_prefix: inbound
          generate_request_id: false
          route_config:
            virtual_hosts:
            - name: all
              domains: ["*"]
              routes: [{ match: { prefix: / }, route: { cluster: backend } }]
          http_filters:
$policy_filters
          - name: envoy.filters.http.router
            typed_config: { "@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router }
$downstream_tls
  clusters:
  - name: inbound
    connect_timeout: 1s
    type: STATIC
    load_assignment:
      cluster_name: inbound
      endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: 127.0.0.1, port_value: ${inbound_port} } } } }] }]
$upstream_tls
  - name: backend
    connect_timeout: 1s
    type: STATIC
    load_assignment:
      cluster_name: backend
      endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: 127.0.0.1, port_value: ${BACKEND_PORT} } } } }] }]
YAML
exec "$here/benchmarks/scripts/jmesh-proxy-exec.sh" "$cfg" 64m
