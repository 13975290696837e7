#!/usr/bin/env bash
# TLS engine, socket level: a jmesh TLS listener answering by itself (TlsProxyMain), loaded by wrk over
# HTTPS, with the JDK engine and with the OpenSSL engine; keep-alive (CPU per TLS request) and
# "Connection: close" (one full handshake per request). The proxy runs on CPU 1 with one worker, wrk on CPU 0.
# Prints one line per run: engine, mode, requests/s, proxy CPU ms per request (from /proc/PID/stat).
# Usage: benchmarks/scripts/tls-engine-bench.sh [seconds] [key: ec|rsa]   (after building benchmarks.jar)
set -uo pipefail
cd "$(dirname "$0")/../.."
SECS=${1:-10}
KEY=${2:-ec}
JAR=benchmarks/target/benchmarks.jar
TICK=$(getconf CLK_TCK)

cpu() { awk '{print $14+$15}' "/proc/$1/stat"; }

for ENGINE in jdk openssl; do
  LOG=$(mktemp)
  taskset -c 1 java -Djmesh.tls.engine=$ENGINE -cp "$JAR" io.jmesh.benchmarks.tls.TlsProxyMain 0 "$KEY" 1 >"$LOG" 2>&1 &
  PID=$!
  for _ in $(seq 1 60); do grep -q listening "$LOG" && break; sleep 1; done
  PORT=$(grep -o 'listening on .*' "$LOG" | sed 's/.*://')
  for MODE in keepalive close; do
    HDR=()
    [ "$MODE" = close ] && HDR=(-H 'Connection: close')
    taskset -c 0 wrk -t1 -c16 -d3s "${HDR[@]}" "https://127.0.0.1:$PORT/" >/dev/null 2>&1
    C0=$(cpu $PID)
    OUT=$(taskset -c 0 wrk -t1 -c16 -d${SECS}s "${HDR[@]}" "https://127.0.0.1:$PORT/" 2>&1)
    C1=$(cpu $PID)
    REQS=$(echo "$OUT" | awk '/requests in/ {print $1}')
    RPS=$(echo "$OUT" | awk '/Requests\/sec/ {print $2}')
    ERRS=$(echo "$OUT" | grep -E 'Non-2xx|Socket errors' | tr '\n' ' ')
    MS=$(awk -v c=$((C1 - C0)) -v t=$TICK -v r="$REQS" 'BEGIN { printf "%.3f", c * 1000 / t / r }')
    echo "$ENGINE $KEY $MODE rps=$RPS cpu_ms_per_req=$MS $ERRS"
  done
  kill $PID; wait $PID 2>/dev/null
  rm -f "$LOG"
done
