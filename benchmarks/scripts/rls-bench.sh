#!/usr/bin/env bash
# Round trip of jmesh ratelimit's ShouldRateLimit (io.jmesh.benchmarks.ratelimit.RlsRoundTrip), counters in memory
# and in a redis-server started here on a free port of 127.0.0.1, with 1 and 8 callers.
#   benchmarks/scripts/rls-bench.sh [--warmup S] [--duration S]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
ARGS=("$@")
./mvnw -B -q -o -pl benchmarks -am compile dependency:build-classpath -Dmdep.outputFile=target/cp.txt -DskipTests
cp="benchmarks/target/classes:$(cat benchmarks/target/cp.txt)"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')
dir=$(mktemp -d)
redis-server --port "$port" --bind 127.0.0.1 --save "" --appendonly no --dir "$dir" >"$dir/redis.log" 2>&1 &
redis_pid=$!
trap 'kill $redis_pid 2>/dev/null; rm -rf "$dir"' EXIT
for i in $(seq 50); do redis-cli -p "$port" ping >/dev/null 2>&1 && break; sleep 0.1; done
for callers in 1 8; do
  java -Xmx256m -cp "$cp" io.jmesh.benchmarks.ratelimit.RlsRoundTrip --callers "$callers" "${ARGS[@]}" 2>/dev/null | grep rls-roundtrip
  java -Xmx256m -cp "$cp" io.jmesh.benchmarks.ratelimit.RlsRoundTrip --callers "$callers" --redis "127.0.0.1:$port" "${ARGS[@]}" 2>/dev/null | grep rls-roundtrip
done
