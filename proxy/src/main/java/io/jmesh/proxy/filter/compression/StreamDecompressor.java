package io.jmesh.proxy.filter.compression;

import io.netty.buffer.ByteBuf;

/**
 * The decompressor of one body. Not thread-safe: used on the stream's event loop.
 */
public interface StreamDecompressor {

    /**
     * Decompresses {@code in} (released, even on failure) and returns what it inflates to so far, possibly empty.
     *
     * @throws io.netty.handler.codec.compression.DecompressionException on corrupt input or past the inflate ratio
     */
    ByteBuf decompress(ByteBuf in);

    /** Frees what the decompressor holds; idempotent. */
    void close();
}
