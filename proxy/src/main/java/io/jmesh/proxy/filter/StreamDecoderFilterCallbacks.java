package io.jmesh.proxy.filter;

import io.jmesh.proxy.upstream.pool.UpstreamStream;
import io.netty.buffer.ByteBuf;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpResponse;

/**
 * The callbacks of a decoder filter (Envoy's {@code StreamDecoderFilterCallbacks}): resume the request, reach
 * the buffered body, and produce the response (the router does; any decoder filter may answer on its own).
 */
public interface StreamDecoderFilterCallbacks extends StreamFilterCallbacks {

    /**
     * Resumes a request this filter stopped: the headers, the buffered body and the trailers go on to the next
     * filters. A no-op when this filter has not stopped the request.
     */
    void continueDecoding();

    /** The request body buffered at this filter (see {@link FilterDataStatus#STOP_ITERATION_AND_BUFFER}), or null. */
    ByteBuf decodingBuffer();

    /**
     * Appends {@code data} (ownership passes) to the buffered request body, e.g. from {@code decodeHeaders} of a
     * headers-only request that the filter gives a body, or from {@code decodeData} of a filter that rewrites
     * the body. It goes on with the buffer when the filter continues.
     */
    void addDecodedData(ByteBuf data);

    /**
     * Passes {@code data} (ownership passes) to the decoder filters after this one right away, bypassing any
     * buffering here (Envoy's {@code injectDecodedDataToFilterChain}): a filter that transforms the body as it
     * streams (a compressor) calls it from {@code decodeData} and then returns
     * {@link FilterDataStatus#STOP_ITERATION_NO_BUFFER} (it took the piece it was given). Call it only after this
     * filter's headers went on.
     */
    void injectDecodedDataToFilterChain(ByteBuf data, boolean endStream);

    /**
     * Sets how many request body bytes a stopped filter may hold on this stream (by default the connection
     * manager's limit); past it a {@code *_BUFFER} status fails the request with 413 (Envoy's
     * {@code setDecoderBufferLimit}, used by the buffer filter).
     */
    void setDecoderBufferLimit(int limit);

    /** The current request buffer limit of this stream. */
    int decoderBufferLimit();

    /** Sends response headers to the encoder filters and then downstream; {@code endStream} when nothing follows. */
    void encodeHeaders(HttpResponse headers, boolean endStream);

    /** Sends a piece of response body (ownership passes). */
    void encodeData(ByteBuf data, boolean endStream);

    /** Sends the response trailers; they end the response. */
    void encodeTrailers(HttpHeaders trailers);

    /** Writes what was encoded so far to the socket (the router calls it at the end of each upstream read batch). */
    void flushEncoded();

    /** The filter's buffers are above their high watermark: stop reading the downstream request. */
    void onDecoderFilterAboveWriteBufferHighWatermark();

    /** The filter's buffers drained: read the downstream request again. */
    void onDecoderFilterBelowWriteBufferLowWatermark();

    /** Registers for downstream writability and read-batch events (Envoy's {@code addDownstreamWatermarkCallbacks}). */
    void addDownstreamWatermarkCallbacks(DownstreamWatermarkCallbacks callbacks);

    /**
     * HTTP/1.1 {@code Upgrade} (e.g. WebSocket): sends {@code switchingProtocols} (a 101 response) downstream and
     * hands the connection over to {@code upstream}, bytes passing through untouched from then on; the stream
     * ends. Returns false (the caller resets {@code upstream}) when the downstream cannot switch (HTTP/2).
     */
    boolean switchProtocols(HttpResponse switchingProtocols, UpstreamStream upstream);
}
