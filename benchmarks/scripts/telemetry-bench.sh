#!/usr/bin/env bash
# Issue 11 §6 in one run, through one outbound sidecar (benchmarks/scripts/telemetry-cmd.sh):
#
# 1. CPU per request and latency (benchmarks/scripts/cpu-per-request.sh: a fixed number of requests after an idle
#    JIT, CPU per thread, latency at a fixed low rate), rounds interleaved, rows:
#      router     the router alone (the baseline)
#      stats      istio.stats
#      tracing    tracing at 1% (Zipkin HTTP_JSON to a local sink), generate_request_id
#      accesslog  the file access log, Istio's default format
#      all        stats + tracing + access log (the goal: <= 15% more CPU per request than router)
# 2. Memory of series: istio.stats with a dimension path = request.path on all four request metrics, so that each
#    new path is four new series (a counter and three histograms); --series new paths are sent (h2load, one request
#    each); reported: Java heap used after a full GC and RSS, before and after, per 1,000 series, and the series
#    count read back from /stats/prometheus.
# 3. The cap: the same with --max-series-per-metric set below the number of paths: the series count must stop at
#    the cap and istio_stats_dropped_series_total must count the rest (printed as PASS/FAIL).
#
#   ./jmesh version          # builds cli/target
#   benchmarks/scripts/telemetry-bench.sh --requests 100000 --rounds 2 --series 20000 --out /tmp/telemetry.md
#
# Options: --requests N, --rounds N, --rate R, --latency-seconds S (passed to cpu-per-request.sh), --rows LIST
# (default router,stats,tracing,accesslog,all; none skips part 1; ROW-base is ROW run with the class path
# TELEMETRY_BENCH_BASE_CP before the jars, e.g. the previous build of the classes a change touched), --series N
# (default 20000; 0 skips 2 and 3), --cap N (default 1000), --out FILE.
set -uo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$here"
scripts=benchmarks/scripts
requests=100000; rounds=1; rate=200; lat=10; rows="router,stats,tracing,accesslog,all"; series=20000; cap=1000; out=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --requests) requests=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    --rate) rate=$2; shift 2 ;;
    --latency-seconds) lat=$2; shift 2 ;;
    --rows) rows=$2; shift 2 ;;
    --series) series=$2; shift 2 ;;
    --cap) cap=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    -h|--help) sed -n 2,24p "$0"; exit 0 ;;
    *) echo "telemetry-bench: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
[[ -f cli/target/jmesh-cli-0.1.0-SNAPSHOT.jar ]] || { echo "telemetry-bench: run ./jmesh version first" >&2; exit 2; }
tmp=$(mktemp -d /tmp/telemetry-bench.XXXX)
chmod 755 "$tmp"
report="$tmp/report.md"
log() { echo "telemetry-bench: $*" >&2; }

args=()
for r in ${rows//,/ }; do
  name=$r; prefix=""
  if [[ "$r" == *-base ]]; then
    # The same row with the classes of TELEMETRY_BENCH_BASE_CP first: a before/after pair in one interleaved run.
    [[ -n "${TELEMETRY_BENCH_BASE_CP:-}" ]] || { echo "telemetry-bench: row $r needs TELEMETRY_BENCH_BASE_CP" >&2; exit 2; }
    r=${r%-base}; prefix="JMESH_BENCH_CP_PREFIX=$TELEMETRY_BENCH_BASE_CP "
  fi
  case "$r" in
    router) t="" ;;
    all) t="stats,tracing,accesslog" ;;
    *) t="$r" ;;
  esac
  args+=("$name=${prefix}TELEMETRY=$t exec $scripts/telemetry-cmd.sh")
done
{
  echo "# telemetry-bench $(date -u +%FT%TZ), $(git rev-parse --short HEAD 2>/dev/null)"
  echo
} > "$report"
[[ "$rows" == none ]] || "$scripts/cpu-per-request.sh" --requests "$requests" --rounds "$rounds" --rate "$rate" --latency-seconds "$lat" \
  "${args[@]}" >> "$report"
# Medians of total CPU per row, and each against router.
python3 - "$report" > "$tmp/summary.md" <<'PY'
import statistics, sys
rows = {}
for line in open(sys.argv[1]):
    f = [c.strip() for c in line.split('|')]
    if len(f) > 10 and f[2].isdigit() and 'FAILED' not in f[3]:
        rows.setdefault(f[1], []).append(float(f[9]))
if rows:
    base = statistics.median(rows['router']) if 'router' in rows else None
    print('\n| row | median total µs/req | vs router |\n|---|---:|---:|')
    for r, v in rows.items():
        m = statistics.median(v)
        print(f'| {r} | {m:.1f} | {m / base:.3f} |' if base else f'| {r} | {m:.1f} | - |')
PY
cat "$tmp/summary.md" >> "$report"

# ------------------------------------------------------------------ memory of series, and the cap
if [[ "$series" -gt 0 ]]; then
  free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
  bport=$(free_port)
  mkdir -p "$tmp/backend"
  cat > "$tmp/backend/nginx.conf" <<EOF
worker_processes 1; daemon off; pid $tmp/backend/nginx.pid; error_log $tmp/backend/error.log warn;
events { worker_connections 1024; }
http { access_log off; client_body_temp_path $tmp/backend/t_body; proxy_temp_path $tmp/backend/t_proxy;
  fastcgi_temp_path $tmp/backend/t_fcgi; uwsgi_temp_path $tmp/backend/t_uwsgi; scgi_temp_path $tmp/backend/t_scgi;
  keepalive_requests 100000000;
  server { listen 127.0.0.1:$bport; location / { default_type text/plain; return 200 "hello\n"; } } }
EOF
  setsid nginx -p "$tmp/backend" -c "$tmp/backend/nginx.conf" > "$tmp/backend/out.log" 2>&1 &
  backend=$!
  trap 'kill -- -$backend 2>/dev/null; [[ -n "${proxy:-}" ]] && kill -- -$proxy 2>/dev/null; rm -rf "$tmp"' EXIT
  for i in $(seq 1 "$series"); do echo "http://127.0.0.1:PORT/s/$i"; done > "$tmp/paths.tmpl"
  heap_used() { # bytes used in the Java heap after a full GC
    jcmd "$1" GC.run > /dev/null 2>&1
    jcmd "$1" GC.heap_info 2>/dev/null | grep -oP 'total \d+K, used \K\d+(?=K)' | awk '{ s += $1 } END { printf "%d", s * 1024 }'
  }
  rss() { awk '/VmRSS/ { print $2 * 1024 }' "/proc/$1/status"; }
  series_count() { curl -s "http://127.0.0.1:$1/stats/prometheus" | grep -c "^$2{"; }
  run_series() { # CAP -> starts a proxy, sends $series new paths, prints "heap0 heap1 rss0 rss1 count dropped"
    local maxs=$1 port admin pid
    port=$(free_port); admin=$(free_port)
    mkdir -p "$tmp/series-$maxs"
    PROXY_PORT=$port ADMIN_PORT=$admin BACKEND_PORT=$bport PB_WORKDIR="$tmp/series-$maxs" \
      TELEMETRY=stats,dims JMESH_BENCH_JAVA_OPTS="-XX:+UseSerialGC -Xms32m -Xmx1g -Dio.netty.leakDetection.level=disabled" \
      JMESH_PROXY_ARGS="--max-series-per-metric $maxs" setsid "$scripts/telemetry-cmd.sh" > "$tmp/series-$maxs/log" 2>&1 &
    proxy=$!
    for i in $(seq 1 180); do curl -s -o /dev/null "http://127.0.0.1:$port/warm" && break; sleep 0.5; done
    pid=$(ss -ltnpH "sport = :$port" | grep -oP 'pid=\K\d+' | head -1)
    h2load --h1 -n 20000 -c 4 "http://127.0.0.1:$port/warm" > /dev/null 2>&1 # one series; JIT and pools warm
    local h0 r0 h1 r1 n d
    h0=$(heap_used "$pid"); r0=$(rss "$pid")
    sed "s/PORT/$port/" "$tmp/paths.tmpl" > "$tmp/paths-$maxs.txt"
    # One client: h2load's clients each walk the list from its start, so one client sends each path once.
    h2load --h1 -c 1 -i "$tmp/paths-$maxs.txt" -n "$series" > "$tmp/series-$maxs/h2load.out" 2>&1
    h1=$(heap_used "$pid"); r1=$(rss "$pid")
    if [[ "$maxs" -lt "$series" ]]; then
      n=$(series_count "$admin" istio_requests_total)
    else # too many series to scrape in one go (each histogram is 22 lines): the paths that got a 2xx, plus /warm
      n=$(( $(grep -oP 'status codes: \K\d+(?= 2xx)' "$tmp/series-$maxs/h2load.out") + 1 ))
    fi
    d=$(curl -s "http://127.0.0.1:$admin/stats/prometheus" | awk '/^istio_stats_dropped_series_total/ { s += $NF } END { printf "%d", s }')
    kill -- -"$proxy" 2>/dev/null; proxy=""
    echo "$h0 $h1 $r0 $r1 $n $d"
  }
  log "series: $series new paths, no cap"
  read -r h0 h1 r0 r1 n d <<< "$(run_series 100000000)"
  {
    echo
    echo "### Memory of series ($series new request paths, a dimension path = request.path on the four request metrics; load $(cut -d' ' -f1 /proc/loadavg))"
    echo
    echo "| measure | before | after | per 1,000 series |"
    echo "|---|---:|---:|---:|"
    awk -v h0="$h0" -v h1="$h1" -v r0="$r0" -v r1="$r1" -v n="$n" 'BEGIN { s = 4 * n;
      printf "| istio_requests_total series (paths answered 2xx + 1) | 1 | %d | - |\n", n;
      printf "| series in all (x4: a counter and 3 histograms per path) | 4 | %d | - |\n", s;
      printf "| Java heap used after full GC, MiB | %.1f | %.1f | %.1f KiB |\n", h0 / 1048576, h1 / 1048576, (h1 - h0) / 1024 / s * 1000;
      printf "| RSS, MiB | %.1f | %.1f | %.1f KiB |\n", r0 / 1048576, r1 / 1048576, (r1 - r0) / 1024 / s * 1000 }'
  } >> "$report"
  log "series: $series new paths, cap $cap"
  read -r h0 h1 r0 r1 n d <<< "$(run_series "$cap")"
  if [[ "$series" -gt "$cap" && "$n" -le "$cap" && "$d" -gt 0 ]]; then verdict=PASS; else verdict=FAIL; fi
  {
    echo
    echo "### The cap (--max-series-per-metric $cap, $series new paths): $verdict"
    echo
    echo "istio_requests_total series: $n (cap $cap); istio_stats_dropped_series_total (all families): $d;"
    awk -v h0="$h0" -v h1="$h1" 'BEGIN { printf "heap used after full GC: %.1f MiB before, %.1f MiB after.\n", h0 / 1048576, h1 / 1048576 }'
  } >> "$report"
fi
cat "$report"
[[ -n "$out" ]] && cp "$report" "$out"
exit 0
