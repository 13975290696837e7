package io.jmesh.proxy.filter.grpcbridge;

import io.jmesh.proxy.filter.FilterDataStatus;
import io.jmesh.proxy.filter.FilterHeadersStatus;
import io.jmesh.proxy.filter.FilterTrailersStatus;
import io.jmesh.proxy.filter.HttpFilter;
import io.jmesh.proxy.filter.StreamDecoderFilterCallbacks;
import io.jmesh.proxy.filter.StreamEncoderFilterCallbacks;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.CompositeByteBuf;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;

/**
 * The bridge of one stream, as Envoy's {@code Http1BridgeFilter}.
 * <ul>
 *   <li>A gRPC request ({@code content-type: application/grpc*}) from an HTTP/1.x client is bridged: its response
 *       is buffered until the trailers; a non-zero (or unparsable) {@code grpc-status} turns the HTTP status into
 *       503; {@code grpc-status} and {@code grpc-message} are copied into the response headers, which get a
 *       {@code content-length}; the trailers are dropped. A trailers-only response is handled the same way. Only
 *       unary calls work, as in Envoy. HTTP/2 requests pass untouched.</li>
 *   <li>With {@code upgrade_protobuf_to_grpc}, a request with {@code content-type: application/x-protobuf} is sent
 *       as gRPC (the body, buffered, gets the 5-byte frame header; {@code content-type: application/grpc}); its
 *       response loses the frame header and gets {@code content-type: application/x-protobuf}.</li>
 *   <li>With {@code ignore_query_parameters}, the query string of such requests is removed from the path.</li>
 * </ul>
 */
final class GrpcHttp1BridgeFilter implements HttpFilter {

    static final String PROTOBUF = "application/x-protobuf";
    private static final int FRAME_HEADER = 5;

    private final boolean upgradeProtobuf;
    private final boolean ignoreQuery;
    private StreamDecoderFilterCallbacks decoder;
    private StreamEncoderFilterCallbacks encoder;
    private boolean framing;
    private boolean bridging;
    private HttpResponse responseHeaders;
    /** Frame header bytes still to strip from a streamed (HTTP/2) protobuf response. */
    private int responseSkip = FRAME_HEADER;
    /** The response to a protobuf request is gRPC: it goes back without its frame header. */
    private boolean stripResponse;
    /** The request body of a protobuf request, held until its end to learn its length. */
    private CompositeByteBuf requestBody;

    GrpcHttp1BridgeFilter(boolean upgradeProtobuf, boolean ignoreQuery) {
        this.upgradeProtobuf = upgradeProtobuf;
        this.ignoreQuery = ignoreQuery;
    }

    @Override
    public void setDecoderFilterCallbacks(StreamDecoderFilterCallbacks callbacks) {
        this.decoder = callbacks;
    }

    @Override
    public void setEncoderFilterCallbacks(StreamEncoderFilterCallbacks callbacks) {
        this.encoder = callbacks;
    }

    static boolean isGrpc(String contentType) {
        return contentType != null && (contentType.equals("application/grpc")
                || contentType.startsWith("application/grpc+") || contentType.startsWith("application/grpc;"));
    }

    @Override
    public FilterHeadersStatus decodeHeaders(HttpRequest request, boolean endStream) {
        HttpHeaders h = request.headers();
        String ct = h.get(HttpHeaderNames.CONTENT_TYPE);
        framing = upgradeProtobuf && PROTOBUF.equals(ct);
        boolean grpc = isGrpc(ct);
        String protocol = decoder.streamInfo().protocol();
        bridging = (grpc || framing) && protocol != null && protocol.startsWith("HTTP/1");
        if (!(grpc || framing)) {
            return FilterHeadersStatus.CONTINUE;
        }
        if (ignoreQuery) {
            int q = request.uri().indexOf('?');
            if (q >= 0) {
                request.setUri(request.uri().substring(0, q));
            }
        }
        if (bridging) {
            h.set(HttpHeaderNames.TE, "trailers");
        }
        if (!framing) {
            return FilterHeadersStatus.CONTINUE;
        }
        h.set(HttpHeaderNames.CONTENT_TYPE, "application/grpc");
        String length = h.get(HttpHeaderNames.CONTENT_LENGTH);
        if (length != null) {
            try {
                h.set(HttpHeaderNames.CONTENT_LENGTH, Long.parseLong(length.trim()) + FRAME_HEADER);
            } catch (NumberFormatException e) {
                h.remove(HttpHeaderNames.CONTENT_LENGTH);
            }
        }
        if (endStream) {
            // A bodiless protobuf request is one empty message.
            decoder.addDecodedData(frameHeader(io.netty.buffer.ByteBufAllocator.DEFAULT, 0));
            return FilterHeadersStatus.CONTINUE;
        }
        return FilterHeadersStatus.STOP_ITERATION;
    }

    private static ByteBuf frameHeader(io.netty.buffer.ByteBufAllocator alloc, int length) {
        return alloc.buffer(FRAME_HEADER).writeByte(0).writeInt(length);
    }

    @Override
    public FilterDataStatus decodeData(ByteBuf data, boolean endStream) {
        if (!framing) {
            return FilterDataStatus.CONTINUE;
        }
        if (requestBody == null) {
            requestBody = data.alloc().compositeBuffer(Integer.MAX_VALUE);
        }
        if (!endStream) {
            requestBody.addComponent(true, data); // owned from here (STOP_ITERATION_NO_BUFFER)
            return FilterDataStatus.STOP_ITERATION_NO_BUFFER;
        }
        // The last piece: the framed body (header, what was held, this piece) replaces it.
        requestBody.addComponent(true, data.readRetainedSlice(data.readableBytes()));
        CompositeByteBuf framed = data.alloc().compositeBuffer(Integer.MAX_VALUE);
        framed.addComponent(true, frameHeader(data.alloc(), requestBody.readableBytes()));
        framed.addComponent(true, requestBody);
        requestBody = null;
        decoder.addDecodedData(framed);
        return FilterDataStatus.CONTINUE;
    }

    @Override
    public FilterHeadersStatus encodeHeaders(HttpResponse response, boolean endStream) {
        if (framing && isGrpc(response.headers().get(HttpHeaderNames.CONTENT_TYPE))) {
            stripResponse = true;
            response.headers().set(HttpHeaderNames.CONTENT_TYPE, PROTOBUF);
            if (!bridging) {
                response.headers().remove(HttpHeaderNames.CONTENT_LENGTH);
            }
        }
        if (!bridging) {
            return FilterHeadersStatus.CONTINUE;
        }
        if (endStream) {
            // Trailers-only: the status is in the headers already.
            updateStatus(response, response.headers());
            response.headers().set(HttpHeaderNames.CONTENT_LENGTH, 0);
            return FilterHeadersStatus.CONTINUE;
        }
        responseHeaders = response;
        return FilterHeadersStatus.STOP_ITERATION;
    }

    @Override
    public FilterDataStatus encodeData(ByteBuf data, boolean endStream) {
        if (!bridging) {
            if (stripResponse && responseSkip > 0) {
                // An HTTP/2 protobuf client: the body streams through without its frame header.
                int n = Math.min(responseSkip, data.readableBytes());
                data.skipBytes(n);
                responseSkip -= n;
            }
            return FilterDataStatus.CONTINUE;
        }
        if (!endStream) {
            return FilterDataStatus.STOP_ITERATION_AND_BUFFER;
        }
        // Ended without trailers (not gRPC as it should be): send what came, with its length.
        ByteBuf held = encoder.encodingBuffer();
        int length = (held == null ? 0 : held.readableBytes()) + data.readableBytes();
        if (stripResponse) {
            length -= stripFrameHeader(held, data);
        }
        responseHeaders.headers().set(HttpHeaderNames.CONTENT_LENGTH, length);
        return FilterDataStatus.CONTINUE;
    }

    /** Skips the 5-byte gRPC frame header at the start of the response body; returns the bytes skipped. */
    private static int stripFrameHeader(ByteBuf held, ByteBuf last) {
        int skip = FRAME_HEADER;
        if (held != null) {
            int n = Math.min(skip, held.readableBytes());
            held.skipBytes(n);
            skip -= n;
        }
        if (last != null && skip > 0) {
            int n = Math.min(skip, last.readableBytes());
            last.skipBytes(n);
            skip -= n;
        }
        return FRAME_HEADER - skip;
    }

    @Override
    public FilterTrailersStatus encodeTrailers(HttpHeaders trailers) {
        if (!bridging) {
            return FilterTrailersStatus.CONTINUE;
        }
        updateStatus(responseHeaders, trailers);
        ByteBuf held = encoder.encodingBuffer();
        if (stripResponse) {
            stripFrameHeader(held, null);
        }
        responseHeaders.headers().set(HttpHeaderNames.CONTENT_LENGTH, held == null ? 0 : held.readableBytes());
        trailers.clear(); // an HTTP/1.1 response with a content-length carries none
        return FilterTrailersStatus.CONTINUE;
    }

    /** Copies {@code grpc-status} and {@code grpc-message} from {@code from}; a failed call becomes a 503. */
    private static void updateStatus(HttpResponse response, HttpHeaders from) {
        String status = from.get("grpc-status");
        if (status != null) {
            if (!"0".equals(status.trim())) {
                response.setStatus(HttpResponseStatus.SERVICE_UNAVAILABLE);
            }
            response.headers().set("grpc-status", status);
        }
        String message = from.get("grpc-message");
        if (message != null) {
            response.headers().set("grpc-message", message);
        }
    }

    @Override
    public void onDestroy() {
        if (requestBody != null) {
            requestBody.release();
            requestBody = null;
        }
    }
}
