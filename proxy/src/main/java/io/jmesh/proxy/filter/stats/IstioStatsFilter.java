package io.jmesh.proxy.filter.stats;

import java.util.Map;

import io.jmesh.proxy.filter.FilterDataStatus;
import io.jmesh.proxy.filter.FilterHeadersStatus;
import io.jmesh.proxy.filter.FilterTrailersStatus;
import io.jmesh.proxy.filter.HttpFilter;
import io.jmesh.proxy.filter.StreamDecoderFilterCallbacks;
import io.jmesh.proxy.filter.StreamEncoderFilterCallbacks;
import io.jmesh.proxy.stream.StreamInfo;
import io.netty.buffer.ByteBuf;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;

/**
 * The {@code istio.stats} filter of one stream. Peer metadata exchange (Istio's HTTP metadata exchange): on the
 * server side (reporter {@code destination} or {@code waypoint}) it takes {@code x-envoy-peer-metadata} and
 * {@code x-envoy-peer-metadata-id} off the request, so the application never sees them, and puts its own on the
 * response; on the client side ({@code source}) it puts its own on the request and takes the peer's off the response.
 * Counts gRPC messages in both directions (5-byte length-prefixed frames). Records the metrics once, when the stream
 * ends ({@link #onDestroy()}). Runs on the stream's event loop.
 */
final class IstioStatsFilter implements HttpFilter {

    private static final String GRPC_STATUS = "grpc-status";

    private final IstioMetrics metrics;
    private StreamDecoderFilterCallbacks decoder;
    private WorkloadMetadata peer = WorkloadMetadata.UNKNOWN;
    private boolean grpc;
    private long requestHeaderBytes;
    private long responseHeaderBytes;
    private final GrpcFrameCounter requestMessages = new GrpcFrameCounter();
    private final GrpcFrameCounter responseMessages = new GrpcFrameCounter();

    IstioStatsFilter(IstioMetrics metrics) {
        this.metrics = metrics;
    }

    @Override
    public void setDecoderFilterCallbacks(StreamDecoderFilterCallbacks callbacks) {
        this.decoder = callbacks;
    }

    @Override
    public void setEncoderFilterCallbacks(StreamEncoderFilterCallbacks callbacks) {}

    @Override
    public FilterHeadersStatus decodeHeaders(HttpRequest request, boolean endStream) {
        HttpHeaders h = request.headers();
        String contentType = h.get(HttpHeaderNames.CONTENT_TYPE);
        grpc = contentType != null && contentType.startsWith("application/grpc");
        if (metrics.reporter.serverSide()) {
            peer = metrics.peer(h.get(WorkloadMetadata.HEADER));
            h.remove(WorkloadMetadata.HEADER);
            h.remove(WorkloadMetadata.ID_HEADER);
        } else {
            putOwn(h);
        }
        // Envoy counts the pseudo-headers too: :method and :path.
        requestHeaderBytes = byteSize(h) + 7 + request.method().name().length() + 5 + request.uri().length();
        return FilterHeadersStatus.CONTINUE;
    }

    @Override
    public FilterDataStatus decodeData(ByteBuf data, boolean endStream) {
        if (grpc) {
            requestMessages.onData(data);
        }
        return FilterDataStatus.CONTINUE;
    }

    @Override
    public FilterTrailersStatus decodeTrailers(HttpHeaders trailers) {
        requestHeaderBytes += byteSize(trailers);
        return FilterTrailersStatus.CONTINUE;
    }

    @Override
    public FilterHeadersStatus encodeHeaders(HttpResponse response, boolean endStream) {
        HttpHeaders h = response.headers();
        if (metrics.reporter.serverSide()) {
            putOwn(h);
        } else {
            String header = h.get(WorkloadMetadata.HEADER);
            if (header != null) {
                peer = metrics.peer(header);
            }
            h.remove(WorkloadMetadata.HEADER);
            h.remove(WorkloadMetadata.ID_HEADER);
        }
        responseHeaderBytes = byteSize(h) + 10; // and :status (7 + 3)
        return FilterHeadersStatus.CONTINUE;
    }

    @Override
    public FilterDataStatus encodeData(ByteBuf data, boolean endStream) {
        if (grpc) {
            responseMessages.onData(data);
        }
        return FilterDataStatus.CONTINUE;
    }

    @Override
    public FilterTrailersStatus encodeTrailers(HttpHeaders trailers) {
        responseHeaderBytes += byteSize(trailers);
        return FilterTrailersStatus.CONTINUE;
    }

    private void putOwn(HttpHeaders h) {
        if (metrics.ownHeader != null) {
            h.set(WorkloadMetadata.HEADER, metrics.ownHeader);
            h.set(WorkloadMetadata.ID_HEADER, metrics.ownId);
        }
    }

    /** Envoy's {@code HeaderMap::byteSize}: the sum of the names' and values' lengths. */
    private static long byteSize(HttpHeaders h) {
        if (h == null) {
            return 0;
        }
        long n = 0;
        var it = h.iteratorCharSequence();
        while (it.hasNext()) {
            Map.Entry<CharSequence, CharSequence> e = it.next();
            n += e.getKey().length() + e.getValue().length();
        }
        return n;
    }

    @Override
    public void onDestroy() {
        if (decoder == null) {
            return;
        }
        StreamInfo info = decoder.streamInfo();
        String host = info.requestHeaders() == null ? null : info.requestHeaders().get(HttpHeaderNames.HOST);
        if (host == null && info.requestAttributes() != null) {
            host = info.requestAttributes().host();
        }
        String[] service = metrics.destinationService(info.upstreamCluster(), host);
        int code = info.responseCode();
        String grpcStatus = grpc ? grpcStatus(info, code) : "";
        String[] v = metrics.labels();
        metrics.fill(v, peer, info.downstreamConnection(), info.upstreamConnection(), service, grpc ? "grpc" : "http",
                info.responseFlags(), code, grpcStatus, info);
        long durationMs = (System.nanoTime() - info.startNanos()) / 1_000_000L;
        metrics.recordRequest(v, durationMs, requestHeaderBytes + info.bytesReceived(),
                responseHeaderBytes + info.bytesSent(), grpc, requestMessages.count, responseMessages.count);
    }

    /**
     * {@code grpc-status} of the trailers (or of a trailers-only response's headers); else mapped from the HTTP
     * status as Envoy's {@code Grpc::Utility::httpToGrpcStatus} does.
     */
    static String grpcStatus(StreamInfo info, int httpStatus) {
        String s = info.responseTrailers() == null ? null : info.responseTrailers().get(GRPC_STATUS);
        if (s == null && info.responseHeaders() != null) {
            s = info.responseHeaders().get(GRPC_STATUS);
        }
        if (s != null) {
            return s;
        }
        switch (httpStatus) {
            case 0: return "";
            case 400: return "13";
            case 401: return "16";
            case 403: return "7";
            case 404: return "12";
            case 429: case 502: case 503: case 504: return "14";
            default: return "2";
        }
    }

    /** Counts gRPC length-prefixed messages (1 flag byte, 4 length bytes, the message) across data chunks. */
    static final class GrpcFrameCounter {
        long count;
        private int headerRead;
        private long length;
        private long remaining;

        void onData(ByteBuf data) {
            int i = data.readerIndex();
            int end = data.writerIndex();
            while (i < end) {
                if (remaining > 0) {
                    int skip = (int) Math.min(remaining, end - i);
                    i += skip;
                    remaining -= skip;
                    continue;
                }
                int b = data.getUnsignedByte(i++);
                if (headerRead == 0) {
                    headerRead = 1;
                    length = 0;
                    continue;
                }
                length = (length << 8) | b;
                if (++headerRead == 5) {
                    headerRead = 0;
                    count++;
                    remaining = length;
                }
            }
        }
    }
}
