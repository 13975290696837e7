package io.jmesh.proxy.filter;

import io.netty.buffer.ByteBuf;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpResponse;

/**
 * A filter of the response path (Envoy's {@code StreamEncoderFilter}). Encoder filters run in reverse
 * configuration order, on every response: from upstream and local replies alike. Ownership of bodies is as in
 * {@link StreamDecoderFilter}.
 */
public interface StreamEncoderFilter extends StreamFilterBase {

    /** Called once, before any other method. */
    default void setEncoderFilterCallbacks(StreamEncoderFilterCallbacks callbacks) {}

    /**
     * The response headers (status and headers; the filter may change them). {@code endStream} when no body or
     * trailers follow.
     */
    default FilterHeadersStatus encodeHeaders(HttpResponse headers, boolean endStream) {
        return FilterHeadersStatus.CONTINUE;
    }

    /** A piece of response body; {@code endStream} on the last one (when no trailers follow). */
    default FilterDataStatus encodeData(ByteBuf data, boolean endStream) {
        return FilterDataStatus.CONTINUE;
    }

    /** The response trailers; they end the response. */
    default FilterTrailersStatus encodeTrailers(HttpHeaders trailers) {
        return FilterTrailersStatus.CONTINUE;
    }
}
