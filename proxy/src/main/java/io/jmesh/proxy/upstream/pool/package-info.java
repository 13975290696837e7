/**
 * Upstream connection pools, one set per event loop (Envoy's per-worker pools): HTTP/1.1 keep-alive
 * reuse and HTTP/2 multiplexing within {@code max_concurrent_streams}. Every pool is confined to its
 * event loop; nothing here is thread-safe and nothing needs to be.
 */
package io.jmesh.proxy.upstream.pool;
