#!/usr/bin/env bash
# Runs the control-plane load tool (io.jmesh.benchmarks.discovery.PilotLoad) from the benchmarks jar,
# building it first if missing. Discovery runs as a separate JVM (-Xmx from --discovery-xmx, 1g by
# default); this JVM holds the simulated sidecars. Everything is on 127.0.0.1 and bounded in time:
# the tool's own --timeout-seconds (default 600) and, as a backstop, `timeout` here.
#
#   benchmarks/scripts/pilot-load.sh --services 100 --proxies 100
#   benchmarks/scripts/pilot-load.sh --services 1000 --proxies 2000 --timeout-seconds 900
#
# Environment: PILOT_LOAD_CLIENT_OPTS (JVM options of the load tool, default -Xmx2g),
# PILOT_LOAD_DISCOVERY_OPTS (extra JVM options of the discovery JVM, e.g. -XX:StartFlightRecording=...).
set -euo pipefail
cd "$(dirname "$0")/../.."
jar=benchmarks/target/benchmarks.jar
if [[ ! -f $jar ]]; then
  ./mvnw -q -o -B -pl benchmarks -am package -DskipTests
fi
limit=600
args=("$@")
for ((i = 0; i < ${#args[@]}; i++)); do
  if [[ ${args[i]} == --timeout-seconds ]]; then limit=${args[i+1]}; fi
done
exec timeout -k 10 $((limit + 30)) java ${PILOT_LOAD_CLIENT_OPTS:--Xmx2g} \
  -cp "$jar" io.jmesh.benchmarks.discovery.PilotLoad "$@"
