#!/usr/bin/env bash
# Issue 10 §7 in one run: a sidecar pair (benchmarks/scripts/mtls-pair-cmd.sh) against the same pair in nginx
# (nginx-mtls-pair-cmd.sh), all rows side by side, each row measured by proxy-bench (wrk, HTTP/1.1 keep-alive,
# proxy pinned to one CPU, load generator and backend to the other), rounds interleaved:
#
#   plain        plaintext between the sidecars, router only (the baseline of "within 1.5x")
#   mtls-only    mutual TLS (SPIFFE certificates), router only
#   mtls-rbac    mutual TLS + RBAC (ALLOW on the client's principal, GET, a path prefix)
#   mtls         mutual TLS + RBAC + jwt_authn (RS256, local JWKS) with jwt_cache_config
#   mtls-nocache the same without jwt_cache_config (every token verified again)
#   nginx-mtls   nginx, the same two hops with mutual TLS (no JWT or RBAC: nginx OSS has neither)
#
# then handshakes: `openssl s_time -new` (a full mutual-TLS handshake per connection, ECDSA P-256, client
# certificate) against the inbound listener of each pair for --hs-seconds, with the proxy's CPU time per handshake;
# then the memory of TLS contexts: one jmesh proxy with --tls-clusters clusters that each carry an
# UpstreamTlsContext (as Istio gives every outbound cluster one), against the same clusters in plaintext: RSS and
# Java heap used after a full GC.
#
#   ./jmesh version                    # builds cli/target
#   benchmarks/scripts/security-bench.sh --rounds 2 --out /tmp/security.md
#   benchmarks/scripts/security-bench.sh --parts memory --tls-clusters 1000   # only the memory of TLS contexts
#
# --parts LIST: any of pairs,handshakes,memory (default: all three).
#
# Columns per row: CPU us/req = the proxy process's user+sys CPU time during the measured run / ok requests (the
# headline: it holds up on a shared machine far better than throughput); +p50/+p99 = added to the direct run of the
# same round. The report is markdown on stdout (and --out).
set -uo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
scripts="$here/benchmarks/scripts"
rounds=2; warmup=10; duration=10; hs_seconds=10; tls_clusters=1000; out=""
rows="plain mtls-only mtls-rbac mtls mtls-nocache nginx-mtls"
parts="pairs handshakes memory"
while [[ $# -gt 0 ]]; do
  case "$1" in
    --rounds) rounds=$2; shift 2 ;;
    --warmup) warmup=$2; shift 2 ;;
    --duration) duration=$2; shift 2 ;;
    --rows) rows=${2//,/ }; shift 2 ;;
    --parts) parts=${2//,/ }; shift 2 ;;
    --hs-seconds) hs_seconds=$2; shift 2 ;;
    --tls-clusters) tls_clusters=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    -h|--help) sed -n 2,27p "$0"; exit 0 ;;
    *) echo "security-bench: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
[[ -f "$here/cli/target/jmesh-cli-0.1.0-SNAPSHOT.jar" ]] || { echo "security-bench: run ./jmesh version first" >&2; exit 2; }
tmp=$(mktemp -d /tmp/security-bench.XXXX)
trap 'rm -rf "$tmp"' EXIT
log() { echo "security-bench: $*" >&2; }
report="$tmp/report.md"

cmd_of() {
  case "$1" in
    nginx-mtls) echo "exec $scripts/nginx-mtls-pair-cmd.sh" ;;
    *) echo "PAIR_MODE=$1 exec $scripts/mtls-pair-cmd.sh" ;;
  esac
}

{
  echo "## security-bench $(date -u +%FT%TZ)"
  echo
  echo "- host: $(nproc) CPUs, load average at start $(cut -d' ' -f1-3 /proc/loadavg); $rounds rounds, ${warmup} s warm-up, ${duration} s measured, HTTP/1.1, 32 connections"
  echo
  echo "| row | round | ok req/s | p50 ms | p99 ms | +p50 ms | +p99 ms | proxy CPU % core | CPU us/req | max RSS MiB | load avg |"
  echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
} > "$report"

has_part() { [[ " $parts " == *" $1 "* ]]; }
has_part pairs || rounds=0
for r in $(seq 1 "$rounds"); do
  for row in $rows; do
    log "round $r: $row"
    md="$tmp/$row-$r.md"
    timeout $((warmup * 2 + duration * 2 + 240)) "$scripts/proxy-bench" --warmup "$warmup" --duration "$duration" \
      --targets direct,project --proxy-name "$row" --proxy-cmd "$(cmd_of "$row")" > "$md" 2> "$tmp/$row-$r.err"
    # | target | ok req/s | p50 | p90 | p99 | errors | CPU s | CPU % | CPU us/req | RSS | thr/direct | thr/nginx | +p50 | +p99 |
    line=$(grep -E "^\| $row " "$md" | head -1)
    if [[ -z "$line" ]]; then
      echo "| $row | $r | FAILED (see proxy-bench output) | | | | | | | | |" >> "$report"
      continue
    fi
    awk -F'|' -v row="$row" -v r="$r" -v load="$(cut -d' ' -f1 /proc/loadavg)" '{
      gsub(/ /, "", $0); printf "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n",
        row, r, $3, $4, $6, $14, $15, $9, $10, $11, load }' <<< "$line" >> "$report"
  done
done

# ------------------------------------------------------------------ handshakes per second
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
cpu_ticks() { local t=0; for p in "$@"; do t=$((t + $(awk '{print $14+$15}' "/proc/$p/stat" 2>/dev/null || echo 0))); done; echo $t; }
hz=$(getconf CLK_TCK)
{
  echo
  echo "### Handshakes: \`openssl s_time -new\` (one full mutual-TLS handshake per connection, client certificate) against the inbound listener, ${hs_seconds} s"
  echo
  echo "| pair | handshakes/s | proxy CPU us/handshake |"
  echo "|---|---:|---:|"
} >> "$report"
hs_rows="mtls-only nginx-mtls"; has_part handshakes || hs_rows=""
for row in $hs_rows; do
  log "handshakes: $row"
  work="$tmp/hs-$row"; mkdir -p "$work"
  pp=$(free_port); ip=$(free_port); bp=$(free_port)
  PROXY_PORT=$pp PB_INBOUND_PORT=$ip BACKEND_PORT=$bp PB_WORKDIR=$work PAIR_MODE=$row \
    setsid taskset -c 1 bash -c "$(cmd_of "$row")" > "$work/proxy.log" 2>&1 &
  leader=$!
  for i in $(seq 1 90); do (exec 3<>"/dev/tcp/127.0.0.1/$ip") 2>/dev/null && break; sleep 1; done
  certs=$(ls -d "$work"/*/ | head -1)
  s_time() { taskset -c 0 openssl s_time -connect "127.0.0.1:$ip" -new -time "$1" -cert "$certs/client.pem" \
    -key "$certs/client-key.pem" -CAfile "$certs/root.pem" 2>&1; }
  s_time $(( (hs_seconds + 1) / 2 )) > /dev/null # warm-up (JIT)
  pids=$(pgrep -g "$leader" | tr '\n' ' ')
  c0=$(cpu_ticks $pids)
  res=$(s_time "$hs_seconds")
  c1=$(cpu_ticks $pids)
  echo "$res" > "$tmp/hs-$row.out"
  # "N connections in T real seconds, B bytes read per connection" (the other line counts s_time's CPU seconds)
  n=$(grep -oP '^\d+(?= connections in \d+ real seconds)' <<< "$res" | head -1)
  secs=$(grep -oP '(?<=connections in )\d+(?= real seconds)' <<< "$res" | head -1)
  [[ -n "${SB_DEBUG:-}" ]] && cat "$tmp/hs-$row.out" >&2
  if [[ -n "$n" && "$n" -gt 0 && "${secs:-0}" -gt 0 ]]; then
    awk -v row="$row" -v n="$n" -v s="$secs" -v c=$((c1 - c0)) -v hz="$hz" \
      'BEGIN { printf "| %s | %.0f | %.0f |\n", row, n / s, c * 1e6 / hz / n }' >> "$report"
  else
    echo "| $row | FAILED: $(tail -1 <<< "$res") | |" >> "$report"
  fi
  kill -- -"$leader" 2>/dev/null; wait "$leader" 2>/dev/null
done

# ------------------------------------------------------------------ memory of TLS contexts
if has_part memory; then
log "memory: $tls_clusters clusters with and without UpstreamTlsContext"
certs="$tmp/certs"; "$scripts/mesh-certs.sh" "$certs" > /dev/null
{
  echo
  echo "### Memory: one jmesh proxy with 1 or ${tls_clusters} STATIC clusters, each with or without an UpstreamTlsContext (the client certificate, the mesh root, a SAN check)"
  echo
  echo "| clusters | TLS | RSS MiB | Java heap used after full GC, MiB |"
  echo "|---:|---|---:|---:|"
} >> "$report"
for count in 1 "$tls_clusters"; do
for tls in no yes; do
  cfg="$tmp/clusters-$count-$tls.yaml"
  lp=$(free_port)
  {
    echo "static_resources:"
    echo "  listeners:"
    echo "  - name: l"
    echo "    address: { socket_address: { address: 127.0.0.1, port_value: $lp } }"
    echo "    filter_chains: [ { filters: [ { name: envoy.filters.network.tcp_proxy, typed_config: { \"@type\": type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy, stat_prefix: t, cluster: c0 } } ] } ]"
    echo "  clusters:"
    for i in $(seq 0 $((count - 1))); do
      echo "  - name: c$i"
      echo "    connect_timeout: 1s"
      echo "    type: STATIC"
      echo "    load_assignment: { cluster_name: c$i, endpoints: [ { lb_endpoints: [ { endpoint: { address: { socket_address: { address: 127.0.0.1, port_value: $((20000 + i)) } } } } ] } ] }"
      if [[ "$tls" == yes ]]; then
        echo "    transport_socket: { name: envoy.transport_sockets.tls, typed_config: { \"@type\": type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext, common_tls_context: { alpn_protocols: [istio], tls_certificates: [ { certificate_chain: { filename: \"$certs/client.pem\" }, private_key: { filename: \"$certs/client-key.pem\" } } ], validation_context: { trusted_ca: { filename: \"$certs/root.pem\" }, match_typed_subject_alt_names: [ { san_type: URI, matcher: { exact: \"spiffe://cluster.local/ns/default/sa/c$i\" } } ] } } } }"
      fi
    done
  } > "$cfg"
  java -XX:+UseSerialGC -Xmx256m -Dio.netty.leakDetection.level=disabled \
    -cp "$here/cli/target/jmesh-cli-0.1.0-SNAPSHOT.jar:$here/cli/target/lib/*" \
    io.jmesh.cli.Main proxy --config "$cfg" --concurrency 1 --status-port -1 > "$tmp/mem-$tls.log" 2>&1 &
  jp=$!
  for i in $(seq 1 90); do (exec 3<>"/dev/tcp/127.0.0.1/$lp") 2>/dev/null && break; sleep 1; done
  sleep 2
  jcmd "$jp" GC.run > /dev/null 2>&1
  used=$(jcmd "$jp" GC.heap_info 2>/dev/null | grep -oP 'total \d+K, used \K\d+(?=K)' | awk '{s+=$1} END {printf "%.1f", s/1024}')
  rss=$(awk '/VmRSS/ {printf "%.1f", $2/1024}' "/proc/$jp/status")
  echo "| $count | $tls | $rss | $used |" >> "$report"
  kill "$jp" 2>/dev/null; wait "$jp" 2>/dev/null
done
done
# What one more TLS context costs: (RSS(n, TLS) - RSS(n, no)) - (RSS(1, TLS) - RSS(1, no)), over n - 1 contexts.
awk -F'|' -v n="$tls_clusters" '$2 ~ /^ *[0-9]+ *$/ { gsub(/ /, "", $2); gsub(/ /, "", $3); r[$2 "-" $3] = $4; h[$2 "-" $3] = $5 }
  END { if (n > 1) printf "\nPer TLS context: %.1f KiB RSS, %.1f KiB heap ((%d clusters with TLS - without) - (1 with - without), / %d).\n",
        ((r[n "-yes"] - r[n "-no"]) - (r["1-yes"] - r["1-no"])) * 1024 / (n - 1),
        ((h[n "-yes"] - h[n "-no"]) - (h["1-yes"] - h["1-no"])) * 1024 / (n - 1), n, n - 1 }' "$report" >> "$report"
fi

cat "$report"
[[ -n "$out" ]] && cp "$report" "$out"
exit 0
