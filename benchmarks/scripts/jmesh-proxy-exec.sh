#!/usr/bin/env bash
# Execs `jmesh proxy --config CFG` in the foreground on one worker thread, as the bench commands
# (proxy-bench-cmd.sh, mtls-pair-cmd.sh, telemetry-cmd.sh) end: JVM flags from JMESH_BENCH_JAVA_OPTS, else a serial
# GC with a fixed heap of HEAP (default 48m) and Netty's leak detector off; extra `jmesh proxy` flags from
# JMESH_PROXY_ARGS; JMESH_BENCH_CP_PREFIX (a class path) goes before the jars, to run other builds of some classes
# (telemetry-bench's *-base rows). Keeps the caller's PID (exec), which the benchmarks measure.
#
#   exec benchmarks/scripts/jmesh-proxy-exec.sh CFG [HEAP]
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cfg="$1"
heap="${2:-48m}"
exec java ${JMESH_BENCH_JAVA_OPTS:--XX:+UseSerialGC -Xms$heap -Xmx$heap -XX:+AlwaysPreTouch -Dio.netty.leakDetection.level=disabled} \
  -cp "${JMESH_BENCH_CP_PREFIX:+$JMESH_BENCH_CP_PREFIX:}$here/cli/target/jmesh-cli-0.1.0-SNAPSHOT.jar:$here/cli/target/lib/*" \
  io.jmesh.cli.Main proxy --config "$cfg" --concurrency 1 --status-port -1 ${JMESH_PROXY_ARGS:-}
