package io.jmesh.proxy.filter;

import io.netty.buffer.ByteBuf;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpRequest;

/**
 * A filter of the request path (Envoy's {@code StreamDecoderFilter}). Filters run in configuration order, on
 * the stream's event loop. The defaults pass everything on, so a filter overrides only what it reads: a
 * filter that does not override {@link #decodeData} costs one virtual call per body piece.
 *
 * <p>Ownership of bodies: the {@code ByteBuf} given to {@link #decodeData} belongs to the filter manager.
 * A filter may read it, modify it in place, or replace its content; when it returns {@link
 * FilterDataStatus#CONTINUE} the same buffer goes on; with {@link FilterDataStatus#STOP_ITERATION_NO_BUFFER}
 * the filter owns it (and must release or forward it).
 */
public interface StreamDecoderFilter extends StreamFilterBase {

    /** Called once, before any other method, with the callbacks of this filter's place in the chain. */
    default void setDecoderFilterCallbacks(StreamDecoderFilterCallbacks callbacks) {}

    /**
     * The request headers (Netty's {@link HttpRequest}: method, URI and headers; the filter may change them).
     * {@code endStream} when no body or trailers follow.
     */
    default FilterHeadersStatus decodeHeaders(HttpRequest headers, boolean endStream) {
        return FilterHeadersStatus.CONTINUE;
    }

    /** A piece of request body; {@code endStream} on the last one (when no trailers follow). */
    default FilterDataStatus decodeData(ByteBuf data, boolean endStream) {
        return FilterDataStatus.CONTINUE;
    }

    /** The request trailers; they end the request. */
    default FilterTrailersStatus decodeTrailers(HttpHeaders trailers) {
        return FilterTrailersStatus.CONTINUE;
    }
}
