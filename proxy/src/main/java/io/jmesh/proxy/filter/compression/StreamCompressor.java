package io.jmesh.proxy.filter.compression;

import java.io.IOException;

import io.netty.buffer.ByteBuf;

/**
 * The compressor of one body (one direction of one HTTP stream). Each piece is compressed and flushed as it
 * comes, so that the receiver can decompress what it got so far (Envoy's {@code Compressor::compress} with
 * {@code State::Flush}, {@code State::Finish} at the end). Not thread-safe: used on the stream's event loop.
 */
public interface StreamCompressor {

    /**
     * Compresses {@code in} (released, even on failure) and returns the compressed bytes produced, possibly empty;
     * with {@code finish} the compressed stream ends (its trailer is in the result) and native memory is freed.
     */
    ByteBuf compress(ByteBuf in, boolean finish) throws IOException;

    /** Frees native memory of a body that will not finish (the stream was reset); idempotent. */
    void close();
}
