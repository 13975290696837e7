#!/usr/bin/env bash
# A proxy command (the --proxy-cmd contract of proxy-bench and cpu-per-request.sh) for one outbound sidecar with
# the telemetry of issue 11 turned on by TELEMETRY, a comma list of:
#
#   stats      istio.stats (Istio's standard metrics; node metadata as a sidecar of productpage-v1 has it)
#   tracing    HCM tracing, random_sampling 1%, envoy.tracers.zipkin (HTTP_JSON) to a collector cluster; with
#              generate_request_id: true, which sampling needs. The collector is $ZIPKIN_PORT on 127.0.0.1 when set,
#              else the backend (nginx answers the POST /api/v2/spans with 200: a sink that costs the proxy what a
#              real collector does)
#   accesslog  envoy.access_loggers.file with Istio's default text format, to $PB_WORKDIR/access.log
#   dims       with stats: a dimension path = request.path on every metric (a new series per path in each of the
#              four request metrics; for measuring the memory of series)
#
# Empty TELEMETRY: the router alone (the baseline). Listens on 127.0.0.1:$PROXY_PORT, forwards to
# 127.0.0.1:$BACKEND_PORT, one worker; JVM flags from JMESH_BENCH_JAVA_OPTS, extra `jmesh proxy` flags from
# JMESH_PROXY_ARGS; an admin listener on 127.0.0.1:$ADMIN_PORT when set.
#
#   benchmarks/scripts/cpu-per-request.sh router='exec benchmarks/scripts/telemetry-cmd.sh' \
#     all='TELEMETRY=stats,tracing,accesslog exec benchmarks/scripts/telemetry-cmd.sh'
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
work="${PB_WORKDIR:-$(mktemp -d)}"
mkdir -p "$work"
telemetry=",${TELEMETRY:-},"
has() { [[ "$telemetry" == *",$1,"* ]]; }
cluster="outbound|80||backend.default.svc.cluster.local"

filters=""
if has stats; then
  dims=""
  if has dims; then
    dims="metrics: [ { dimensions: { path: request.path } } ]"
  fi
  filters=$(cat <<YAML
          - name: istio.stats
            typed_config:
              "@type": type.googleapis.com/udpa.type.v1.TypedStruct
              type_url: type.googleapis.com/stats.PluginConfig
              value: { $dims }
YAML
)
fi
request_id=false
tracing=""
if has tracing; then
  request_id=true
  tracing=$(cat <<YAML
          tracing:
            random_sampling: { value: 1 }
            provider:
              name: envoy.tracers.zipkin
              typed_config:
                "@type": type.googleapis.com/envoy.config.trace.v3.ZipkinConfig
                collector_cluster: zipkin
                collector_endpoint: /api/v2/spans
                collector_endpoint_version: HTTP_JSON
YAML
)
fi
access_log=""
if has accesslog; then
  # Istio's default text format (mesh config accessLogFormat unset).
  fmt='[%START_TIME%] \"%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %PROTOCOL%\" %RESPONSE_CODE% %RESPONSE_FLAGS% %RESPONSE_CODE_DETAILS% %CONNECTION_TERMINATION_DETAILS% \"%UPSTREAM_TRANSPORT_FAILURE_REASON%\" %BYTES_RECEIVED% %BYTES_SENT% %DURATION% %RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)% \"%REQ(X-FORWARDED-FOR)%\" \"%REQ(USER-AGENT)%\" \"%REQ(X-REQUEST-ID)%\" \"%REQ(:AUTHORITY)%\" \"%UPSTREAM_HOST%\" %UPSTREAM_CLUSTER% %UPSTREAM_LOCAL_ADDRESS% %DOWNSTREAM_LOCAL_ADDRESS% %DOWNSTREAM_REMOTE_ADDRESS% %REQUESTED_SERVER_NAME% %ROUTE_NAME%\n'
  access_log=$(cat <<YAML
          access_log:
          - name: envoy.access_loggers.file
            typed_config:
              "@type": type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog
              path: $work/access.log
              log_format: { text_format_source: { inline_string: "$fmt" } }
YAML
)
fi

cfg="$work/telemetry.yaml"
admin=""
[[ -n "${ADMIN_PORT:-}" ]] && admin="admin: { address: { socket_address: { address: 127.0.0.1, port_value: $ADMIN_PORT } } }"
cat > "$cfg" <<YAML
$admin
node:
  id: sidecar~127.0.0.1~productpage-v1-1.default~default.svc.cluster.local
  cluster: productpage.default
  metadata:
    NAME: productpage-v1-1
    NAMESPACE: default
    WORKLOAD_NAME: productpage-v1
    CLUSTER_ID: Kubernetes
    LABELS: { app: productpage, version: v1, service.istio.io/canonical-name: productpage, service.istio.io/canonical-revision: v1 }
static_resources:
  listeners:
  - name: outbound
    address: { socket_address: { address: 127.0.0.1, port_value: ${PROXY_PORT} } }
    traffic_direction: OUTBOUND
    filter_chains:
    - filters:
      - name: envoy.filters.network.http_connection_manager
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
          stat_prefix: outbound_0.0.0.0_80
          generate_request_id: $request_id
$tracing
$access_log
          route_config:
            virtual_hosts:
            - name: all
              domains: ["*"]
              routes: [{ match: { prefix: / }, route: { cluster: "$cluster" } }]
          http_filters:
$filters
          - name: envoy.filters.http.router
            typed_config: { "@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router }
  clusters:
  - name: "$cluster"
    connect_timeout: 1s
    type: STATIC
    load_assignment:
      cluster_name: "$cluster"
      endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: 127.0.0.1, port_value: ${BACKEND_PORT} } } } }] }]
  - name: zipkin
    connect_timeout: 1s
    type: STATIC
    load_assignment:
      cluster_name: zipkin
      endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: 127.0.0.1, port_value: ${ZIPKIN_PORT:-$BACKEND_PORT} } } } }] }]
YAML
exec "$here/benchmarks/scripts/jmesh-proxy-exec.sh" "$cfg"
