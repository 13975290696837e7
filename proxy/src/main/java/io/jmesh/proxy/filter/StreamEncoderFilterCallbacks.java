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
}
