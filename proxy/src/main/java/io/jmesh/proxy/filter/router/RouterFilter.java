package io.jmesh.proxy.filter.router;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalLong;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.jmesh.proxy.filter.DownstreamWatermarkCallbacks;
import io.jmesh.proxy.filter.FilterDataStatus;
import io.jmesh.proxy.filter.FilterHeadersStatus;
import io.jmesh.proxy.filter.FilterTrailersStatus;
import io.jmesh.proxy.filter.StreamDecoderFilter;
import io.jmesh.proxy.filter.StreamDecoderFilterCallbacks;
import io.jmesh.proxy.internal.HopByHopHeaders;
import io.jmesh.proxy.router.RequestMirrorPolicy;
import io.jmesh.proxy.router.RetryPolicy;
import io.jmesh.proxy.router.RouteEntry;
import io.jmesh.proxy.stream.ConnectionInfo;
import io.jmesh.proxy.stream.ResponseFlag;
import io.jmesh.proxy.stream.StreamInfo;
import io.jmesh.proxy.upstream.ClusterManager;
import io.jmesh.proxy.upstream.Host;
import io.jmesh.proxy.upstream.LoadBalancerContext;
import io.jmesh.proxy.upstream.UpstreamCluster;
import io.jmesh.proxy.upstream.UpstreamRequest;
import io.jmesh.proxy.upstream.pool.ConnectionPools;
import io.jmesh.proxy.upstream.pool.ResetReason;
import io.jmesh.proxy.upstream.pool.UpstreamStream;
import io.jmesh.proxy.upstream.pool.UpstreamStreamListener;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.DefaultHttpContent;
import io.netty.handler.codec.http.DefaultHttpHeaders;
import io.netty.handler.codec.http.DefaultHttpResponse;
import io.netty.handler.codec.http.DefaultLastHttpContent;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpObject;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpStatusClass;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.util.AsciiString;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.ScheduledFuture;

/**
 * The router of one stream (Envoy's {@code envoy.filters.http.router}, {@code source/common/router/router.h}):
 * the terminal decoder filter. It takes the route the filter manager resolved (after any filter cleared the
 * route cache), answers redirects and direct responses, picks the cluster and a host, and makes upstream
 * attempts with the route's retry policy, per-try and route timeouts, and request mirroring ({@link ShadowStream}).
 * Host choice, the circuit-breaker slots, outlier reports and upstream stats of every attempt and mirror go
 * through the one upstream path ({@link UpstreamRequest}, Envoy's {@code UpstreamRequest}). The response streams
 * back through the encoder filters.
 *
 * <p>Bodies stream through without copies. Up to {@link #RETRY_BUFFER_LIMIT} bytes of request body are also
 * kept (as retained slices) so that a retry can replay them; past that the stream stops being retriable, as in
 * Envoy. Lives on the stream's event loop.
 */
final class RouterFilter implements StreamDecoderFilter, DownstreamWatermarkCallbacks {

    private static final Logger logger = LoggerFactory.getLogger(RouterFilter.class);

    /** Request bodies up to this size are kept for retries (Envoy's default buffer limit, 1 MiB). */
    static final int RETRY_BUFFER_LIMIT = 1 << 20;
    static final AsciiString X_UPSTREAM_SERVICE_TIME = AsciiString.cached("x-envoy-upstream-service-time");
    private static final int PENDING_HIGH_WATERMARK = 64 * 1024;

    private final Supplier<ClusterManager> clusters;
    private final RouterFilterFactory.RouterStats stats;
    private StreamDecoderFilterCallbacks callbacks;
    private StreamInfo info;

    private HttpRequest request;
    private boolean requestEndsWithHeaders;
    private boolean requestComplete;
    private boolean upgradeRequest;
    private RouteEntry route;
    private UpstreamCluster cluster;
    private RetryPolicy retryPolicy = RetryPolicy.NONE;
    private Attempt attempt;
    private int retriesDone;
    private Host lastFailedHost;
    /** Request body received before the upstream stream is ready; created with the first piece. */
    private ArrayDeque<HttpContent> pending;
    /** Request body kept for retries (null once over the limit); created with the first piece. */
    private List<HttpContent> replay;
    private boolean replayOverflow;
    private long replayBytes;
    private List<ShadowStream> shadows;
    private boolean responseStarted;
    private boolean destroyed;
    private ScheduledFuture<?> routeTimer;

    RouterFilter(Supplier<ClusterManager> clusters, RouterFilterFactory.RouterStats stats) {
        this.clusters = clusters;
        this.stats = stats;
    }

    @Override
    public void setDecoderFilterCallbacks(StreamDecoderFilterCallbacks callbacks) {
        this.callbacks = callbacks;
        this.info = callbacks.streamInfo();
        callbacks.addDownstreamWatermarkCallbacks(this);
    }

    // ------------------------------------------------------------------ request path

    @Override
    public FilterHeadersStatus decodeHeaders(HttpRequest req, boolean endStream) {
        this.request = req;
        this.requestEndsWithHeaders = endStream;
        this.requestComplete = endStream;
        this.upgradeRequest = req.headers().contains(HttpHeaderNames.UPGRADE);
        route = callbacks.route();
        if (route == null) {
            callbacks.addResponseFlag(ResponseFlag.NO_ROUTE_FOUND);
            callbacks.sendLocalReply(404, "", "route_not_found");
            return FilterHeadersStatus.STOP_ITERATION;
        }
        switch (route.kind()) {
            case REDIRECT: {
                FullHttpResponse redirect = route.redirect(req);
                info.responseCodeDetails("direct_response");
                HttpResponse head = new DefaultHttpResponse(redirect.protocolVersion(), redirect.status(),
                        redirect.headers());
                ByteBuf body = redirect.content();
                if (body.isReadable()) {
                    callbacks.encodeHeaders(head, false);
                    callbacks.encodeData(body, true);
                } else {
                    redirect.release();
                    head.headers().setInt(HttpHeaderNames.CONTENT_LENGTH, 0);
                    callbacks.encodeHeaders(head, true);
                }
                return FilterHeadersStatus.STOP_ITERATION;
            }
            case DIRECT_RESPONSE:
                callbacks.sendLocalReply(route.directStatus(), route.directBody(), "direct_response");
                return FilterHeadersStatus.STOP_ITERATION;
            default:
                break;
        }
        String clusterName = route.selectCluster(req);
        ClusterManager cm = clusters.get();
        cluster = cm == null ? null : cm.get(clusterName);
        if (cluster == null) {
            callbacks.addResponseFlag(ResponseFlag.NO_CLUSTER_FOUND);
            callbacks.sendLocalReply(503, "", "cluster_not_found");
            return FilterHeadersStatus.STOP_ITERATION;
        }
        info.upstreamCluster(cluster.name());
        route.transformRequest(req, clusterName);
        retryPolicy = route.retryPolicy();
        if (route.timeoutMillis() > 0 && requestComplete) {
            startRouteTimer();
        }
        List<RequestMirrorPolicy> mirrors = route.mirrorPolicies();
        if (!mirrors.isEmpty()) {
            startShadows(mirrors, cm);
        }
        startAttempt();
        return FilterHeadersStatus.STOP_ITERATION;
    }

    @Override
    public FilterDataStatus decodeData(ByteBuf data, boolean endStream) {
        onRequestBody(endStream ? new DefaultLastHttpContent(data) : new DefaultHttpContent(data), endStream);
        return FilterDataStatus.STOP_ITERATION_NO_BUFFER;
    }

    @Override
    public FilterTrailersStatus decodeTrailers(HttpHeaders trailers) {
        DefaultLastHttpContent last = new DefaultLastHttpContent(Unpooled.EMPTY_BUFFER);
        last.trailingHeaders().set(trailers);
        onRequestBody(last, true);
        return FilterTrailersStatus.STOP_ITERATION;
    }

    private void onRequestBody(HttpContent content, boolean last) {
        if (destroyed || cluster == null) {
            content.release();
            return;
        }
        if (shadows != null) {
            for (ShadowStream s : shadows) {
                s.onRequestBody(content.retainedDuplicate());
            }
        }
        if (!replayOverflow) {
            replayBytes += content.content().readableBytes();
            if (replayBytes > RETRY_BUFFER_LIMIT) {
                if (replay != null) {
                    releaseAll(replay);
                    replay = null;
                }
                replayOverflow = true;
            } else {
                if (replay == null) {
                    replay = new ArrayList<>(4);
                }
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
                callbacks.onDecoderFilterAboveWriteBufferHighWatermark();
            }
        } else {
            if (pending == null) {
                pending = new ArrayDeque<>(4);
            }
            pending.add(content);
            if (pendingBytes() > PENDING_HIGH_WATERMARK) {
                callbacks.onDecoderFilterAboveWriteBufferHighWatermark();
            }
        }
        if (last) {
            requestComplete = true;
            if (route.timeoutMillis() > 0 && routeTimer == null) {
                startRouteTimer();
            }
            if (a != null && a.stream != null) {
                a.startPerTryTimer();
            }
        }
    }

    @Override
    public void onDownstreamReadComplete() {
        Attempt a = attempt;
        if (a != null && a.stream != null) {
            a.stream.flush();
        }
        if (shadows != null) {
            shadows.forEach(ShadowStream::flush);
        }
    }

    @Override
    public void onAboveWriteBufferHighWatermark() {
        Attempt a = attempt;
        if (a != null && a.stream != null) {
            a.stream.setAutoRead(false);
        }
    }

    @Override
    public void onBelowWriteBufferLowWatermark() {
        Attempt a = attempt;
        if (a != null && a.stream != null) {
            a.stream.setAutoRead(true);
        }
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
                    stats.shadowClusterNotFound.inc();
                    logger.debug("{} shadow cluster '{}' does not exist", callbacks.connection(), name);
                }
                continue;
            }
            ShadowStream s = ShadowStream.start(p, c, request, requestEndsWithHeaders,
                    pending == null ? List.<HttpContent>of() : pending, route.timeoutMillis(),
                    callbacks.eventLoop(), stats);
            if (s != null) {
                if (shadows == null) {
                    shadows = new ArrayList<>(mirrors.size());
                }
                shadows.add(s);
            }
        }
    }

    @Override
    public void onDestroy() {
        if (destroyed) {
            return;
        }
        destroyed = true;
        if (routeTimer != null) {
            routeTimer.cancel(false);
            routeTimer = null;
        }
        Attempt a = attempt;
        attempt = null;
        if (a != null) {
            a.abort();
        }
        if (pending != null) {
            releaseAll(pending);
        }
        if (replay != null) {
            releaseAll(replay);
            replay = null;
        }
        if (shadows != null) {
            shadows.forEach(ShadowStream::onPrimaryEnded);
            shadows = null;
        }
    }

    // ------------------------------------------------------------------ upstream attempts

    private void startAttempt() {
        UpstreamRequest upstream = UpstreamRequest.start(cluster, new LbContext());
        if (!upstream.started()) {
            if (upstream.failure() == UpstreamRequest.Failure.NO_HEALTHY_UPSTREAM) {
                callbacks.addResponseFlag(ResponseFlag.NO_HEALTHY_UPSTREAM);
                callbacks.sendLocalReply(503, "no healthy upstream", "no_healthy_upstream");
            } else {
                onOverflow();
            }
            return;
        }
        Host host = upstream.host();
        info.upstreamHost(host.addressString());
        if (route.autoHostRewrite()) {
            request.headers().set(HttpHeaderNames.HOST, host.addressString());
        }
        Attempt a = new Attempt(upstream);
        attempt = a;
        ConnectionPools.get(callbacks.eventLoop(), cluster, host, cluster.http2()).newStream(a);
    }

    /** A circuit breaker refused the request: 503 with response flag UO, as Envoy's router answers. */
    private void onOverflow() {
        callbacks.addResponseFlag(ResponseFlag.UPSTREAM_OVERFLOW);
        callbacks.sendLocalReply(503, "upstream connect error or disconnect/reset before headers. reset reason: "
                + ResetReason.OVERFLOW.text(), "upstream_reset_before_response_started{overflow}");
    }

    /** Whether a failed attempt may be retried under the route's retry policy. */
    private boolean retryAllowed(RetryCause cause, int status) {
        if (responseStarted || destroyed || !cause.retriableUnder(retryPolicy, status)) {
            return false;
        }
        if (retriesDone >= retryPolicy.numRetries()) {
            if (retriesDone > 0) {
                callbacks.addResponseFlag(ResponseFlag.UPSTREAM_RETRY_LIMIT_EXCEEDED);
            }
            return false;
        }
        return requestEndsWithHeaders || !replayOverflow; // else the body was too large to replay
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
        if (UpstreamRequest.tryAcquireRetry(cluster)) { // counts upstream_rq_retry, or _retry_overflow
            return true;
        }
        callbacks.addResponseFlag(ResponseFlag.UPSTREAM_OVERFLOW);
        return false;
    }

    /** Schedules the next attempt after the back-off; the caller holds a retry slot. */
    private void scheduleRetry(Attempt failed) {
        retriesDone++;
        lastFailedHost = failed.host;
        long backoff = retryPolicy.backoffMillis(retriesDone);
        attempt = null;
        callbacks.eventLoop().schedule(() -> {
            UpstreamRequest.releaseRetry(cluster);
            if (!destroyed) {
                rebuildPending();
                startAttempt();
            }
        }, backoff, TimeUnit.MILLISECONDS);
    }

    private void rebuildPending() {
        if (pending != null) {
            releaseAll(pending);
        }
        if (replay != null) {
            if (pending == null) {
                pending = new ArrayDeque<>(replay.size());
            }
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
            return route.hash(request, callbacks.connection().remoteAddress());
        }

        @Override
        public java.net.InetSocketAddress downstreamDestination() {
            return callbacks.connection().destinationAddress();
        }

        @Override
        public boolean shouldSelectAnotherHost(Host host) {
            return host == lastFailedHost;
        }
    }

    private void startRouteTimer() {
        routeTimer = callbacks.eventLoop().schedule(this::onTimeout, route.timeoutMillis(), TimeUnit.MILLISECONDS);
    }

    private void onTimeout() {
        if (destroyed) {
            return;
        }
        callbacks.addResponseFlag(ResponseFlag.UPSTREAM_REQUEST_TIMEOUT);
        Attempt a = attempt;
        attempt = null;
        if (a != null) {
            a.upstream.onTimeout(); // upstream_rq_timeout; a local-origin failure unless a response came
            a.abort();
        } else {
            cluster.stats().upstreamRqTimeout().inc(); // between attempts (retry back-off)
        }
        if (responseStarted) {
            info.responseCodeDetails("upstream_response_timeout");
            callbacks.resetStream();
        } else {
            callbacks.sendLocalReply(504, "upstream request timeout", "upstream_response_timeout");
        }
    }

    /** One try of the request against one host (Envoy's {@code UpstreamRequest}). */
    private final class Attempt implements UpstreamStreamListener {
        final UpstreamRequest upstream;
        final Host host;
        UpstreamStream stream;
        long sentNanos;
        ScheduledFuture<?> perTryTimer;
        boolean ended;

        Attempt(UpstreamRequest upstream) {
            this.upstream = upstream;
            this.host = upstream.host();
        }

        boolean current() {
            return attempt == this && !destroyed;
        }

        @Override
        public void onStreamReady(UpstreamStream s) {
            if (!current()) {
                s.reset();
                return;
            }
            stream = s;
            sentNanos = System.nanoTime();
            Channel ch = s.channel();
            info.upstreamConnection(ConnectionInfo.of(ch.parent() != null ? ch.parent() : ch));
            HttpRequest out = upstreamRequest(s.http2());
            s.write(out);
            HttpContent c;
            while (pending != null && (c = pending.poll()) != null) {
                s.write(c);
            }
            s.flush();
            if (requestComplete) {
                startPerTryTimer();
            }
            if (s.isWritable()) {
                callbacks.onDecoderFilterBelowWriteBufferLowWatermark();
            } else {
                callbacks.onDecoderFilterAboveWriteBufferHighWatermark();
            }
        }

        void startPerTryTimer() {
            long t = retryPolicy.perTryTimeoutMillis();
            if (t > 0 && perTryTimer == null) {
                perTryTimer = callbacks.eventLoop().schedule(this::onPerTryTimeout, t, TimeUnit.MILLISECONDS);
            }
        }

        private void onPerTryTimeout() {
            if (!current() || responseStarted) {
                return;
            }
            upstream.onPerTryTimeout();
            abort();
            if (!maybeRetry(this, RetryCause.PER_TRY_TIMEOUT, 0)) {
                onTimeout();
            }
        }

        @Override
        public void onStreamFailure(ResetReason reason, String detail) {
            if (reason == ResetReason.OVERFLOW) {
                endAttempt();
                if (current()) {
                    stream = null;
                    onOverflow(); // never retried, as in Envoy
                }
                return;
            }
            RetryCause cause = reason == ResetReason.CONNECTION_FAILURE || reason == ResetReason.CONNECT_TIMEOUT
                    ? RetryCause.CONNECT_FAILURE
                    : reason == ResetReason.REMOTE_REFUSED_STREAM_RESET ? RetryCause.REFUSED_STREAM : RetryCause.RESET;
            if (cause == RetryCause.CONNECT_FAILURE) {
                upstream.onConnectFailure(); // a local-origin failure for outlier detection; ends the request
            } else {
                upstream.onReset();
            }
            endAttempt();
            if (!current()) {
                return;
            }
            stream = null;
            lastFailedHost = host;
            if (responseStarted) {
                callbacks.addResponseFlag(ResponseFlag.UPSTREAM_REMOTE_RESET);
                info.responseCodeDetails("upstream_reset_after_response_started{" + reason.name().toLowerCase() + "}");
                callbacks.resetStream();
                return;
            }
            if (maybeRetry(this, cause, 0)) {
                return;
            }
            if (cause == RetryCause.CONNECT_FAILURE) {
                callbacks.addResponseFlag(ResponseFlag.UPSTREAM_CONNECTION_FAILURE);
            } else {
                callbacks.addResponseFlag(ResponseFlag.UPSTREAM_REMOTE_RESET);
            }
            info.upstreamTransportFailureReason(detail);
            String body = "upstream connect error or disconnect/reset before headers. reset reason: " + reason.text()
                    + (detail == null || detail.isEmpty() ? "" : ", transport failure reason: " + detail);
            callbacks.sendLocalReply(503, body,
                    "upstream_reset_before_response_started{" + reason.name().toLowerCase() + "}");
        }

        @Override
        public void onResponse(HttpObject msg) {
            if (!current()) {
                ReferenceCountUtil.release(msg);
                return;
            }
            if (msg instanceof HttpResponse) {
                onResponseHeaders((HttpResponse) msg);
                return;
            }
            HttpContent content = (HttpContent) msg;
            if (msg instanceof LastHttpContent) {
                HttpHeaders trailers = ((LastHttpContent) msg).trailingHeaders();
                completeFromUpstream();
                if (trailers.isEmpty()) {
                    callbacks.encodeData(content.content(), true);
                } else {
                    callbacks.encodeData(content.content(), false);
                    callbacks.encodeTrailers(trailers);
                }
                return;
            }
            callbacks.encodeData(content.content(), false);
        }

        private void onResponseHeaders(HttpResponse resp) {
            int code = resp.status().code();
            if (resp.status().codeClass() == HttpStatusClass.INFORMATIONAL && code != 101) {
                ReferenceCountUtil.release(resp); // 100 Continue was answered locally
                return;
            }
            upstream.onResponse(code); // outlier detection, upstream_rq_<code>, host rq_success / rq_error
            if (retryPolicy != RetryPolicy.NONE && retryAllowed(RetryCause.STATUS, code) && acquireRetrySlot()) {
                ReferenceCountUtil.release(resp);
                endAttempt();
                stream.reset();
                stream = null;
                scheduleRetry(this);
                return;
            }
            long now = System.nanoTime();
            long serviceTime = TimeUnit.NANOSECONDS.toMillis(now - sentNanos);
            info.upstreamServiceTimeMs(serviceTime);
            info.responseDurationMs(TimeUnit.NANOSECONDS.toMillis(now - info.startNanos()));
            if (perTryTimer != null) {
                perTryTimer.cancel(false);
            }
            sanitizeResponseHeaders(resp.headers(), code == 101, stream.http2());
            resp.headers().set(X_UPSTREAM_SERVICE_TIME, Long.toString(serviceTime));
            responseStarted = true;
            info.responseCodeDetails("via_upstream");
            if (code == 101 && upgradeRequest && !stream.http2()) {
                UpstreamStream s = stream;
                stream = null;
                endAttempt();
                ReferenceCountUtil.release(resp);
                route.transformResponse(resp, cluster.name());
                if (!callbacks.switchProtocols(new DefaultHttpResponse(resp.protocolVersion(), resp.status(),
                        resp.headers()), s)) {
                    s.reset();
                }
                return;
            }
            if (resp instanceof FullHttpResponse) {
                FullHttpResponse full = (FullHttpResponse) resp;
                HttpResponse head = new DefaultHttpResponse(full.protocolVersion(), full.status(), full.headers());
                ByteBuf body = full.content();
                HttpHeaders trailers = full.trailingHeaders();
                completeFromUpstream();
                if (!body.isReadable() && trailers.isEmpty()) {
                    body.release();
                    callbacks.encodeHeaders(head, true);
                    return;
                }
                callbacks.encodeHeaders(head, false);
                callbacks.encodeData(body, trailers.isEmpty());
                if (!trailers.isEmpty()) {
                    callbacks.encodeTrailers(trailers);
                }
                return;
            }
            callbacks.encodeHeaders(resp, false);
        }

        /** The upstream response is complete: the stream goes back to its pool before the last piece goes on. */
        private void completeFromUpstream() {
            UpstreamStream s = stream;
            stream = null;
            endAttempt();
            attempt = null;
            if (s != null) {
                s.complete();
            }
        }

        @Override
        public void onReadComplete() {
            if (current() && responseStarted) {
                callbacks.flushEncoded();
            }
        }

        @Override
        public void onWritabilityChanged(boolean writable) {
            if (current()) {
                if (writable) {
                    callbacks.onDecoderFilterBelowWriteBufferLowWatermark();
                } else {
                    callbacks.onDecoderFilterAboveWriteBufferHighWatermark();
                }
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
            upstream.end();
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

    // ------------------------------------------------------------------ headers

    private static void sanitizeResponseHeaders(HttpHeaders h, boolean upgrade, boolean fromHttp2) {
        HopByHopHeaders.remove(h, upgrade, fromHttp2);
        h.remove(HttpHeaderNames.TRANSFER_ENCODING);
    }

    private long pendingBytes() {
        long n = 0;
        for (HttpContent c : pending) {
            n += c.content().readableBytes();
        }
        return n;
    }

    private static void releaseAll(java.util.Collection<HttpContent> list) {
        for (HttpContent c : list) {
            ReferenceCountUtil.safeRelease(c);
        }
        list.clear();
    }
}
