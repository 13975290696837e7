#!/usr/bin/env bash
# cpu-per-request.sh: CPU time a proxy spends per request, measured so that other work on the machine changes it as
# little as possible, for several proxy commands side by side (rounds interleaved):
#
#   - a fixed number of requests (h2load --h1, keep-alive), not a fixed time: the same work in every row;
#   - warm-up by request count, then wait until the JIT compilers are idle (their CPU no longer grows), so that
#     compilation is not counted in the measured window (on a busy machine a time-based warm-up ends long before
#     C2 is done, and its CPU, which is the proxy's, lands in the figure);
#   - CPU read per thread from /proc/PID/task/*/schedstat (nanoseconds on the CPU, waiting for a CPU excluded),
#     split into the event-loop workers (threads jmesh-worker-*), JIT, GC/VM and the rest (access-log writer,
#     tracer reporters, ...);
#   - latency at a fixed low rate (wrk, one connection, paced with a Lua delay) instead of at saturation;
#   - the 1-minute load average next to every figure.
#
# A row is NAME='COMMAND': COMMAND runs with bash -c in the foreground and listens on 127.0.0.1:$PROXY_PORT,
# forwarding HTTP/1.1 to 127.0.0.1:$BACKEND_PORT (the same contract as proxy-bench's --proxy-cmd; env passed:
# PROXY_PORT BACKEND_HOST BACKEND_PORT PB_WORKDIR). The backend is nginx (one worker, "hello\n"). Placement: the proxy
# on the last CPU, the load generator and the backend on the others (on a 2-CPU machine: CPU 1 and CPU 0).
#
#   benchmarks/scripts/cpu-per-request.sh --requests 100000 --rounds 2 \
#     plain='PAIR_MODE=plain exec benchmarks/scripts/mtls-pair-cmd.sh' \
#     mtls='PAIR_MODE=mtls exec benchmarks/scripts/mtls-pair-cmd.sh'
#
# Options: --requests N (measured, default 100000), --warmup-requests N (default 2 x requests), --connections C
# (default 32), --rate R (req/s of the latency run, default 200), --latency-seconds S (default 10; 0 skips it),
# --rounds N (default 1), --header 'K: V' (sent with every request; repeatable), --out FILE (the markdown report,
# also on stdout), --keep (keep the work directory). Rows' raw lines go to stderr.
set -uo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$here"
requests=100000; warmup=""; conns=32; rate=200; lat_secs=10; rounds=1; out=""; keep=0; headers=()
rows=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --requests) requests=$2; shift 2 ;;
    --warmup-requests) warmup=$2; shift 2 ;;
    --connections) conns=$2; shift 2 ;;
    --rate) rate=$2; shift 2 ;;
    --latency-seconds) lat_secs=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    --header) headers+=("$2"); shift 2 ;;
    --out) out=$2; shift 2 ;;
    --keep) keep=1; shift ;;
    -h|--help) sed -n 2,30p "$0"; exit 0 ;;
    *=*) rows+=("$1"); shift ;;
    *) echo "cpu-per-request: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done
[[ ${#rows[@]} -gt 0 ]] || { echo "cpu-per-request: no NAME='COMMAND' row given (see --help)" >&2; exit 2; }
[[ -n "$warmup" ]] || warmup=$((requests * 2))
for t in h2load wrk nginx taskset; do
  command -v "$t" >/dev/null || { echo "cpu-per-request: $t is needed (apt-get install nghttp2-client wrk nginx)" >&2; exit 2; }
done
ncpu=$(nproc)
proxy_cpu=$((ncpu - 1)); load_cpus="0-$((ncpu > 1 ? ncpu - 2 : 0))"
tmp=$(mktemp -d /tmp/cpu-per-request.XXXX)
chmod 755 "$tmp"
log() { echo "cpu-per-request: $*" >&2; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
loadavg() { cut -d' ' -f1 /proc/loadavg; }

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
proxy_leader=""
cleanup() {
  [[ -n "$proxy_leader" ]] && kill -- -"$proxy_leader" 2>/dev/null
  kill -- -"$backend_leader" 2>/dev/null
  [[ $keep == 1 ]] && log "kept $tmp" || rm -rf "$tmp"
}
trap cleanup EXIT
for i in $(seq 50); do (exec 3<>"/dev/tcp/127.0.0.1/$backend_port") 2>/dev/null && break; sleep 0.1; done

# The paced single-connection client of the latency run: one request every 1000/rate ms.
cat > "$tmp/paced.lua" <<EOF
local gap = 1000 / $rate
function delay() return gap end
EOF
wrk_headers=(); h2_headers=()
for h in "${headers[@]}"; do wrk_headers+=(-H "$h"); h2_headers+=(-H "$h"); done

# Per-thread CPU of a process: "worker jit gc other" in nanoseconds (schedstat's first field: time on a CPU).
cpu_split() {
  local pid=$1 w=0 j=0 g=0 o=0 t comm ns
  for t in /proc/"$pid"/task/*; do
    comm=$(cat "$t/comm" 2>/dev/null) || continue
    ns=$(cut -d' ' -f1 "$t/schedstat" 2>/dev/null) || continue
    case "$comm" in
      jmesh-worker*|nginx*|haproxy*) w=$((w + ns)) ;;
      C1\ Compiler*|C2\ Compiler*|Sweeper*) j=$((j + ns)) ;;
      VM\ Thread|GC\ *|G1\ *) g=$((g + ns)) ;;
      *) o=$((o + ns)) ;;
    esac
  done
  echo "$w $j $g $o"
}
# The proxy's JVM (or other server) process: the one listening on the port.
listener_pid() { ss -ltnpH "sport = :$1" 2>/dev/null | grep -oP 'pid=\K\d+' | head -1; }
jit_ns() { cpu_split "$1" | cut -d' ' -f2; }

run_row() { # NAME CMD ROUND
  local name=$1 cmd=$2 round=$3 port work pid i before after res ok j0 j1 n
  port=$(free_port); work="$tmp/$name-$round"; mkdir -p "$work"
  PROXY_PORT=$port BACKEND_HOST=127.0.0.1 BACKEND_PORT=$backend_port PB_WORKDIR=$work PB_INBOUND_PORT=$(free_port) \
    setsid taskset -c "$proxy_cpu" bash -c "$cmd" > "$work/proxy.log" 2>&1 &
  proxy_leader=$!
  pid=""
  for i in $(seq 1 180); do
    pid=$(listener_pid "$port"); [[ -n "$pid" ]] && curl -s -o /dev/null "${wrk_headers[@]}" "http://127.0.0.1:$port/" && break
    sleep 0.5
  done
  if [[ -z "$pid" ]]; then
    log "$name: did not listen on $port"; tail -20 "$work/proxy.log" >&2
    echo "| $name | $round | FAILED | | | | | | | | | | $(loadavg) |"
    kill -- -"$proxy_leader" 2>/dev/null; proxy_leader=""; return
  fi
  taskset -c "$load_cpus" h2load --h1 -n "$warmup" -c "$conns" -t 1 "${h2_headers[@]}" "http://127.0.0.1:$port/" > "$work/warmup.out" 2>&1
  # Until the JIT is idle: compiler threads gained under 5 ms of CPU in 2 s (at most 60 s), with light traffic.
  for i in $(seq 1 30); do
    j0=$(jit_ns "$pid")
    taskset -c "$load_cpus" h2load --h1 -n 2000 -c 4 -t 1 "${h2_headers[@]}" "http://127.0.0.1:$port/" > /dev/null 2>&1
    sleep 1.5
    j1=$(jit_ns "$pid")
    (( j1 - j0 < 5000000 )) && break
  done
  local l0; l0=$(loadavg)
  before=$(cpu_split "$pid")
  res=$(taskset -c "$load_cpus" h2load --h1 -n "$requests" -c "$conns" -t 1 "${h2_headers[@]}" "http://127.0.0.1:$port/" 2>&1)
  after=$(cpu_split "$pid")
  echo "$res" > "$work/measured.out"
  ok=$(grep -oP 'status codes: \K\d+(?= 2xx)' <<< "$res")
  local rps; rps=$(grep -oP 'finished in [0-9.]+\w+, \K[0-9.]+(?= req/s)' <<< "$res")
  local rss; rss=$(awk '/VmRSS/ {printf "%.0f", $2 / 1024}' "/proc/$pid/status")
  local lat="- -"
  if [[ "$lat_secs" -gt 0 ]]; then
    local w; w=$(taskset -c "$load_cpus" wrk -t1 -c1 -d"${lat_secs}s" --latency -s "$tmp/paced.lua" "${wrk_headers[@]}" \
      "http://127.0.0.1:$port/" 2>&1)
    echo "$w" > "$work/latency.out"
    lat="$(awk '$1 == "50%" {p50 = $2} $1 == "99%" {p99 = $2} END {print p50, p99}' <<< "$w")"
  fi
  local l1; l1=$(loadavg)
  kill -- -"$proxy_leader" 2>/dev/null; proxy_leader=""
  for i in $(seq 1 50); do [[ -d /proc/$pid ]] || break; sleep 0.1; done
  n=${ok:-0}
  if [[ "$n" -le 0 ]]; then
    log "$name: no 2xx: $(grep -E 'status codes|requests:' <<< "$res" | tr '\n' ' ')"
    echo "| $name | $round | FAILED (no 2xx) | | | | | | | | | | $l0 $l1 |"
    return
  fi
  read -r bw bj bg bo <<< "$before"; read -r aw aj ag ao <<< "$after"
  awk -v name="$name" -v r="$round" -v n="$n" -v req="$requests" -v rps="${rps:-0}" -v w=$((aw - bw)) -v j=$((aj - bj)) \
      -v g=$((ag - bg)) -v o=$((ao - bo)) -v lat="$lat" -v rss="$rss" -v load="$l0 $l1" 'BEGIN {
    split(lat, l, " ");
    printf "| %s | %d | %d/%d | %.0f | %.1f | %.1f | %.1f | %.1f | %.1f | %s | %s | %s | %s |\n", name, r, n, req, rps,
      w / n / 1000, o / n / 1000, g / n / 1000, j / n / 1000, (w + o + g) / n / 1000, l[1], l[2], rss, load }'
}

{
  echo "## cpu-per-request $(date -u +%FT%TZ)"
  echo
  echo "- host: $ncpu CPUs; proxy on CPU $proxy_cpu, h2load/wrk and the nginx backend on CPU $load_cpus; $rounds round(s);"
  echo "  $requests measured requests (after $warmup warm-up and an idle JIT), $conns connections, HTTP/1.1 keep-alive;"
  echo "  latency: one connection at $rate req/s for ${lat_secs} s. CPU in µs per 2xx request, from per-thread schedstat."
  echo
  echo "| row | round | 2xx/sent | req/s | worker µs/req | other threads µs/req | GC+VM µs/req | JIT µs/req (not in total) | total µs/req | p50 at $rate/s | p99 at $rate/s | RSS MiB | load 1m (start end) |"
  echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"
} | tee "$tmp/report.md"
for r in $(seq 1 "$rounds"); do
  for row in "${rows[@]}"; do
    name=${row%%=*}; cmd=${row#*=}
    log "round $r: $name (load $(loadavg))"
    run_row "$name" "$cmd" "$r" | tee -a "$tmp/report.md"
  done
done
[[ -n "$out" ]] && cp "$tmp/report.md" "$out"
exit 0
