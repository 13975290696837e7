#!/usr/bin/env bash
# RPC benchmark (issue 4, section 6): real SOFARPC (Bolt) and Dubbo calls, each through
#   direct   the consumer calls the provider itself (baseline),
#   haproxy  haproxy 2.6 in `mode tcp`, one process, nbthread 1 (generated config),
#   jmesh    `jmesh proxy` with a static bootstrap using the rpc_proxy filter, one worker (--concurrency 1).
# Provider and consumer are real apps (io.jmesh.benchmarks.rpc.RpcBench), each in its own JVM. CPU placement
# follows benchmarks/scripts/proxy-bench: with 2 CPUs the proxy gets the second one alone and the consumer and
# the provider share the first; with 3, one each; with >= 4, the proxy the last, the provider the one
# before, the consumer the rest. The consumer reports calls/s, p50/p99/p999 and the proxy's CPU (utime+stime
# of /proc/PID/stat over the measured window) and peak RSS (VmHWM). With --repeat N the targets run
# interleaved N times (a fresh proxy per run) and the table holds medians per column.
#
#   benchmarks/scripts/rpc-bench.sh                                  # bolt+dubbo, 15 s warm-up, 20 s window
#   benchmarks/scripts/rpc-bench.sh --protocols bolt --repeat 3 --out /tmp/rpc.md
#   benchmarks/scripts/rpc-bench.sh --targets jmesh --jfr /tmp/jmesh.jfr   # profile the proxy
#
# Options: --protocols LIST (bolt,dubbo) --targets LIST (direct,haproxy,jmesh) --warmup S (15) --duration S (20)
#   --concurrency N (32 outstanding calls) --mode sync|async (sync: N caller threads; async: N chained
#   callbacks) --payload BYTES (64) --repeat N (1) --out FILE --jfr FILE (JFR of the jmesh proxy's
#   measured run) --proxy-cpus/--load-cpus/--backend-cpus LIST --keep-tmp --baseline-cp CP (adds the
#   target jmesh-base: the same proxy run from another class path, e.g. a copy of an older cli/target/lib,
#   for before/after figures in one interleaved run) --strace (count the proxy's syscalls with
#   `strace -c -f` over the whole consumer run, warm-up included, and report syscalls per call; strace slows
#   the proxy down, so use these runs for that column only).
# Environment: JMESH_BENCH_JAVA_OPTS (the proxy's JVM options, as for proxy-bench-cmd.sh),
#   RPC_BENCH_APP_OPTS (provider and consumer JVM options, default -Xms256m -Xmx256m).
# Everything listens on and dials 127.0.0.1 (Dubbo's provider binds the wildcard address, see PEERS.md).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"

PROTOCOLS=bolt,dubbo TARGETS=direct,haproxy,jmesh WARMUP=15 DURATION=20 CONCURRENCY=32 MODE=sync PAYLOAD=64
REPEAT=1 OUT="" JFR="" BASELINE_CP="" STRACE=0 PROXY_CPUS="" LOAD_CPUS="" BACKEND_CPUS="" KEEP=0
die() { echo "rpc-bench: $*" >&2; exit 2; }
log() { echo "rpc-bench: $*" >&2; }
while [ $# -gt 0 ]; do
  [ $# -ge 2 ] || [ "$1" = --keep-tmp ] || [ "$1" = --strace ] || die "$1 needs a value"
  case $1 in
    --protocols) PROTOCOLS=$2 ;; --targets) TARGETS=$2 ;; --warmup) WARMUP=$2 ;; --duration) DURATION=$2 ;;
    --concurrency) CONCURRENCY=$2 ;; --mode) MODE=$2 ;; --payload) PAYLOAD=$2 ;; --repeat) REPEAT=$2 ;;
    --out) OUT=$2 ;; --baseline-cp) BASELINE_CP=$2 ;; --jfr) JFR=$2 ;; --proxy-cpus) PROXY_CPUS=$2 ;; --load-cpus) LOAD_CPUS=$2 ;;
    --backend-cpus) BACKEND_CPUS=$2 ;; --keep-tmp) KEEP=1; shift; continue ;;
    --strace) STRACE=1; shift; continue ;;
    *) die "unknown option $1" ;;
  esac
  shift 2
done

# ---------------------------------------------------------------- build
bench_jar=$root/benchmarks/target/benchmarks.jar
cli_jar=$root/cli/target/jmesh-cli-0.1.0-SNAPSHOT.jar
mvn_repo=()
[ -n "${MAVEN_REPO_LOCAL:-}" ] && mvn_repo=(-Dmaven.repo.local="$MAVEN_REPO_LOCAL")
if [ ! -f "$bench_jar" ] || [ ! -f "$cli_jar" ]; then
  log "building cli and benchmarks"
  (cd "$root" && ./mvnw -q -o -B "${mvn_repo[@]}" -pl cli,benchmarks -am install -DskipTests)
fi
command -v haproxy >/dev/null || [ -x /usr/sbin/haproxy ] || die "haproxy not found"
HAPROXY=$(command -v haproxy || echo /usr/sbin/haproxy)

# ---------------------------------------------------------------- CPU layout (as proxy-bench)
expand_cpus() { local p a b out=(); IFS=, read -ra ps <<<"$1"
  for p in "${ps[@]}"; do if [[ $p == *-* ]]; then out+=($(seq "${p%-*}" "${p#*-}")); else out+=("$p"); fi; done
  echo "${out[*]}"; }
join_cpus() { local IFS=,; echo "$*"; }
AFF=$(taskset -pc $$ | sed 's/.*: *//'); CPUS=($(expand_cpus "$AFF")); N=${#CPUS[@]}
if [ "$N" -ge 4 ]; then D_PROXY=${CPUS[N-1]}; D_BACKEND=${CPUS[N-2]}; D_LOAD=$(join_cpus "${CPUS[@]:0:N-2}")
elif [ "$N" -eq 3 ]; then D_PROXY=${CPUS[2]}; D_BACKEND=${CPUS[1]}; D_LOAD=${CPUS[0]}
elif [ "$N" -eq 2 ]; then D_PROXY=${CPUS[1]}; D_BACKEND=${CPUS[0]}; D_LOAD=${CPUS[0]}
else D_PROXY=${CPUS[0]}; D_BACKEND=${CPUS[0]}; D_LOAD=${CPUS[0]}; fi
PROXY_CPUS=${PROXY_CPUS:-$D_PROXY}; LOAD_CPUS=${LOAD_CPUS:-$D_LOAD}; BACKEND_CPUS=${BACKEND_CPUS:-$D_BACKEND}
CLK_TCK=$(getconf CLK_TCK)

# ---------------------------------------------------------------- processes
TMP=$(mktemp -d /tmp/rpc-bench.XXXXXX)
STARTED=()
cleanup() {
  local p
  for p in "${STARTED[@]}"; do kill -TERM -- "-$p" 2>/dev/null || true; done
  sleep 0.5
  for p in "${STARTED[@]}"; do kill -KILL -- "-$p" 2>/dev/null || true; done
  if [ "$KEEP" = 1 ]; then log "kept $TMP"; else rm -rf "$TMP"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM
LAST_PID=""
start_group() { # CPUS LOG CMD...: own session, pinned
  local cpus=$1 logf=$2; shift 2
  setsid taskset -c "$cpus" "$@" >"$logf" 2>&1 </dev/null &
  LAST_PID=$!; STARTED+=("$LAST_PID")
}
stop_group() { kill -TERM -- "-$1" 2>/dev/null || true
  for _ in $(seq 1 50); do kill -0 "$1" 2>/dev/null || return 0; sleep 0.2; done
  kill -KILL -- "-$1" 2>/dev/null || true; }
port_answers() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
wait_port() { # PORT PID SECONDS
  local end=$((SECONDS + $3))
  while [ $SECONDS -le $end ]; do kill -0 "$2" 2>/dev/null || return 1; port_answers "$1" && return 0; sleep 0.1; done
  return 1; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

APP_JAVA=(java ${RPC_BENCH_APP_OPTS:--Xms256m -Xmx256m} -Ddefault.tracer= -Dlogging.path="$TMP/logs"
          --add-opens java.base/java.lang=ALL-UNNAMED --add-opens java.base/java.util=ALL-UNNAMED
          --add-opens java.base/java.math=ALL-UNNAMED -cp "$bench_jar" io.jmesh.benchmarks.rpc.RpcBench)

haproxy_cfg() { # LISTEN_PORT BACKEND_PORT
  cat <<EOF
global
  nbthread 1
  maxconn 1000
defaults
  mode tcp
  timeout connect 1s
  timeout client 60s
  timeout server 60s
listen rpc
  bind 127.0.0.1:$1
  server provider 127.0.0.1:$2
EOF
}

jmesh_cfg() { # PROTOCOL LISTEN_PORT BACKEND_PORT
  cat <<EOF
static_resources:
  listeners:
  - name: rpc
    address: { socket_address: { address: 127.0.0.1, port_value: $2 } }
    filter_chains:
    - filters:
      - name: jmesh.filters.network.rpc_proxy
        typed_config:
          "@type": type.googleapis.com/xds.type.v3.TypedStruct
          type_url: type.googleapis.com/jmesh.filters.network.rpc_proxy.v1.RpcProxy
          value:
            stat_prefix: rpc
            protocol: $1
            route_config:
              virtual_hosts:
              - name: echo
                domains: ["*"]
                routes:
                - match: { prefix: "/" }
                  route: { cluster: provider }
  clusters:
  - name: provider
    connect_timeout: 1s
    type: STATIC
    load_assignment:
      cluster_name: provider
      endpoints:
      - lb_endpoints:
        - endpoint: { address: { socket_address: { address: 127.0.0.1, port_value: $3 } } }
EOF
}

# run_target PROTOCOL TARGET PROVIDER_PORT ROUND -> prints the consumer's RESULT fields
run_target() {
  local proto=$1 target=$2 pport=$3 round=$4 port pid="" extra=()
  case $target in
    direct) port=$pport ;;
    haproxy)
      port=$(free_port); haproxy_cfg "$port" "$pport" >"$TMP/haproxy.cfg"
      start_group "$PROXY_CPUS" "$TMP/haproxy-$proto-$round.log" "$HAPROXY" -db -f "$TMP/haproxy.cfg"
      pid=$LAST_PID ;;
    jmesh|jmesh-base)
      local cp="$cli_jar:$root/cli/target/lib/*"
      [ "$target" = jmesh-base ] && cp=$BASELINE_CP
      port=$(free_port); jmesh_cfg "$proto" "$port" "$pport" >"$TMP/jmesh.yaml"
      local jopts=(${JMESH_BENCH_JAVA_OPTS:--XX:+UseSerialGC -Xms48m -Xmx48m -XX:+AlwaysPreTouch -Dio.netty.leakDetection.level=disabled})
      if [ -n "$JFR" ]; then
        jopts+=("-XX:StartFlightRecording=delay=${WARMUP}s,duration=${DURATION}s,filename=${JFR%.jfr}-$target-$proto-$round.jfr,settings=profile")
      fi
      start_group "$PROXY_CPUS" "$TMP/jmesh-$proto-$round.log" java "${jopts[@]}" \
        -cp "$cp" io.jmesh.cli.Main proxy --config "$TMP/jmesh.yaml" --concurrency 1
      pid=$LAST_PID ;;
    *) die "unknown target $target" ;;
  esac
  if [ -n "$pid" ]; then
    wait_port "$port" "$pid" 60 || { echo "FAILED: $target did not start"; return 0; }
    extra=(--watch-pid "$pid")
  fi
  local out spid=""
  if [ "$STRACE" = 1 ] && [ -n "$pid" ]; then
    strace -c -f -p "$pid" -o "$TMP/strace-$proto-$target-$round.txt" >/dev/null 2>&1 &
    spid=$!
  fi
  out=$(timeout -k 5 $((WARMUP + DURATION + 90)) taskset -c "$LOAD_CPUS" "${APP_JAVA[@]}" consumer \
        --protocol "$proto" --port "$port" --concurrency "$CONCURRENCY" --mode "$MODE" --payload "$PAYLOAD" \
        --warmup "$WARMUP" --duration "$DURATION" --clk-tck "$CLK_TCK" "${extra[@]}" \
        2>"$TMP/consumer-$proto-$target-$round.log" | grep '^RESULT' || true)
  if [ -n "$spid" ]; then
    kill -INT "$spid" 2>/dev/null || true; wait "$spid" 2>/dev/null || true
    local sys calls
    sys=$(awk '$NF == "total" {print $4}' "$TMP/strace-$proto-$target-$round.txt")
    calls=${out##*total_calls=}
    [ -n "$sys" ] && [ -n "$out" ] && out="$out syscalls_per_call=$(awk -v s="$sys" -v c="$calls" 'BEGIN{printf "%.2f", (c > 0 ? s / c : 0)}')"
  fi
  [ -n "$pid" ] && stop_group "$pid"
  if [ -z "$out" ]; then echo "FAILED: consumer gave no result (see $TMP/consumer-$proto-$target-$round.log)"
  else echo "${out#RESULT }"; fi
}

# ---------------------------------------------------------------- rounds
[ -n "$BASELINE_CP" ] && [[ ,$TARGETS, != *,jmesh-base,* ]] && TARGETS=$TARGETS,jmesh-base
IFS=, read -ra PROTOS <<<"$PROTOCOLS"; IFS=, read -ra TGTS <<<"$TARGETS"
RAW=$TMP/raw.txt; : >"$RAW"
log "proxy CPUs $PROXY_CPUS, consumer CPUs $LOAD_CPUS, provider CPUs $BACKEND_CPUS; load: $(cut -d' ' -f1-3 /proc/loadavg)"
for round in $(seq 1 "$REPEAT"); do
  for proto in "${PROTOS[@]}"; do
    pport=$(free_port)
    start_group "$BACKEND_CPUS" "$TMP/provider-$proto-$round.log" "${APP_JAVA[@]}" provider --protocol "$proto" --port "$pport"
    ppid=$LAST_PID
    wait_port "$pport" "$ppid" 90 || die "the $proto provider did not start (see $TMP/provider-$proto-$round.log)"
    for target in "${TGTS[@]}"; do
      log "round $round $proto $target (load $(cut -d' ' -f1 /proc/loadavg))"
      res=$(run_target "$proto" "$target" "$pport" "$round")
      log "  $res"
      echo "$round $proto $target load=$(cut -d' ' -f1 /proc/loadavg) $res" >>"$RAW"
    done
    stop_group "$ppid"
  done
done

# ---------------------------------------------------------------- report
report() {
  echo "rpc-bench: $PROTOCOLS via $TARGETS; mode $MODE, concurrency $CONCURRENCY, payload $PAYLOAD B," \
       "warm-up ${WARMUP}s, window ${DURATION}s, $REPEAT round(s), medians"
  echo "placement: proxy CPUs $PROXY_CPUS, consumer CPUs $LOAD_CPUS, provider CPUs $BACKEND_CPUS (taskset)"
  echo
  awk -v protos="$PROTOCOLS" -v tgts="$TARGETS" '
    function med(list,   n, a, i, j, t) { n = split(list, a, " "); if (n == 0) return "-"
      for (i = 2; i <= n; i++) { t = a[i]; for (j = i - 1; j >= 1 && a[j] + 0 > t + 0; j--) a[j+1] = a[j]; a[j+1] = t }
      return n % 2 ? a[(n+1)/2] : (a[n/2] + a[n/2+1]) / 2 }
    { key = $2 SUBSEP $3
      if ($5 == "FAILED:") { failed[key] = 1; next }
      for (i = 5; i <= NF; i++) { split($i, kv, "="); if (kv[2] != "-") v[key, kv[1]] = v[key, kv[1]] " " kv[2] }
      load[key] = load[key] " " substr($4, 6) }
    END {
      np = split(protos, P, ","); nt = split(tgts, T, ",")
      print "| protocol | target | calls/s | p50 ms | p99 ms | p999 ms | errors | proxy CPU % core | CPU us/call | proxy max RSS MiB | syscalls/call | thr vs direct | thr vs haproxy | +p99 ms vs direct | load |"
      print "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"
      for (p = 1; p <= np; p++) {
        for (t = 1; t <= nt; t++) { k = P[p] SUBSEP T[t]
          c[T[t]] = med(v[k, "calls_per_s"]); p99[T[t]] = med(v[k, "p99_ms"]) }
        for (t = 1; t <= nt; t++) { k = P[p] SUBSEP T[t]
          if (c[T[t]] == "-") { printf "| %s | %s | FAILED ||||||||||||\n", P[p], T[t]; continue }
          vd = ("direct" in c && c["direct"] != "-") ? sprintf("%.3f", c[T[t]] / c["direct"]) : "-"
          vh = ("haproxy" in c && c["haproxy"] != "-") ? sprintf("%.3f", c[T[t]] / c["haproxy"]) : "-"
          dp = ("direct" in p99 && p99["direct"] != "-") ? sprintf("%+.3f", p99[T[t]] - p99["direct"]) : "-"
          printf "| %s | %s | %.0f | %.3f | %.3f | %.3f | %s | %s | %s | %s | %s | %s | %s | %s |%s |\n", P[p], T[t],
            c[T[t]], med(v[k, "p50_ms"]), p99[T[t]], med(v[k, "p999_ms"]), med(v[k, "errors"]),
            med(v[k, "cpu_pct"]), med(v[k, "cpu_us_per_call"]), med(v[k, "rss_mib"]),
            med(v[k, "syscalls_per_call"]), vd, vh, dp, load[k] }
        delete c; delete p99 }
    }' "$RAW"
  echo
  echo "per round:"
  echo '```'
  cat "$RAW"
  echo '```'
}
if [ -n "$OUT" ]; then report | tee "$OUT"; else report; fi
