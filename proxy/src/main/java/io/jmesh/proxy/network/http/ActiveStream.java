package io.jmesh.proxy.network.http;

import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.jmesh.proxy.filter.HttpFilterFactory;
import io.jmesh.proxy.internal.HopByHopHeaders;
import io.jmesh.proxy.filter.StreamFilterBase;
import io.jmesh.proxy.router.RouteEntry;
import io.jmesh.proxy.router.RouteTable;
import io.jmesh.proxy.stream.ResponseFlag;
import io.jmesh.proxy.stream.StreamInfo;
import io.jmesh.proxy.telemetry.accesslog.AccessLog;
import io.jmesh.proxy.upstream.pool.UpstreamStream;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.DefaultHttpContent;
import io.netty.handler.codec.http.DefaultHttpHeaders;
import io.netty.handler.codec.http.DefaultLastHttpContent;
import io.netty.handler.codec.http.EmptyHttpHeaders;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.util.AsciiString;
import io.netty.util.concurrent.ScheduledFuture;

/**
 * One request/response exchange in the connection manager (Envoy's {@code ConnectionManagerImpl::ActiveStream}):
 * sanitizes the request headers, adds {@code x-request-id}, {@code x-forwarded-*}, creates the stream's filters
 * for its route and hands the request to its {@link FilterManager}, whose last filter is the router. It owns the
 * stream-level timers ({@code request_timeout}; {@code stream_idle_timeout}, replaced by the route's
 * {@code idle_timeout} when the route has one), the {@link StreamInfo}, and writes the encoded response to its
 * {@link DownstreamSink}; at the end it records stats and the access log. Lives on the downstream event loop;
 * every method must be called there.
 */
final class ActiveStream implements FilterManager.Callbacks {

    private static final Logger logger = LoggerFactory.getLogger(ActiveStream.class);

    static final AsciiString X_REQUEST_ID = AsciiString.cached("x-request-id");
    static final AsciiString X_FORWARDED_FOR = AsciiString.cached("x-forwarded-for");
    static final AsciiString X_FORWARDED_PROTO = AsciiString.cached("x-forwarded-proto");

    private final HttpConnectionManagerConfig config;
    private final DownstreamSink sink;
    private final StreamInfo info;
    private final boolean downstreamHttp2;
    private FilterManager filterManager;
    /** The span of a sampled request, null otherwise. */
    private io.jmesh.proxy.telemetry.tracing.Span span;
    /** The {@code tracing} of the route the span was started on (its custom tags), or null. */
    private io.jmesh.proxy.telemetry.tracing.RouteTracing spanRoute;

    private HttpRequest request;
    private boolean requestEndsWithHeaders;
    private boolean requestComplete;
    private boolean upgradeRequest;
    private boolean finished;
    private boolean encodedHeaders;

    private ScheduledFuture<?> requestTimer;
    private ScheduledFuture<?> idleTimer;
    private long idleTimeoutMs;
    private long lastActivityNanos;

    ActiveStream(HttpConnectionManagerConfig config, DownstreamSink sink) {
        this(config, sink, config.requestTimeoutMs);
    }

    /**
     * {@code requestTimeoutMs}: what is left of {@code request_timeout}, which HTTP/1 starts at the first byte
     * of the request (0: none).
     */
    ActiveStream(HttpConnectionManagerConfig config, DownstreamSink sink, long requestTimeoutMs) {
        this.config = config;
        this.sink = sink;
        this.downstreamHttp2 = "HTTP/2".equals(sink.protocol());
        long startNanos = System.nanoTime();
        this.info = new StreamInfo()
                .startTimeMillis(System.currentTimeMillis())
                .startNanos(startNanos)
                .protocol(sink.protocol())
                .downstreamRemoteAddress(sink.remoteAddress())
                .downstreamLocalAddress(sink.localAddress())
                .downstreamConnection(sink.connectionInfo());
        config.stats.rqTotal.inc();
        config.stats.rqActive.inc();
        lastActivityNanos = startNanos;
        idleTimeoutMs = config.streamIdleTimeoutMs;
        if (requestTimeoutMs > 0) {
            requestTimer = sink.eventLoop().schedule(this::onRequestTimeout, requestTimeoutMs, TimeUnit.MILLISECONDS);
        }
    }

    // ------------------------------------------------------------------ downstream events

    /** The request headers. {@code endStream} when no body follows. */
    void onRequestHeaders(HttpRequest req, boolean endStream) {
        this.request = req;
        this.requestEndsWithHeaders = endStream;
        if (endStream) {
            onRequestComplete();
        }
        HttpHeaders h = req.headers();
        upgradeRequest = !downstreamHttp2 && h.contains(HttpHeaderNames.UPGRADE);
        sanitizeRequestHeaders(h);
        if (config.generateRequestId && !h.contains(X_REQUEST_ID)) {
            h.set(X_REQUEST_ID, UUID.randomUUID().toString());
        }
        if (!h.contains(X_FORWARDED_PROTO)) {
            h.set(X_FORWARDED_PROTO, sink.secure() ? "https" : "http");
        }
        config.forwardClientCert.apply(h, info.downstreamConnection());
        if (config.useRemoteAddress) {
            String remote = sink.remoteAddress().getAddress().getHostAddress();
            String xff = h.get(X_FORWARDED_FOR);
            h.set(X_FORWARDED_FOR, xff == null || xff.isEmpty() ? remote : xff + "," + remote);
        }
        if (h.contains(io.jmesh.proxy.telemetry.tracing.HttpTracer.X_ENVOY_FORCE_TRACE)
                && !config.internalAddresses.isInternalRequest(config.useRemoteAddress, h.get(X_FORWARDED_FOR),
                sink.remoteAddress())) {
            // Envoy's cleanInternalHeaders: an external client cannot force a trace
            h.remove(io.jmesh.proxy.telemetry.tracing.HttpTracer.X_ENVOY_FORCE_TRACE);
        }
        RouteTable table = config.routeTable; // the stream keeps this snapshot, also when it is routed again
        RouteEntry route = table.route(req);
        if (config.tracer != null) {
            // as Envoy, after the route is chosen: a route's tracing replaces the HCM's sampling
            spanRoute = route == null ? null : route.tracing();
            span = config.tracer.startSpan(h, info, spanRoute);
        }
        info.requestHeaders(h).requestAttributes(
                new HttpRequestAttributes(req, info.downstreamConnection(), sink.secure() ? "https" : "http"));

        if (span != null && route != null && route.decoratorOperation() != null) {
            span.name(route.decoratorOperation()); // Envoy's route decorator names the span
        }
        List<StreamFilterBase> filters = new ArrayList<>(config.filters.size());
        for (HttpFilterFactory.PerStream f : config.filters) {
            StreamFilterBase filter = f.newFilter(route);
            if (filter != null) {
                filters.add(filter);
            }
        }
        filterManager = new FilterManager(this, sink.eventLoop(), info, info.downstreamConnection(),
                r -> table.route(r, info::dynamicMetadata),
                config.localReply, config.bufferLimit, filters);
        filterManager.cacheRoute(route);
        filterManager.onOverLimit(() -> {
            config.stats.rqTooLarge.inc();
            filterManager.sendLocalReply(413, "Payload Too Large", "request_payload_too_large", null, -1);
        }, () -> {
            config.stats.rsTooLarge.inc();
            filterManager.sendLocalReply(500, "Internal Server Error", "response_payload_too_large", null, -1);
        });
        applyRouteIdleTimeout(route);
        armIdleTimer(route);
        if (upgradeRequest && !config.upgradeAllowed(h.get(HttpHeaderNames.UPGRADE))) {
            filterManager.sendLocalReply(403, "", "upgrade_failed", null, -1);
            return;
        }
        filterManager.decodeHeaders(req, endStream);
    }

    /** A piece of request body; {@link LastHttpContent} ends the request (and may carry trailers). */
    void onRequestBody(HttpContent content) {
        touch();
        ByteBuf data = content.content();
        info.bytesReceived(info.bytesReceived() + data.readableBytes());
        boolean last = content instanceof LastHttpContent;
        if (finished) {
            content.release();
            if (last) {
                onRequestComplete();
            }
            return;
        }
        if (last) {
            onRequestComplete();
            HttpHeaders trailers = ((LastHttpContent) content).trailingHeaders();
            if (trailers.isEmpty()) {
                filterManager.decodeData(data, true);
            } else {
                filterManager.decodeData(data, false);
                if (!finished) {
                    filterManager.decodeTrailers(trailers);
                }
            }
        } else {
            filterManager.decodeData(data, false);
        }
    }

    /** End of a read batch on the downstream side. */
    void onReadComplete() {
        if (filterManager != null && !finished) {
            filterManager.onDownstreamReadComplete();
        }
    }

    /** The client went away (connection closed, HTTP/2 RST_STREAM) before the response completed. */
    void onDownstreamReset() {
        if (finished) {
            return;
        }
        info.addResponseFlag(ResponseFlag.DOWNSTREAM_CONNECTION_TERMINATION);
        info.responseCodeDetails("downstream_remote_disconnect");
        finish(false);
    }

    /**
     * The downstream codec failed after the headers (a malformed chunk): the upstream attempt is reset before
     * its request completes (the router resets it when the stream ends), so no backend sees a complete request, and the client gets {@code status} (a reset
     * if the response has started). The connection closes as the request is incomplete.
     */
    void onDownstreamProtocolError(int status, String body, String details) {
        if (finished || filterManager == null) {
            return;
        }
        info.addResponseFlag(ResponseFlag.DOWNSTREAM_PROTOCOL_ERROR);
        // The local reply ends the stream; the router's onDestroy then resets its upstream request, whose body
        // never got its end (Envoy resets the stream on a codec error the same way).
        filterManager.sendLocalReply(status, body, details, null, -1);
    }

    void onDownstreamWritabilityChanged(boolean writable) {
        if (filterManager != null && !finished) {
            filterManager.onDownstreamWritabilityChanged(writable);
        }
    }

    boolean isFinished() {
        return finished;
    }

    private void onRequestComplete() {
        requestComplete = true;
        if (requestTimer != null) {
            requestTimer.cancel(false);
            requestTimer = null;
        }
    }

    // ------------------------------------------------------------------ FilterManager.Callbacks

    @Override
    public void encodeHeaders(HttpResponse resp, boolean endStream) {
        touch();
        encodedHeaders = true;
        info.responseCode(resp.status().code()).responseHeaders(resp.headers());
        if (info.responseCodeDetails() == null) {
            info.responseCodeDetails("via_upstream");
        }
        HttpHeaders h = resp.headers();
        h.set(HttpHeaderNames.SERVER, config.serverName);
        if (request != null && (config.alwaysSetRequestIdInResponse
                || request.headers().contains(io.jmesh.proxy.telemetry.tracing.HttpTracer.X_ENVOY_FORCE_TRACE))) {
            // Envoy's mutateResponseHeaders: a forced trace can be found by the id the client gets back
            String rid = request.headers().get(X_REQUEST_ID);
            if (rid != null) {
                h.set(X_REQUEST_ID, rid);
            }
        }
        if (!h.contains(HttpHeaderNames.DATE)) {
            h.set(HttpHeaderNames.DATE, DateHeader.now());
        }
        if (endStream) {
            FullHttpResponse full;
            if (resp instanceof FullHttpResponse) {
                full = (FullHttpResponse) resp;
                info.bytesSent(info.bytesSent() + full.content().readableBytes());
            } else {
                full = new DefaultFullHttpResponse(resp.protocolVersion(), resp.status(), Unpooled.EMPTY_BUFFER, h,
                        EmptyHttpHeaders.INSTANCE);
            }
            sink.write(full);
        } else {
            sink.write(resp);
        }
    }

    @Override
    public void encodeData(ByteBuf data, boolean endStream) {
        touch();
        info.bytesSent(info.bytesSent() + data.readableBytes());
        sink.write(endStream ? new DefaultLastHttpContent(data, EmptyHttpHeaders.INSTANCE) : new DefaultHttpContent(data));
    }

    @Override
    public void encodeTrailers(HttpHeaders trailers) {
        touch();
        info.responseTrailers(trailers);
        sink.write(new DefaultLastHttpContent(Unpooled.EMPTY_BUFFER, trailers));
    }

    @Override
    public void flush() {
        sink.flush();
    }

    @Override
    public void onEncodeComplete() {
        finish(true);
    }

    @Override
    public void resetStream() {
        if (finished) {
            return;
        }
        sink.reset();
        finish(false);
    }

    @Override
    public void setDownstreamReadable(boolean readable) {
        sink.setReadable(readable);
    }

    @Override
    public boolean switchProtocols(HttpResponse resp, UpstreamStream upstream) {
        if (!upgradeRequest || finished) {
            return false;
        }
        info.responseCode(101).responseHeaders(resp.headers()).responseCodeDetails("via_upstream");
        sink.write(new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.SWITCHING_PROTOCOLS,
                Unpooled.EMPTY_BUFFER, resp.headers(), new DefaultHttpHeaders(false)));
        sink.flush();
        if (!sink.upgrade(upstream)) {
            upstream.reset();
        }
        finish(false);
        return true;
    }

    // ------------------------------------------------------------------ timers

    private void onRequestTimeout() {
        requestTimer = null;
        if (finished || requestComplete) {
            return;
        }
        config.stats.rqTimeout.inc();
        filterManager.sendLocalReply(408, "request timeout", "request_overall_timeout", null, -1);
    }

    /**
     * The route's {@code idle_timeout}, when set, replaces {@code stream_idle_timeout} for this stream; 0 turns
     * the idle timeout off (Envoy's {@code RouteAction.idle_timeout}).
     */
    private void applyRouteIdleTimeout(RouteEntry route) {
        if (route != null && route.kind() == RouteEntry.Kind.ROUTE && route.hasIdleTimeout()) {
            idleTimeoutMs = route.idleTimeoutMillis();
        }
    }

    /**
     * Arms the idle timer unless the route timeout is certain to fire first (the request is complete and the
     * route timeout is shorter): one timer per stream instead of two on the common path.
     */
    private void armIdleTimer(RouteEntry route) {
        long idle = idleTimeoutMs;
        if (idle <= 0 || idleTimer != null) {
            return;
        }
        long routeTimeout = route == null || route.kind() != RouteEntry.Kind.ROUTE ? 0 : route.timeoutMillis();
        if (requestComplete && routeTimeout > 0 && routeTimeout <= idle) {
            return;
        }
        scheduleIdleTimer(idle);
    }

    private void touch() {
        lastActivityNanos = System.nanoTime();
    }

    private void scheduleIdleTimer(long delayMs) {
        idleTimer = sink.eventLoop().schedule(this::onIdleCheck, delayMs, TimeUnit.MILLISECONDS);
    }

    private void onIdleCheck() {
        idleTimer = null;
        if (finished) {
            return;
        }
        long limit = idleTimeoutMs;
        if (limit <= 0) {
            return;
        }
        long idleMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - lastActivityNanos);
        if (idleMs < limit) {
            scheduleIdleTimer(limit - idleMs);
            return;
        }
        config.stats.rqIdleTimeout.inc();
        info.addResponseFlag(ResponseFlag.STREAM_IDLE_TIMEOUT);
        // Envoy: 408 while the request is still arriving, 504 once it is complete.
        filterManager.sendLocalReply(requestComplete ? 504 : 408, "stream timeout", "stream_idle_timeout", null, -1);
    }

    // ------------------------------------------------------------------ end of stream

    private void finish(boolean complete) {
        if (finished) {
            return;
        }
        finished = true;
        if (requestTimer != null) {
            requestTimer.cancel(false);
        }
        if (idleTimer != null) {
            idleTimer.cancel(false);
        }
        if (filterManager != null) {
            filterManager.destroy();
        }
        config.stats.rqActive.dec();
        int responseCode = encodedHeaders || info.responseCode() == 101 ? info.responseCode() : 0;
        info.responseCode(responseCode);
        if (responseCode > 0) {
            config.stats.recordStatus(responseCode);
            config.stats.rqCompleted.inc();
            config.stats.rqTime.record((System.nanoTime() - info.startNanos()) / 1_000_000.0);
        }
        log();
        if (span != null) {
            io.jmesh.proxy.telemetry.tracing.Span s = span;
            span = null;
            try {
                config.tracer.finishSpan(s, info, request == null ? null : request.method().name(),
                        request == null ? null : request.uri(), sink.secure() ? "https" : "http",
                        request == null ? null : request.headers(), spanRoute);
            } catch (RuntimeException ex) {
                logger.warn("tracing failed: {}", ex.toString());
            }
        }
        if (complete) {
            boolean close = !requestComplete; // the rest of the request body would be read as a new request
            sink.responseComplete(close);
        }
    }

    private void log() {
        if (config.accessLog == AccessLog.NOOP) {
            return;
        }
        StreamInfo e = info.finish(System.nanoTime());
        if (request != null) {
            HttpHeaders h = request.headers();
            e.method(request.method().name())
                    .path(request.uri())
                    .authority(h.get(HttpHeaderNames.HOST))
                    .userAgent(h.get(HttpHeaderNames.USER_AGENT))
                    .forwardedFor(h.get(X_FORWARDED_FOR))
                    .requestId(h.get(X_REQUEST_ID));
        }
        try {
            config.accessLog.log(e);
        } catch (RuntimeException ex) {
            logger.warn("access log failed: {}", ex.toString());
        }
    }

    // ------------------------------------------------------------------ headers

    private void sanitizeRequestHeaders(HttpHeaders h) {
        HopByHopHeaders.remove(h, upgradeRequest, downstreamHttp2);
        String te = h.get(HttpHeaderNames.TE);
        if (te != null && !te.equalsIgnoreCase("trailers")) {
            h.remove(HttpHeaderNames.TE);
        }
        if (!requestEndsWithHeaders) {
            // Body framing is decided per upstream protocol.
            if (h.contains(HttpHeaderNames.CONTENT_LENGTH)) {
                h.remove(HttpHeaderNames.TRANSFER_ENCODING);
            }
        } else {
            h.remove(HttpHeaderNames.TRANSFER_ENCODING);
        }
        h.remove(HttpHeaderNames.EXPECT);
    }

}
