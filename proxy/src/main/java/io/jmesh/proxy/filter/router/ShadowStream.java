package io.jmesh.proxy.filter.router;

import java.util.ArrayDeque;
import java.util.concurrent.TimeUnit;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.jmesh.proxy.router.RequestMirrorPolicy;
import io.jmesh.proxy.upstream.Host;
import io.jmesh.proxy.upstream.UpstreamRequest;
import io.jmesh.proxy.upstream.UpstreamCluster;
import io.jmesh.proxy.upstream.pool.ConnectionPools;
import io.jmesh.proxy.upstream.pool.ResetReason;
import io.jmesh.proxy.upstream.pool.UpstreamStream;
import io.jmesh.proxy.upstream.pool.UpstreamStreamListener;
import io.netty.buffer.Unpooled;
import io.netty.channel.EventLoop;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.DefaultHttpHeaders;
import io.netty.handler.codec.http.DefaultHttpRequest;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpObject;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpStatusClass;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.ScheduledFuture;

/**
 * A fire-and-forget copy of a request sent to a route's mirror cluster (Envoy's shadow request, from
 * {@code RouteAction.request_mirror_policies}). Lives on the downstream event loop; every method must be
 * called there. It outlives its {@link RouterFilter} when the primary response finishes first.
 *
 * <p>The mirrored request carries a copy of the primary's headers as routed (with {@code -shadow} appended to
 * its Host unless the policy disables it) and receives retained duplicates of the body as it streams in.
 * Its response is read and dropped; it is never retried; nothing it does (failure, slowness, back-pressure)
 * reaches the primary request or the client. It is bounded: once more than {@link #BODY_LIMIT} bytes of
 * body were mirrored it is reset and counted in {@code http.<stat_prefix>.shadow_buffer_overflow}. It is
 * reset when the route timeout expires, and when the downstream request ends before its body is complete.
 * It counts in the mirror cluster's own {@code upstream_rq_*} stats and feeds its outlier detection, through the
 * one upstream path ({@link UpstreamRequest}).
 */
final class ShadowStream implements UpstreamStreamListener {

    private static final Logger logger = LoggerFactory.getLogger(ShadowStream.class);

    /** The most request body mirrored, as the retry buffer: Envoy buffers the body of a shadow. */
    static final long BODY_LIMIT = RouterFilter.RETRY_BUFFER_LIMIT;

    private final UpstreamCluster cluster;
    private final RouterFilterFactory.RouterStats stats;
    private final HttpRequest request;
    private final ArrayDeque<HttpContent> queued = new ArrayDeque<>(2);
    private UpstreamRequest upstream;
    private UpstreamStream stream;
    private ScheduledFuture<?> timer;
    private long bodyBytes;
    private boolean requestComplete;
    private boolean done;

    private ShadowStream(UpstreamCluster cluster, RouterFilterFactory.RouterStats stats, HttpRequest request,
                         boolean endStream) {
        this.cluster = cluster;
        this.stats = stats;
        this.request = request;
        this.requestComplete = endStream;
    }

    /**
     * Starts mirroring {@code primary} (its headers as routed, not yet sent) to {@code cluster}; returns null
     * when the cluster has no healthy host or its circuit breaker is open (counted in the cluster's stats).
     *
     * @param endStream whether {@code primary} has no body
     * @param bodySoFar request body received before routing; duplicated, not consumed
     * @param timeoutMillis the route timeout; 0 for none
     */
    static ShadowStream start(RequestMirrorPolicy policy, UpstreamCluster cluster, HttpRequest primary,
                              boolean endStream, Iterable<HttpContent> bodySoFar, long timeoutMillis,
                              EventLoop loop, RouterFilterFactory.RouterStats stats) {
        final UpstreamRequest upstream = UpstreamRequest.start(cluster, null); // counts UH / UO itself
        if (!upstream.started()) {
            logger.debug("shadow to cluster {}: {}", cluster.name(), upstream.failure());
            return null;
        }
        final Host host = upstream.host();
        final ShadowStream s = new ShadowStream(cluster, stats, copy(primary, endStream, policy), endStream);
        s.upstream = upstream;
        for (HttpContent c : bodySoFar) {
            s.onRequestBody(c.retainedDuplicate());
        }
        if (timeoutMillis > 0 && !s.done) {
            s.timer = loop.schedule(s::onTimeout, timeoutMillis, TimeUnit.MILLISECONDS);
        }
        if (!s.done) {
            ConnectionPools.get(loop, cluster, host, cluster.http2()).newStream(s);
        }
        return s.done ? null : s;
    }

    private static HttpRequest copy(HttpRequest primary, boolean endStream, RequestMirrorPolicy policy) {
        final HttpHeaders headers = primary.headers().copy();
        final String host = headers.get(HttpHeaderNames.HOST);
        if (host != null) {
            headers.set(HttpHeaderNames.HOST, policy.shadowHost(host));
        }
        if (!endStream) {
            return new DefaultHttpRequest(primary.protocolVersion(), primary.method(), primary.uri(), headers);
        }
        final HttpHeaders trailers = primary instanceof FullHttpRequest
                ? ((FullHttpRequest) primary).trailingHeaders().copy() : new DefaultHttpHeaders();
        return new DefaultFullHttpRequest(primary.protocolVersion(), primary.method(), primary.uri(),
                                          Unpooled.EMPTY_BUFFER, headers, trailers);
    }

    /** A piece of the request body; ownership passes to this stream. */
    void onRequestBody(HttpContent content) {
        if (done) {
            content.release();
            return;
        }
        bodyBytes += content.content().readableBytes();
        if (bodyBytes > BODY_LIMIT) {
            content.release();
            stats.shadowBufferOverflow.inc();
            logger.debug("shadow to cluster {}: request body over {} bytes, abandoned", cluster.name(), BODY_LIMIT);
            abort();
            return;
        }
        final boolean last = content instanceof LastHttpContent;
        if (last) {
            requestComplete = true;
        }
        if (stream != null) {
            stream.write(content);
            if (last) {
                stream.flush();
            }
        } else {
            queued.add(content);
        }
    }

    /** End of a read batch on the downstream side: sends what was written. */
    void flush() {
        if (stream != null) {
            stream.flush();
        }
    }

    /** The downstream request ended without its whole body (reset, early response): the copy is abandoned. */
    void onPrimaryEnded() {
        if (!requestComplete) {
            abort();
        }
    }

    @Override
    public void onStreamReady(UpstreamStream s) {
        if (done) {
            s.reset();
            return;
        }
        stream = s;
        if (!(request instanceof FullHttpRequest) && !s.http2()
            && !request.headers().contains(HttpHeaderNames.CONTENT_LENGTH)) {
            HttpUtil.setTransferEncodingChunked(request, true);
        }
        s.write(request);
        HttpContent c;
        while ((c = queued.poll()) != null) {
            s.write(c);
        }
        s.flush();
    }

    @Override
    public void onStreamFailure(ResetReason reason, String detail) {
        stream = null;
        if (reason == ResetReason.CONNECTION_FAILURE || reason == ResetReason.CONNECT_TIMEOUT) {
            upstream.onConnectFailure();
        } else if (reason != ResetReason.OVERFLOW) {
            upstream.onReset();
        }
        logger.debug("shadow to cluster {} failed: {} {}", cluster.name(), reason, detail);
        end();
    }

    @Override
    public void onResponse(HttpObject msg) {
        try {
            if (done) {
                return;
            }
            if (msg instanceof HttpResponse) {
                final HttpResponse resp = (HttpResponse) msg;
                final int code = resp.status().code();
                if (resp.status().codeClass() == HttpStatusClass.INFORMATIONAL) {
                    return;
                }
                upstream.onResponse(code);
            }
            if (msg instanceof LastHttpContent) {
                final UpstreamStream s = stream;
                stream = null;
                end();
                s.complete();
            }
        } finally {
            ReferenceCountUtil.release(msg);
        }
    }

    @Override
    public void onReadComplete() {
        // the response is dropped as it comes
    }

    @Override
    public void onWritabilityChanged(boolean writable) {
        // never pauses the downstream: the body is bounded by BODY_LIMIT instead
    }

    private void onTimeout() {
        timer = null;
        if (done) {
            return;
        }
        upstream.onTimeout();
        abort();
    }

    private void abort() {
        final UpstreamStream s = stream;
        stream = null;
        end();
        if (s != null) {
            s.reset();
        }
    }

    private void end() {
        if (done) {
            return;
        }
        done = true;
        if (timer != null) {
            timer.cancel(false);
            timer = null;
        }
        HttpContent c;
        while ((c = queued.poll()) != null) {
            ReferenceCountUtil.safeRelease(c);
        }
        upstream.end();
    }
}
