package io.jmesh.proxy.network.http;

import java.net.InetSocketAddress;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.jmesh.proxy.filter.HttpFilter;
import io.jmesh.proxy.filter.HttpFilterCallbacks;
import io.jmesh.proxy.filter.HttpFilterFactory;
import io.jmesh.proxy.router.RequestMirrorPolicy;
import io.jmesh.proxy.router.RetryPolicy;
import io.jmesh.proxy.router.RouteEntry;
import io.jmesh.proxy.telemetry.accesslog.AccessLog;
import io.jmesh.proxy.stream.StreamInfo;
import io.jmesh.proxy.stream.ResponseFlag;
import io.jmesh.proxy.upstream.ClusterManager;
import io.jmesh.proxy.upstream.Host;
import io.jmesh.proxy.upstream.LoadBalancerContext;
import io.jmesh.proxy.upstream.UpstreamCluster;
import io.jmesh.proxy.upstream.pool.ConnectionPools;
import io.jmesh.proxy.upstream.pool.ResetReason;
import io.jmesh.proxy.upstream.pool.UpstreamStream;
import io.jmesh.proxy.upstream.pool.UpstreamStreamListener;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.EventLoop;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.DefaultHttpHeaders;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpObject;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpStatusClass;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.util.AsciiString;
import io.netty.util.CharsetUtil;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.ScheduledFuture;

/**
 * One request/response exchange through the connection manager (Envoy's {@code ActiveStream} plus the
 * router filter): filters, route, cluster, host, upstream attempts with retries and timeouts, and the
 * response streamed back. Lives on the downstream event loop; every method must be called there.
 *
 * <p>Bodies stream through without copies. Up to {@link HttpConnectionManagerConfig#RETRY_BUFFER_LIMIT}
 * bytes of request body are also kept (as retained slices) so that a retry can replay them; past that the
 * stream stops being retriable, as in Envoy.
 */
final class ActiveStream implements HttpFilterCallbacks {

    private static final Logger logger = LoggerFactory.getLogger(ActiveStream.class);

    static final AsciiString X_REQUEST_ID = AsciiString.cached("x-request-id");
    static final AsciiString X_FORWARDED_FOR = AsciiString.cached("x-forwarded-for");
    static final AsciiString X_FORWARDED_PROTO = AsciiString.cached("x-forwarded-proto");
    static final AsciiString X_UPSTREAM_SERVICE_TIME = AsciiString.cached("x-envoy-upstream-service-time");
    static final AsciiString KEEP_ALIVE = AsciiString.cached("keep-alive");
    static final AsciiString PROXY_CONNECTION = AsciiString.cached("proxy-connection");
    private static final String HTTP2_EXT_PREFIX = "x-http2-";

    private final HttpConnectionManagerConfig config;
    private final DownstreamSink sink;
    private final long startMillis = System.currentTimeMillis();
    private final long startNanos = System.nanoTime();

    private HttpRequest request;
    private final boolean downstreamHttp2;
    private boolean requestEndsWithHeaders;
    private boolean requestComplete;
    private boolean upgradeRequest;
    private RouteEntry route;
    private UpstreamCluster cluster;
    private String selectedCluster;
    private RetryPolicy retryPolicy = RetryPolicy.NONE;
    private List<HttpFilter> filters = List.of();
    /** Index of the filter that paused the chain ({@link HttpFilter.Status#STOP_ITERATION}), or -1. */
    private int pausedAt = -1;

    private Attempt attempt;
    private int retriesDone;
    private Host lastFailedHost;
    private final ArrayDeque<HttpContent> pending = new ArrayDeque<>(2);
    private List<HttpContent> replay = new ArrayList<>(0);
    private long replayBytes;
    /** Mirrored copies of this request ({@code request_mirror_policies}); null on routes without them. */
    private List<ShadowStream> shadows;

    private boolean responseStarted;
    private boolean finished;
    private int responseCode;
    private final EnumSet<ResponseFlag> flags = EnumSet.noneOf(ResponseFlag.class);
    private String responseCodeDetails;
    private HttpHeaders responseHeaders;
    private HttpHeaders responseTrailers;
    private long bytesReceived;
    private long bytesSent;
    private long upstreamServiceTimeMs = -1;
    private Host upstreamHost;
    private String upstreamFailure;

    private ScheduledFuture<?> routeTimer;
    private ScheduledFuture<?> requestTimer;
    private ScheduledFuture<?> idleTimer;
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
        config.stats.rqTotal.inc();
        config.stats.rqActive.inc();
        lastActivityNanos = startNanos;
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
        if (upgradeRequest && !config.upgradeAllowed(h.get(HttpHeaderNames.UPGRADE))) {
            sendLocalReply(403, "", "upgrade_failed");
            return;
        }
        sanitizeRequestHeaders(h);
        if (config.generateRequestId && !h.contains(X_REQUEST_ID)) {
            h.set(X_REQUEST_ID, UUID.randomUUID().toString());
        }
        if (!h.contains(X_FORWARDED_PROTO)) {
            h.set(X_FORWARDED_PROTO, sink.secure() ? "https" : "http");
        }
        if (config.useRemoteAddress) {
            String remote = sink.remoteAddress().getAddress().getHostAddress();
            String xff = h.get(X_FORWARDED_FOR);
            h.set(X_FORWARDED_FOR, xff == null || xff.isEmpty() ? remote : xff + "," + remote);
        }

        route = config.routeTable.route(req);
        for (HttpFilterFactory.PerStream f : config.filters) {
            HttpFilter filter = f.newFilter(route);
            if (filter != null) {
                if (filters.isEmpty()) {
                    filters = new ArrayList<>(config.filters.size());
                }
                filters.add(filter);
            }
        }
        if (!filters.isEmpty() && !runFilters(0)) {
            return;
        }
        routeRequest();
    }

    /** Runs the filters from {@code from}; returns whether the chain went through to the router. */
    private boolean runFilters(int from) {
        for (int i = from; i < filters.size(); i++) {
            HttpFilter.Status s = filters.get(i).onRequestHeaders(request, this);
            if (finished || s == HttpFilter.Status.STOP) {
                return false;
            }
            if (s == HttpFilter.Status.STOP_ITERATION) {
                pausedAt = i;
                return false;
            }
        }
        return true;
    }

    @Override
    public void continueDecoding() {
        if (finished || pausedAt < 0) {
            return;
        }
        int next = pausedAt + 1;
        pausedAt = -1;
        if (runFilters(next)) {
            routeRequest();
        }
    }

    @Override
    public void addResponseFlag(ResponseFlag flag) {
        flags.add(flag);
    }

    @Override
    public Object perFilterConfig(String filterName) {
        return route == null ? null : route.perFilterConfig(filterName);
    }

    @Override
    public EventLoop eventLoop() {
        return sink.eventLoop();
    }

    /** The router: forwards the request along its route, or answers locally (404, redirect, ...). */
    private void routeRequest() {
        HttpRequest req = request;
        if (route == null) {
            flags.add(ResponseFlag.NO_ROUTE_FOUND);
            sendLocalReply(404, "", "route_not_found");
            return;
        }
        switch (route.kind()) {
            case REDIRECT: {
                FullHttpResponse redirect = route.redirect(req);
                sendResponse(redirect, "direct_response");
                return;
            }
            case DIRECT_RESPONSE:
                sendLocalReply(route.directStatus(), route.directBody(), "direct_response");
                return;
            default:
                break;
        }
        String clusterName = route.selectCluster(req);
        ClusterManager cm = config.clusters.get();
        cluster = cm == null ? null : cm.get(clusterName);
        if (cluster == null) {
            flags.add(ResponseFlag.NO_CLUSTER_FOUND);
            sendLocalReply(503, "", "cluster_not_found");
            return;
        }
        route.transformRequest(req, clusterName);
        selectedCluster = clusterName;
        retryPolicy = route.retryPolicy();
        armIdleTimer();
        if (route.timeoutMillis() > 0 && requestComplete) {
            startRouteTimer();
        }
        List<RequestMirrorPolicy> mirrors = route.mirrorPolicies();
        if (!mirrors.isEmpty()) {
            startShadows(mirrors, cm);
        }
        startAttempt();
    }

    /** Starts one {@link ShadowStream} per mirror policy that samples this request. */
    private void startShadows(List<RequestMirrorPolicy> mirrors, ClusterManager cm) {
        for (RequestMirrorPolicy p : mirrors) {
            if (!p.sampled()) {
                continue;
            }
            String name = p.cluster(request);
            UpstreamCluster c = name == null ? null : cm.get(name);
            if (c == null) {
                if (name != null) {
                    config.stats.shadowClusterNotFound.inc();
                    logger.debug("{} shadow cluster '{}' does not exist", sink.remoteAddress(), name);
                }
                continue;
            }
            ShadowStream s = ShadowStream.start(p, c, request, requestEndsWithHeaders, pending, route.timeoutMillis(),
                    sink.eventLoop(), config.stats);
            if (s != null) {
                if (shadows == null) {
                    shadows = new ArrayList<>(mirrors.size());
                }
                shadows.add(s);
            }
        }
    }

    /** A piece of request body; {@link LastHttpContent} ends the request (and may carry trailers). */
    void onRequestBody(HttpContent content) {
        touch();
        bytesReceived += content.content().readableBytes();
        boolean last = content instanceof LastHttpContent;
        if (finished) {
            content.release();
            return;
        }
        if (shadows != null) {
            for (ShadowStream s : shadows) {
                s.onRequestBody(content.retainedDuplicate());
            }
        }
        if (replay != null) {
            replayBytes += content.content().readableBytes();
            if (replayBytes > HttpConnectionManagerConfig.RETRY_BUFFER_LIMIT) {
                releaseAll(replay);
                replay = null;
            } else {
                replay.add(content.retainedDuplicate());
            }
        }
        Attempt a = attempt;
        if (a != null && a.stream != null) {
            a.stream.write(content);
            if (last) {
                a.stream.flush();
            }
            if (!a.stream.isWritable()) {
                sink.setReadable(false);
            }
        } else {
            pending.add(content);
            if (pendingBytes() > 64 * 1024) {
                sink.setReadable(false);
            }
        }
        if (last) {
            onRequestComplete();
            if (cluster != null && route.timeoutMillis() > 0 && routeTimer == null) {
                startRouteTimer();
            }
            if (a != null && a.stream != null) {
                a.startPerTryTimer();
            }
        }
    }

    /** End of a read batch on the downstream side. */
    void onReadComplete() {
        Attempt a = attempt;
        if (a != null && a.stream != null) {
            a.stream.flush();
        }
        if (shadows != null) {
            shadows.forEach(ShadowStream::flush);
        }
    }

    /** The client went away (connection closed, HTTP/2 RST_STREAM) before the response completed. */
    void onDownstreamReset() {
        if (finished) {
            return;
        }
        flags.add(ResponseFlag.DOWNSTREAM_CONNECTION_TERMINATION);
        responseCodeDetails = "downstream_remote_disconnect";
        Attempt a = attempt;
        if (a != null) {
            a.abort();
        }
        finish(false);
    }

    /**
     * The downstream codec failed after the headers (a malformed chunk): the upstream attempt is reset before
     * its request completes, so no backend sees a complete request, and the client gets {@code status} (a reset
     * if the response has started). The connection closes as the request is incomplete.
     */
    void onDownstreamProtocolError(int status, String body, String details) {
        if (finished) {
            return;
        }
        flags.add(ResponseFlag.DOWNSTREAM_PROTOCOL_ERROR);
        Attempt a = attempt;
        attempt = null;
        if (a != null) {
            a.abort();
        }
        sendLocalReply(status, body, details);
    }

    void onDownstreamWritabilityChanged(boolean writable) {
        Attempt a = attempt;
        if (a != null && a.stream != null) {
            a.stream.setAutoRead(writable);
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

    // ------------------------------------------------------------------ upstream attempts

    private void startAttempt() {
        Host host = cluster.chooseHost(new LbContext());
        if (host == null) { // the balancers hold healthy hosts only; one ejected since is still usable
            flags.add(ResponseFlag.NO_HEALTHY_UPSTREAM);
            sendLocalReply(503, "no healthy upstream", "no_healthy_upstream");
            return;
        }
        if (!cluster.circuitBreakers().tryAcquireRequest()) {
            cluster.stats().upstreamRqPendingOverflow().inc();
            onOverflow();
            return;
        }
        upstreamHost = host;
        if (route.autoHostRewrite()) {
            request.headers().set(HttpHeaderNames.HOST, host.addressString());
        }
        Attempt a = new Attempt(host);
        attempt = a;
        cluster.stats().upstreamRqTotal().inc();
        cluster.stats().upstreamRqActive().inc();
        host.requestStarted();
        host.stats().incRqTotal();
        ConnectionPools.get(sink.eventLoop(), cluster, host, cluster.http2()).newStream(a);
    }

    /** A circuit breaker refused the request: 503 with response flag UO, as Envoy's router answers. */
    private void onOverflow() {
        flags.add(ResponseFlag.UPSTREAM_OVERFLOW);
        sendLocalReply(503, "upstream connect error or disconnect/reset before headers. reset reason: "
                + ResetReason.OVERFLOW.text(), "upstream_reset_before_response_started{overflow}");
    }

    /** Whether a failed attempt may be retried under the route's retry policy. */
    private boolean retryAllowed(RetryCause cause, int status) {
        if (responseStarted || finished || !cause.retriableUnder(retryPolicy, status)) {
            return false;
        }
        if (retriesDone >= retryPolicy.numRetries()) {
            if (retriesDone > 0) {
                flags.add(ResponseFlag.UPSTREAM_RETRY_LIMIT_EXCEEDED);
            }
            return false;
        }
        return requestEndsWithHeaders || replay != null; // else the body was too large to replay
    }

    /** Retries if allowed; returns whether a retry was scheduled. */
    private boolean maybeRetry(Attempt failed, RetryCause cause, int status) {
        if (!retryAllowed(cause, status) || !acquireRetrySlot()) {
            return false;
        }
        scheduleRetry(failed);
        return true;
    }

    /** Takes a {@code max_retries} slot, released when the retry starts; on overflow counts it and flags UO. */
    private boolean acquireRetrySlot() {
        if (cluster.circuitBreakers().tryAcquireRetry()) {
            return true;
        }
        cluster.stats().upstreamRqRetryOverflow().inc();
        flags.add(ResponseFlag.UPSTREAM_OVERFLOW);
        return false;
    }

    /** Schedules the next attempt after the back-off; the caller holds a retry slot. */
    private void scheduleRetry(Attempt failed) {
        retriesDone++;
        lastFailedHost = failed.host;
        cluster.stats().upstreamRqRetry().inc();
        long backoff = retryPolicy.backoffMillis(retriesDone);
        attempt = null;
        sink.eventLoop().schedule(() -> {
            cluster.circuitBreakers().releaseRetry();
            if (!finished) {
                rebuildPending();
                startAttempt();
            }
        }, backoff, TimeUnit.MILLISECONDS);
    }

    private void rebuildPending() {
        releaseAll(pending);
        pending.clear();
        if (replay != null) {
            for (HttpContent c : replay) {
                pending.add(c.retainedDuplicate());
            }
        }
    }

    /** Why an attempt failed, and which retry_on conditions cover it. */
    private enum RetryCause {
        CONNECT_FAILURE, RESET, REFUSED_STREAM, STATUS, PER_TRY_TIMEOUT;

        boolean retriableUnder(RetryPolicy p, int status) {
            switch (this) {
                case CONNECT_FAILURE:
                    return p.retryOnConnectFailure() || p.retryOn5xx() || p.retryOnGatewayError();
                case RESET:
                    return p.retryOnReset() || p.retryOn5xx() || p.retryOnGatewayError();
                case REFUSED_STREAM:
                    return p.retryOnRefusedStream() || p.retryOnReset() || p.retryOn5xx() || p.retryOnGatewayError();
                case PER_TRY_TIMEOUT:
                    return p.retryOn5xx() || p.retryOnGatewayError() || p.retryOnReset();
                case STATUS:
                    return p.retriableStatus(status);
                default:
                    return false;
            }
        }
    }

    private final class LbContext implements LoadBalancerContext {
        @Override
        public OptionalLong hashKey() {
            return route.hash(request, sink.remoteAddress());
        }

        @Override
        public boolean shouldSelectAnotherHost(Host host) {
            return host == lastFailedHost;
        }
    }

    /** One try of the request against one host. */
    private final class Attempt implements UpstreamStreamListener {
        final Host host;
        UpstreamStream stream;
        long sentNanos;
        ScheduledFuture<?> perTryTimer;
        boolean ended;

        Attempt(Host host) {
            this.host = host;
        }

        boolean current() {
            return attempt == this && !finished;
        }

        @Override
        public void onStreamReady(UpstreamStream s) {
            if (!current()) {
                s.reset();
                return;
            }
            stream = s;
            sentNanos = System.nanoTime();
            HttpRequest out = upstreamRequest(s.http2());
            s.write(out);
            HttpContent c;
            while ((c = pending.poll()) != null) {
                s.write(c);
            }
            s.flush();
            if (requestComplete) {
                startPerTryTimer();
            }
            sink.setReadable(s.isWritable());
        }

        void startPerTryTimer() {
            long t = retryPolicy.perTryTimeoutMillis();
            if (t > 0 && perTryTimer == null) {
                perTryTimer = sink.eventLoop().schedule(this::onPerTryTimeout, t, TimeUnit.MILLISECONDS);
            }
        }

        private void onPerTryTimeout() {
            if (!current() || responseStarted) {
                return;
            }
            cluster.stats().upstreamRqPerTryTimeout().inc();
            cluster.reportLocalOriginFailure(host, true);
            abort();
            if (!maybeRetry(this, RetryCause.PER_TRY_TIMEOUT, 0)) {
                onTimeout();
            }
        }

        @Override
        public void onStreamFailure(ResetReason reason, String detail) {
            endAttempt();
            if (reason == ResetReason.OVERFLOW) {
                if (current()) {
                    stream = null;
                    onOverflow(); // never retried, as in Envoy
                }
                return;
            }
            host.stats().incRqError();
            cluster.reportLocalOriginFailure(host, false);
            if (!current()) {
                return;
            }
            stream = null;
            lastFailedHost = host;
            RetryCause cause = reason == ResetReason.CONNECTION_FAILURE || reason == ResetReason.CONNECT_TIMEOUT
                    ? RetryCause.CONNECT_FAILURE
                    : reason == ResetReason.REMOTE_REFUSED_STREAM_RESET ? RetryCause.REFUSED_STREAM : RetryCause.RESET;
            if (responseStarted) {
                flags.add(ResponseFlag.UPSTREAM_REMOTE_RESET);
                responseCodeDetails = "upstream_reset_after_response_started{" + reason.name().toLowerCase() + "}";
                sink.reset();
                finish(false);
                return;
            }
            if (maybeRetry(this, cause, 0)) {
                return;
            }
            if (cause == RetryCause.CONNECT_FAILURE) {
                flags.add(ResponseFlag.UPSTREAM_CONNECTION_FAILURE);
            } else {
                flags.add(ResponseFlag.UPSTREAM_REMOTE_RESET);
            }
            upstreamFailure = detail;
            String body = "upstream connect error or disconnect/reset before headers. reset reason: " + reason.text()
                    + (detail == null || detail.isEmpty() ? "" : ", transport failure reason: " + detail);
            sendLocalReply(503, body, "upstream_reset_before_response_started{" + reason.name().toLowerCase() + "}");
        }

        @Override
        public void onResponse(HttpObject msg) {
            if (!current()) {
                ReferenceCountUtil.release(msg);
                return;
            }
            touch();
            if (msg instanceof HttpResponse) {
                HttpResponse resp = (HttpResponse) msg;
                int code = resp.status().code();
                if (resp.status().codeClass() == HttpStatusClass.INFORMATIONAL && code != 101) {
                    ReferenceCountUtil.release(msg); // 100 Continue was answered locally
                    return;
                }
                cluster.reportResult(host, code);
                if (retryPolicy != RetryPolicy.NONE && retryAllowed(RetryCause.STATUS, code) && acquireRetrySlot()) {
                    ReferenceCountUtil.release(msg);
                    cluster.stats().recordResponseCode(code);
                    endAttempt();
                    stream.reset();
                    stream = null;
                    scheduleRetry(this);
                    return;
                }
                upstreamServiceTimeMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - sentNanos);
                cluster.stats().recordResponseCode(code);
                if (code >= 500) {
                    host.stats().incRqError();
                } else {
                    host.stats().incRqSuccess();
                }
                if (perTryTimer != null) {
                    perTryTimer.cancel(false);
                }
                sanitizeResponseHeaders(resp.headers(), code == 101, stream.http2());
                resp.headers().set(X_UPSTREAM_SERVICE_TIME, Long.toString(upstreamServiceTimeMs));
                if (code == 101 && upgradeRequest && !stream.http2()) {
                    responseStarted = true;
                    responseCode = 101;
                    responseHeaders = resp.headers();
                    UpstreamStream s = stream;
                    stream = null;
                    endAttempt();
                    ReferenceCountUtil.release(msg);
                    sink.write(new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.SWITCHING_PROTOCOLS,
                            Unpooled.EMPTY_BUFFER, resp.headers(), new DefaultHttpHeaders(false)));
                    sink.flush();
                    responseCodeDetails = "via_upstream";
                    if (!sink.upgrade(s)) {
                        s.reset();
                    }
                    finish(false);
                    return;
                }
                startResponse(resp, "via_upstream");
                if (msg instanceof LastHttpContent) {
                    bytesSent += ((LastHttpContent) msg).content().readableBytes();
                    sink.write(msg);
                    completeFromUpstream((LastHttpContent) msg);
                    return;
                }
                sink.write(msg);
                return;
            }
            HttpContent content = (HttpContent) msg;
            bytesSent += content.content().readableBytes();
            boolean last = msg instanceof LastHttpContent;
            sink.write(msg);
            if (last) {
                completeFromUpstream((LastHttpContent) msg);
            } else if (!sink.isWritable()) {
                stream.setAutoRead(false);
            }
        }

        private void completeFromUpstream(LastHttpContent last) {
            if (!last.trailingHeaders().isEmpty()) {
                responseTrailers = last.trailingHeaders();
            }
            sink.flush();
            UpstreamStream s = stream;
            stream = null;
            endAttempt();
            s.complete();
            finish(true);
        }

        @Override
        public void onReadComplete() {
            if (current() && responseStarted) {
                sink.flush();
            }
        }

        @Override
        public void onWritabilityChanged(boolean writable) {
            if (current()) {
                sink.setReadable(writable);
            }
        }

        void abort() {
            endAttempt();
            UpstreamStream s = stream;
            stream = null;
            if (s != null) {
                s.reset();
            }
        }

        private void endAttempt() {
            if (ended) {
                return;
            }
            ended = true;
            if (perTryTimer != null) {
                perTryTimer.cancel(false);
            }
            host.requestFinished();
            cluster.circuitBreakers().releaseRequest();
            cluster.stats().upstreamRqActive().dec();
        }
    }

    private HttpRequest upstreamRequest(boolean http2) {
        HttpRequest req = request;
        if (requestEndsWithHeaders) {
            if (req instanceof FullHttpRequest) {
                return ((FullHttpRequest) req).retainedDuplicate();
            }
            return new DefaultFullHttpRequest(req.protocolVersion(), req.method(), req.uri(),
                    Unpooled.EMPTY_BUFFER, req.headers(), new DefaultHttpHeaders(false));
        }
        if (!http2 && !req.headers().contains(HttpHeaderNames.CONTENT_LENGTH)) {
            HttpUtil.setTransferEncodingChunked(req, true);
        }
        return req;
    }

    // ------------------------------------------------------------------ responses

    private void startResponse(HttpResponse resp, String details) {
        responseStarted = true;
        responseCode = resp.status().code();
        responseCodeDetails = details;
        responseHeaders = resp.headers();
        HttpHeaders h = resp.headers();
        h.set(HttpHeaderNames.SERVER, config.serverName);
        if (!h.contains(HttpHeaderNames.DATE)) {
            h.set(HttpHeaderNames.DATE, DateHeader.now());
        }
        if (route != null) {
            route.transformResponse(resp, selectedCluster);
        }
        for (int i = filters.size() - 1; i >= 0; i--) {
            filters.get(i).onResponseHeaders(resp, this);
        }
    }

    private void sendResponse(FullHttpResponse resp, String details) {
        if (responseStarted) {
            resp.release();
            return;
        }
        bytesSent += resp.content().readableBytes();
        startResponse(resp, details);
        sink.write(resp);
        sink.flush();
        finish(true);
    }

    @Override
    public void sendLocalReply(int status, String body, String details, Consumer<HttpHeaders> modifyHeaders) {
        if (finished) {
            return;
        }
        if (responseStarted) {
            sink.reset();
            finish(false);
            return;
        }
        ByteBuf content = body.isEmpty() ? Unpooled.EMPTY_BUFFER : Unpooled.copiedBuffer(body, CharsetUtil.UTF_8);
        FullHttpResponse resp = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.valueOf(status), content);
        resp.headers().setInt(HttpHeaderNames.CONTENT_LENGTH, content.readableBytes());
        if (!body.isEmpty()) {
            resp.headers().set(HttpHeaderNames.CONTENT_TYPE, HttpHeaderValues.TEXT_PLAIN);
        }
        if (modifyHeaders != null) {
            modifyHeaders.accept(resp.headers());
        }
        sendResponse(resp, details);
    }

    @Override
    public InetSocketAddress downstreamRemoteAddress() {
        return sink.remoteAddress();
    }

    private void startRouteTimer() {
        routeTimer = sink.eventLoop().schedule(this::onTimeout, route.timeoutMillis(), TimeUnit.MILLISECONDS);
    }

    private void onTimeout() {
        if (finished) {
            return;
        }
        flags.add(ResponseFlag.UPSTREAM_REQUEST_TIMEOUT);
        if (cluster != null) {
            cluster.stats().upstreamRqTimeout().inc();
        }
        Attempt a = attempt;
        attempt = null;
        if (a != null) {
            if (!responseStarted) {
                cluster.reportLocalOriginFailure(a.host, true);
            }
            a.abort();
        }
        if (responseStarted) {
            responseCodeDetails = "upstream_response_timeout";
            sink.reset();
            finish(false);
        } else {
            sendLocalReply(504, "upstream request timeout", "upstream_response_timeout");
        }
    }

    private void onRequestTimeout() {
        requestTimer = null;
        if (finished || requestComplete) {
            return;
        }
        config.stats.rqTimeout.inc();
        Attempt a = attempt;
        attempt = null;
        if (a != null) {
            a.abort();
        }
        sendLocalReply(408, "request timeout", "request_overall_timeout");
    }

    /**
     * Arms {@code stream_idle_timeout} unless the route timeout is certain to fire first (the request is
     * complete and the route timeout is shorter): one timer per stream instead of two on the common path.
     */
    private void armIdleTimer() {
        long idle = config.streamIdleTimeoutMs;
        if (idle <= 0 || idleTimer != null) {
            return;
        }
        long routeTimeout = route == null ? 0 : route.timeoutMillis();
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
        if (finished) {
            return;
        }
        long idleMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - lastActivityNanos);
        long limit = config.streamIdleTimeoutMs;
        if (idleMs < limit) {
            scheduleIdleTimer(limit - idleMs);
            return;
        }
        flags.add(ResponseFlag.STREAM_IDLE_TIMEOUT);
        Attempt a = attempt;
        attempt = null;
        if (a != null) {
            a.abort();
        }
        if (requestComplete) {
            sendLocalReply(504, "stream timeout", "stream_idle_timeout");
        } else {
            sendLocalReply(408, "stream timeout", "stream_idle_timeout");
        }
    }

    // ------------------------------------------------------------------ end of stream

    private void finish(boolean complete) {
        if (finished) {
            return;
        }
        finished = true;
        if (routeTimer != null) {
            routeTimer.cancel(false);
        }
        if (requestTimer != null) {
            requestTimer.cancel(false);
        }
        if (idleTimer != null) {
            idleTimer.cancel(false);
        }
        releaseAll(pending);
        pending.clear();
        if (replay != null) {
            releaseAll(replay);
            replay = null;
        }
        if (shadows != null) {
            shadows.forEach(ShadowStream::onPrimaryEnded);
            shadows = null;
        }
        for (HttpFilter f : filters) {
            f.onDestroy();
        }
        config.stats.rqActive.dec();
        if (responseCode > 0) {
            config.stats.recordStatus(responseCode);
            config.stats.rqCompleted.inc();
        }
        log();
        if (complete) {
            boolean close = !requestComplete; // the rest of the request body would be read as a new request
            sink.responseComplete(close);
        }
    }

    private void log() {
        if (config.accessLog == AccessLog.NOOP) {
            return;
        }
        StreamInfo e = new StreamInfo()
                .startTimeMillis(startMillis)
                .startNanos(startNanos)
                .protocol(sink.protocol())
                .responseCode(responseCode)
                .responseCodeDetails(responseCodeDetails)
                .responseHeaders(responseHeaders)
                .responseTrailers(responseTrailers)
                .bytesReceived(bytesReceived)
                .bytesSent(bytesSent)
                .upstreamServiceTimeMs(upstreamServiceTimeMs)
                .upstreamHost(upstreamHost == null ? null : upstreamHost.addressString())
                .upstreamCluster(cluster == null ? null : cluster.name())
                .routeName(route == null ? null : route.name())
                .downstreamRemoteAddress(sink.remoteAddress())
                .downstreamLocalAddress(sink.localAddress())
                .upstreamTransportFailureReason(upstreamFailure)
                .finish(System.nanoTime());
        if (request != null) {
            HttpHeaders h = request.headers();
            e.requestHeaders(h)
                    .method(request.method().name())
                    .path(request.uri())
                    .authority(h.get(HttpHeaderNames.HOST))
                    .userAgent(h.get(HttpHeaderNames.USER_AGENT))
                    .forwardedFor(h.get(X_FORWARDED_FOR))
                    .requestId(h.get(X_REQUEST_ID));
        }
        for (ResponseFlag f : flags) {
            e.addResponseFlag(f);
        }
        try {
            config.accessLog.log(e);
        } catch (RuntimeException ex) {
            logger.warn("access log failed: {}", ex.toString());
        }
    }

    // ------------------------------------------------------------------ headers

    private void sanitizeRequestHeaders(HttpHeaders h) {
        removeConnectionHeaders(h, upgradeRequest, downstreamHttp2);
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

    private static void sanitizeResponseHeaders(HttpHeaders h, boolean upgrade, boolean fromHttp2) {
        removeConnectionHeaders(h, upgrade, fromHttp2);
        h.remove(HttpHeaderNames.TRANSFER_ENCODING);
    }

    private static void removeConnectionHeaders(HttpHeaders h, boolean keepUpgrade, boolean http2Extensions) {
        String connection = h.get(HttpHeaderNames.CONNECTION);
        if (connection != null) {
            for (String token : connection.split(",")) {
                String t = token.trim();
                if (!t.isEmpty() && !(keepUpgrade && t.equalsIgnoreCase("upgrade"))) {
                    h.remove(t);
                }
            }
            if (!keepUpgrade) {
                h.remove(HttpHeaderNames.CONNECTION);
            } else {
                h.set(HttpHeaderNames.CONNECTION, HttpHeaderValues.UPGRADE);
            }
        }
        h.remove(KEEP_ALIVE);
        h.remove(PROXY_CONNECTION);
        if (!keepUpgrade) {
            h.remove(HttpHeaderNames.UPGRADE);
        }
        if (http2Extensions) {
            Iterator<Map.Entry<CharSequence, CharSequence>> it = h.iteratorCharSequence();
            List<CharSequence> ext = null;
            while (it.hasNext()) {
                CharSequence name = it.next().getKey();
                if (name.length() > HTTP2_EXT_PREFIX.length()
                        && AsciiString.regionMatches(name, true, 0, HTTP2_EXT_PREFIX, 0, HTTP2_EXT_PREFIX.length())) {
                    if (ext == null) {
                        ext = new ArrayList<>(2);
                    }
                    ext.add(name);
                }
            }
            if (ext != null) {
                ext.forEach(h::remove);
            }
        }
    }

    private long pendingBytes() {
        long n = 0;
        for (HttpContent c : pending) {
            n += c.content().readableBytes();
        }
        return n;
    }

    private static void releaseAll(Iterable<HttpContent> list) {
        for (HttpContent c : list) {
            ReferenceCountUtil.safeRelease(c);
        }
        if (list instanceof List) {
            ((List<?>) list).clear();
        }
    }
}
