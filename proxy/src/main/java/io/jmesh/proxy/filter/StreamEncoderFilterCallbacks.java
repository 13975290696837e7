package io.jmesh.proxy.filter;

import io.netty.buffer.ByteBuf;

/** The callbacks of an encoder filter (Envoy's {@code StreamEncoderFilterCallbacks}). */
public interface StreamEncoderFilterCallbacks extends StreamFilterCallbacks {

    /** Resumes a response this filter stopped; a no-op when it has not stopped it. */
    void continueEncoding();

    /** The response body buffered at this filter, or null. */
    ByteBuf encodingBuffer();

    /** Appends {@code data} (ownership passes) to the buffered response body. */
    void addEncodedData(ByteBuf data);

    /**
     * Passes {@code data} (ownership passes) to the encoder filters after this one right away (Envoy's
     * {@code injectEncodedDataToFilterChain}); as {@link StreamDecoderFilterCallbacks#injectDecodedDataToFilterChain}.
     */
    void injectEncodedDataToFilterChain(ByteBuf data, boolean endStream);
}
