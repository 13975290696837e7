/**
 * Envoy's compression libraries ({@code envoy.compression.gzip|brotli|zstd.compressor|decompressor}) for the
 * compressor and decompressor HTTP filters: typed configs parsed into {@link io.jmesh.proxy.filter.compression.CompressorLibrary}
 * and {@link io.jmesh.proxy.filter.compression.DecompressorLibrary}, each making one streaming (de)compressor per
 * HTTP stream. gzip is the JDK's zlib; brotli is brotli4j and zstd is zstd-jni (the libraries Netty's codecs use).
 */
package io.jmesh.proxy.filter.compression;
