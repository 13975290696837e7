/**
 * {@code envoy.filters.http.compressor}: compresses response bodies (and, when configured, request bodies) with
 * gzip, brotli or zstd as they stream, after negotiating {@code accept-encoding} as Envoy does.
 */
package io.jmesh.proxy.filter.compressor;
