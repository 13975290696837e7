#!/usr/bin/env bash
# The --proxy-cmd for benchmarks/scripts/proxy-bench: writes an Envoy bootstrap that listens on
# 127.0.0.1:$PROXY_PORT (h2c with prior knowledge too: codec AUTO) and forwards to 127.0.0.1:$BACKEND_PORT
# over HTTP/1.1 keep-alive, then execs `jmesh proxy` in the foreground on one worker thread.
#
#   benchmarks/scripts/proxy-bench --warmup 20 --repeat 3 --proxy-name jmesh \
#     --proxy-cmd 'exec benchmarks/scripts/proxy-bench-cmd.sh'
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cfg="${PB_WORKDIR:-/tmp}/jmesh-bench.yaml"
"$here/benchmarks/scripts/bench-bootstrap.sh" "$PROXY_PORT" "$BACKEND_PORT" > "$cfg"
exec "$here/benchmarks/scripts/jmesh-proxy-exec.sh" "$cfg"
