/**
 * {@code envoy.filters.http.decompressor}: decompresses gzip, brotli or zstd request and response bodies as they
 * stream, and advertises the encoding upstream in {@code accept-encoding}.
 */
package io.jmesh.proxy.filter.decompressor;
