/**
 * RPC load tool: real SOFARPC (Bolt) and Dubbo providers and consumers, driven by
 * {@code benchmarks/scripts/rpc-bench.sh} to compare direct calls, haproxy in TCP mode and the jmesh
 * proxy's rpc_proxy filter (issue 4, section 6). See docs/performance.md, "RPC (Bolt, Dubbo)".
 */
package io.jmesh.benchmarks.rpc;
