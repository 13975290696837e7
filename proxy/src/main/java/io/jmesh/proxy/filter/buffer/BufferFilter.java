package io.jmesh.proxy.filter.buffer;

import io.jmesh.proxy.filter.FilterDataStatus;
import io.jmesh.proxy.filter.FilterHeadersStatus;
import io.jmesh.proxy.filter.FilterTrailersStatus;
import io.jmesh.proxy.filter.StreamDecoderFilter;
import io.jmesh.proxy.filter.StreamDecoderFilterCallbacks;
import io.netty.buffer.ByteBuf;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpRequest;

/**
 * The buffer filter of one stream, as Envoy's {@code BufferFilter}: the request's headers wait here until its
 * whole body (and trailers) arrived; the stream's request buffer limit becomes {@code max_request_bytes}, past
 * which the filter manager answers 413. A request that had no {@code content-length} gets one (the buffered
 * size) when it goes on.
 */
final class BufferFilter implements StreamDecoderFilter {

    private final int maxRequestBytes;
    private StreamDecoderFilterCallbacks callbacks;
    private HttpRequest request;

    BufferFilter(int maxRequestBytes) {
        this.maxRequestBytes = maxRequestBytes;
    }

    @Override
    public void setDecoderFilterCallbacks(StreamDecoderFilterCallbacks callbacks) {
        this.callbacks = callbacks;
    }

    @Override
    public FilterHeadersStatus decodeHeaders(HttpRequest headers, boolean endStream) {
        if (endStream) {
            return FilterHeadersStatus.CONTINUE;
        }
        request = headers;
        callbacks.setDecoderBufferLimit(maxRequestBytes);
        return FilterHeadersStatus.STOP_ITERATION;
    }

    @Override
    public FilterDataStatus decodeData(ByteBuf data, boolean endStream) {
        if (endStream) {
            ByteBuf held = callbacks.decodingBuffer();
            long size = (held == null ? 0 : held.readableBytes()) + data.readableBytes();
            if (size > maxRequestBytes) {
                // The last piece would overflow: the filter manager answers 413 when it holds it.
                return FilterDataStatus.STOP_ITERATION_AND_BUFFER;
            }
            addContentLength(size);
            return FilterDataStatus.CONTINUE;
        }
        return FilterDataStatus.STOP_ITERATION_AND_BUFFER;
    }

    @Override
    public FilterTrailersStatus decodeTrailers(HttpHeaders trailers) {
        ByteBuf held = callbacks.decodingBuffer();
        addContentLength(held == null ? 0 : held.readableBytes());
        return FilterTrailersStatus.CONTINUE;
    }

    private void addContentLength(long size) {
        HttpHeaders h = request.headers();
        if (!h.contains(HttpHeaderNames.CONTENT_LENGTH)) {
            h.remove(HttpHeaderNames.TRANSFER_ENCODING);
            h.setInt(HttpHeaderNames.CONTENT_LENGTH, (int) size);
        }
    }
}
