#!/usr/bin/env bash
# sidecar-footprint.sh: how much memory a jmesh sidecar takes under load, and how fast it starts, for one or more
# JVM settings side by side (issue 13, section 4):
#
#   - start: from exec to the admin's /ready answering 200, median (and min/max) of --starts runs (default 10),
#     for a sidecar with a static bootstrap (--start static, the default) or following a `jmesh discovery`
#     (--start discovery: discovery is started once, serving one ServiceEntry; the proxy is
#     `jmesh proxy --discovery-address ... --node-id sidecar~...`);
#   - memory: the proxy with a static bootstrap (one HTTP listener, one STATIC cluster to an nginx backend, as
#     proxy-bench-cmd.sh) under HTTP/1.1 keep-alive load (h2load --h1, --connections C, for --seconds S), then
#     peak RSS (VmHWM), RSS after the load (VmRSS, and its anonymous / file-backed parts) and, with native memory
#     tracking on (-XX:NativeMemoryTracking=summary, which itself costs a few MiB: --no-nmt turns it off),
#     `jcmd PID VM.native_memory summary`: Java heap, class (metaspace + class space), code cache, threads, GC,
#     symbols, compiler arenas, CDS archives, other/internal (Netty's pooled direct buffers are under "Other"), and
#     the number of threads and of loaded classes (those not from a CDS archive).
#
# A row is NAME='JVM OPTIONS', run as `java JVM_OPTIONS -cp cli/target/... io.jmesh.cli.Main proxy ...`
# (leading VAR=value words: `JAVA=/path/to/bin/java` picks another JVM, any other, e.g. `MALLOC_ARENA_MAX=2`, goes to
# the proxy's environment, also for `launcher`, e.g. `JMESH_JAVA=...`); the special row NAME=launcher runs `./jmesh proxy`
# with the launcher's own settings (and its class-data sharing archive). The proxy runs one worker
# (--concurrency 1) unless a row's options end with `-- --concurrency N`. Rows run one after the other.
#
#   ./jmesh version      # builds cli/target once
#   benchmarks/scripts/sidecar-footprint.sh --seconds 20 --starts 10 \
#     old='-XX:+UseSerialGC -Xms48m -Xmx48m -XX:+AlwaysPreTouch' launcher=launcher
#
# Options: --seconds S (load time, default 20), --connections C (default 32), --starts N (default 10; 0 skips),
# --start static|discovery (default static), --no-nmt, --out FILE (the markdown report, also on stdout),
# --keep (keep the work directory). Placement: the proxy on the last CPU, h2load and nginx on the others, for the
# load run; start runs are not pinned. The 1-minute load average is printed next to every row: on a shared
# machine start times move with it, RSS much less.
set -uo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$here"
seconds=20; conns=32; starts=10; start_mode=static; nmt=1; out=""; keep=0; rows=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --seconds) seconds=$2; shift 2 ;;
    --connections) conns=$2; shift 2 ;;
    --starts) starts=$2; shift 2 ;;
    --start) start_mode=$2; shift 2 ;;
    --no-nmt) nmt=0; shift ;;
    --out) out=$2; shift 2 ;;
    --keep) keep=1; shift ;;
    -h|--help) sed -n 2,31p "$0"; exit 0 ;;
    *=*) rows+=("$1"); shift ;;
    *) echo "sidecar-footprint: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done
[[ ${#rows[@]} -gt 0 ]] || rows=("launcher=launcher")
case "$start_mode" in static|discovery) ;; *) echo "sidecar-footprint: --start: $start_mode (expected: static or discovery)" >&2; exit 2 ;; esac
for t in h2load nginx taskset curl python3; do
  command -v "$t" >/dev/null || { echo "sidecar-footprint: $t is needed (apt-get install nghttp2-client nginx curl)" >&2; exit 2; }
done
jar="$here/cli/target/jmesh-cli-0.1.0-SNAPSHOT.jar"
if [[ ! -f "$jar" ]]; then
  echo "sidecar-footprint: building the CLI first (./jmesh version)" >&2
  "$here/jmesh" version >/dev/null || exit 1
fi
cp="$jar:$here/cli/target/lib/*"
ncpu=$(nproc)
proxy_cpu=$((ncpu - 1)); load_cpus="0-$((ncpu > 1 ? ncpu - 2 : 0))"
tmp=$(mktemp -d /tmp/sidecar-footprint.XXXX)
chmod 755 "$tmp"
log() { echo "sidecar-footprint: $*" >&2; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
loadavg() { cut -d' ' -f1 /proc/loadavg; }
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }

backend_port=$(free_port)
mkdir -p "$tmp/backend"
cat > "$tmp/backend/nginx.conf" <<EOF
worker_processes 1;
daemon off;
pid $tmp/backend/nginx.pid;
error_log $tmp/backend/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $tmp/backend/t_body; proxy_temp_path $tmp/backend/t_proxy; fastcgi_temp_path $tmp/backend/t_fcgi;
  uwsgi_temp_path $tmp/backend/t_uwsgi; scgi_temp_path $tmp/backend/t_scgi;
  tcp_nodelay on; keepalive_requests 100000000; keepalive_timeout 300s;
  server {
    listen 127.0.0.1:$backend_port backlog=4096;
    location / { default_type text/plain; return 200 "hello\n"; }
  }
}
EOF
setsid taskset -c "$load_cpus" nginx -p "$tmp/backend" -c "$tmp/backend/nginx.conf" > "$tmp/backend/out.log" 2>&1 &
backend_leader=$!
proxy_leader=""; discovery_leader=""
cleanup() {
  [[ -n "$proxy_leader" ]] && kill -- -"$proxy_leader" 2>/dev/null
  [[ -n "$discovery_leader" ]] && kill -- -"$discovery_leader" 2>/dev/null
  kill -- -"$backend_leader" 2>/dev/null
  [[ $keep == 1 ]] && log "kept $tmp" || rm -rf "$tmp"
}
trap cleanup EXIT
for i in $(seq 50); do (exec 3<>"/dev/tcp/127.0.0.1/$backend_port") 2>/dev/null && break; sleep 0.1; done

# The static bootstrap: admin on $1, one listener on $2 forwarding to the backend.
bootstrap() {
  "$here/benchmarks/scripts/bench-bootstrap.sh" "$2" "$backend_port" "$1"
}

discovery_port=""
if [[ $starts -gt 0 && $start_mode == discovery ]]; then
  discovery_port=$(free_port)
  mkdir -p "$tmp/discovery/config"
  cat > "$tmp/discovery/config/backend.yaml" <<YAML
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: backend, namespace: default }
spec:
  hosts: [backend.example]
  ports: [{ number: 80, name: http, protocol: HTTP }]
  resolution: STATIC
  endpoints: [{ address: 127.0.0.1, ports: { http: $backend_port } }]
YAML
  setsid java -XX:+UseSerialGC -Xmx256m -cp "$cp" io.jmesh.cli.Main discovery --config-dir "$tmp/discovery/config" \
    --grpc-addr "127.0.0.1:$discovery_port" --secure-grpc-addr "127.0.0.1:$(free_port)" --monitoring-addr "127.0.0.1:$(free_port)" > "$tmp/discovery/out.log" 2>&1 &
  discovery_leader=$!
  for i in $(seq 1 300); do (exec 3<>"/dev/tcp/127.0.0.1/$discovery_port") 2>/dev/null && break; sleep 0.1; done
fi

# Starts the proxy of a row in the background (setsid: its own process group): ROW_OPTS ADMIN_PORT LISTEN_PORT WORK MODE [CPUS]
spawn() {
  local opts=$1 admin=$2 listen=$3 work=$4 mode=$5 cpus=${6:-} java=java extra="--concurrency 1" args env=() w
  # Leading VAR=value words: JAVA= picks the JVM, any other goes to the proxy's environment (e.g. MALLOC_ARENA_MAX=2).
  while [[ $opts =~ ^([A-Z_][A-Z0-9_]*)=([^ ]*)( +|$)(.*)$ ]]; do
    if [[ ${BASH_REMATCH[1]} == JAVA ]]; then java=${BASH_REMATCH[2]}; else env+=("${BASH_REMATCH[1]}=${BASH_REMATCH[2]}"); fi
    opts=${BASH_REMATCH[4]}
  done
  if [[ $opts == *" -- "* ]]; then extra=${opts#* -- }; opts=${opts%% -- *}; fi
  if [[ $mode == discovery ]]; then
    args="--discovery-address 127.0.0.1:$discovery_port --node-id sidecar~127.0.0.1~bench.default~default.svc.cluster.local
      --admin-port $admin --prometheus-port -1 --status-port -1 --health-port -1 --listener-address 127.0.0.1
      --listener-port 15001=0 --listener-port 15006=0"
  else
    bootstrap "$admin" "$listen" > "$work/bootstrap.yaml"
    args="--config $work/bootstrap.yaml --status-port -1 --health-port -1"
  fi
  local pin=(env "${env[@]}"); [[ -n "$cpus" ]] && pin+=(taskset -c "$cpus")
  if [[ $opts == launcher ]]; then
    # shellcheck disable=SC2086
    setsid "${pin[@]}" "$here/jmesh" proxy $args $extra > "$work/proxy.log" 2>&1 &
  else
    # shellcheck disable=SC2086
    setsid "${pin[@]}" "$java" $opts -cp "$cp" io.jmesh.cli.Main proxy $args $extra > "$work/proxy.log" 2>&1 &
  fi
  proxy_leader=$!
}
ready() { [[ $(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$1/ready" 2>/dev/null) == 200 ]]; }
stop_proxy() {
  local pid=$1
  [[ -n "$proxy_leader" ]] && kill -- -"$proxy_leader" 2>/dev/null
  for i in $(seq 1 100); do [[ -n "$pid" && -d /proc/$pid ]] || break; sleep 0.1; done
  proxy_leader=""
}
java_pid() { # the JVM under the session leader $1 (the leader itself, or the child of ./jmesh's exec)
  pgrep -s "$1" -f 'io.jmesh.cli.Main proxy' | head -1
}
kib_field() { awk -v f="$2:" '$1 == f {printf "%.1f", $2 / 1024}' "/proc/$1/status"; }

start_times() { # NAME OPTS -> "median min max" in ms
  local name=$1 opts=$2 i admin listen t0 t1 ok times=()
  for i in $(seq 1 "$starts"); do
    admin=$(free_port); listen=$(free_port); local work="$tmp/$name-start-$i"; mkdir -p "$work"
    t0=$(now_ms)
    spawn "$opts" "$admin" "$listen" "$work" "$start_mode"
    ok=0
    for _ in $(seq 1 3000); do ready "$admin" && { ok=1; break; }; sleep 0.01; done
    t1=$(now_ms)
    stop_proxy "$(java_pid "$proxy_leader")"
    if [[ $ok == 1 ]]; then times+=($((t1 - t0))); else log "$name: start $i never ready"; tail -5 "$work/proxy.log" >&2; fi
  done
  [[ ${#times[@]} -gt 0 ]] || { echo "- - -"; return; }
  printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR] = $1} END {m = NR % 2 ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2; print m, a[1], a[NR]}'
}

nmt_mib() { # the committed MiB of NMT category $2 in summary file $1
  awk -v c="$2" '$0 ~ "^-  *" c " \\(" || $0 ~ "^-  *" c "  *\\(" {match($0, /committed=[0-9]+KB/); print substr($0, RSTART + 10, RLENGTH - 12) / 1024; exit}' "$1" \
    | awk '{printf "%.1f", $1}'
}

run_row() { # NAME OPTS
  local name=$1 opts=$2 admin listen work pid st l0 l1
  l0=$(loadavg)
  st="- - -"; [[ $starts -gt 0 ]] && st=$(start_times "$name" "$opts")
  work="$tmp/$name-load"; mkdir -p "$work"; admin=$(free_port); listen=$(free_port)
  local o=$opts
  if [[ $nmt == 1 && $o != launcher ]]; then
    if [[ $o == *" -- "* ]]; then o="${o%% -- *} -XX:NativeMemoryTracking=summary -- ${o#* -- }"; else o="$o -XX:NativeMemoryTracking=summary"; fi
  fi
  [[ $nmt == 1 && $o == launcher ]] && export JAVA_TOOL_OPTIONS=-XX:NativeMemoryTracking=summary
  spawn "$o" "$admin" "$listen" "$work" static "$proxy_cpu"
  unset JAVA_TOOL_OPTIONS
  for _ in $(seq 1 3000); do ready "$admin" && break; sleep 0.01; done
  pid=$(java_pid "$proxy_leader")
  if [[ -z "$pid" ]] || ! curl -sf -o /dev/null "http://127.0.0.1:$listen/"; then
    log "$name: proxy did not serve"; tail -20 "$work/proxy.log" >&2
    stop_proxy "$pid"; echo "| $name | FAILED | | | | | | | | | | | | | | | | | | | $l0 |"; return
  fi
  local idle; idle=$(kib_field "$pid" VmRSS)
  taskset -c "$load_cpus" h2load --h1 -D "$seconds" -c "$conns" -t 1 "http://127.0.0.1:$listen/" > "$work/load.out" 2>&1
  local rps; rps=$(grep -oP 'finished in [0-9.]+\w+, \K[0-9.]+(?= req/s)' "$work/load.out")
  local hwm rss anon file threads
  hwm=$(kib_field "$pid" VmHWM); rss=$(kib_field "$pid" VmRSS); anon=$(kib_field "$pid" RssAnon); file=$(kib_field "$pid" RssFile)
  threads=$(awk '$1 == "Threads:" {print $2}' "/proc/$pid/status")
  local heap="-" class="-" sym="-" arena="-" cds="-" total="-" code="-" thr="-" gc="-" other="-" internal="-" classes="-"
  if [[ $nmt == 1 ]]; then
    jcmd "$pid" VM.native_memory summary > "$work/nmt.txt" 2>&1
    heap=$(nmt_mib "$work/nmt.txt" "Java Heap")
    class=$(awk -v a="$(nmt_mib "$work/nmt.txt" "Class")" -v b="$(nmt_mib "$work/nmt.txt" "Metaspace")" 'BEGIN {printf "%.1f", a + b}')
    sym=$(nmt_mib "$work/nmt.txt" "Symbol"); arena=$(nmt_mib "$work/nmt.txt" "Arena Chunk"); cds=$(nmt_mib "$work/nmt.txt" "Shared class space")
    total=$(grep -oP '^Total: .*committed=\K[0-9]+' "$work/nmt.txt" | awk '{printf "%.1f", $1 / 1024}')
    code=$(nmt_mib "$work/nmt.txt" "Code"); thr=$(nmt_mib "$work/nmt.txt" "Thread"); gc=$(nmt_mib "$work/nmt.txt" "GC")
    other=$(nmt_mib "$work/nmt.txt" "Other"); internal=$(nmt_mib "$work/nmt.txt" "Internal")
  fi
  classes=$(jcmd "$pid" PerfCounter.print 2>/dev/null | awk -F= '/java.cls.loadedClasses=/ {l = $2} /java.cls.unloadedClasses=/ {u = $2} END {if (l != "") print l - u}')
  l1=$(loadavg)
  stop_proxy "$pid"
  read -r smed smin smax <<< "$st"
  echo "| $name | $smed ($smin–$smax) | ${rps:-0} | $hwm | $rss | $anon | $file | $idle | $total | $heap | $class | $cds | $code | $sym | $arena | $thr | $gc | $other/$internal | $threads | ${classes:--} | $l0 $l1 |"
}

{
  echo "## sidecar-footprint $(date -u +%FT%TZ)"
  echo
  echo "- host: $ncpu CPUs, $(java -version 2>&1 | head -1); load: h2load --h1, $conns connections, ${seconds} s, proxy on CPU $proxy_cpu,"
  echo "  h2load and nginx on CPU $load_cpus; start: exec to /ready 200 ($start_mode bootstrap), median (min–max) of $starts,"
  echo "  not pinned. MiB. NMT columns: committed, from \`jcmd VM.native_memory summary\` after the load$([[ $nmt == 1 ]] || echo ' (off: --no-nmt)')."
  echo
  echo "| row | start ms | req/s | peak RSS (VmHWM) | RSS after | anon | file | RSS idle (before load) | NMT total | heap | metaspace+class space | CDS archive | code | symbols | arena chunks | thread | GC | other/internal | threads | classes | load 1m (start end) |"
  echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"
} | tee "$tmp/report.md"
for row in "${rows[@]}"; do
  name=${row%%=*}; opts=${row#*=}
  log "$name (load $(loadavg))"
  run_row "$name" "$opts" | tee -a "$tmp/report.md"
done
[[ -n "$out" ]] && cp "$tmp/report.md" "$out"
exit 0
