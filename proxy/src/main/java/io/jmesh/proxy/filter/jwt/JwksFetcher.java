package io.jmesh.proxy.filter.jwt;

import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

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
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpObject;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.ScheduledFuture;

/**
 * One HTTP GET of a JWKS through the cluster manager (Envoy's {@code JwksFetcher} over the {@code http_uri}'s
 * {@code cluster}): the cluster's load balancer picks the host, its connection pool (TLS included) carries the
 * request on the given event loop. The future fails on a missing cluster, no healthy host, a connection or stream
 * failure, a status other than 200, a body over {@link #MAX_BODY_BYTES}, or the {@code http_uri.timeout}.
 */
final class JwksFetcher implements UpstreamStreamListener {

    /** The largest JWKS document accepted, in bytes. */
    static final int MAX_BODY_BYTES = 1 << 20;

    private final CompletableFuture<String> result = new CompletableFuture<>();
    private final URI uri;
    private final EventLoop loop;
    private UpstreamStream stream;
    private ScheduledFuture<?> timer;
    private ByteBuf body;
    private int status;

    private JwksFetcher(URI uri, EventLoop loop) {
        this.uri = uri;
        this.loop = loop;
    }

    /** Starts a fetch of {@code uri} through {@code clusterName}; call on {@code loop}. */
    static CompletableFuture<String> fetch(Supplier<ClusterManager> clusters, String clusterName, URI uri,
                                           long timeoutMillis, EventLoop loop) {
        JwksFetcher f = new JwksFetcher(uri, loop);
        ClusterManager cm = clusters.get();
        UpstreamCluster cluster = cm == null ? null : cm.get(clusterName);
        if (cluster == null) {
            f.result.completeExceptionally(new IllegalStateException("cluster " + clusterName + " not found"));
            return f.result;
        }
        Host host = cluster.chooseHost(LoadBalancerContext.NONE);
        if (host == null) {
            f.result.completeExceptionally(new IllegalStateException("no healthy host in cluster " + clusterName));
            return f.result;
        }
        if (timeoutMillis > 0) {
            f.timer = loop.schedule(() -> f.fail("timeout after " + timeoutMillis + "ms"), timeoutMillis,
                    TimeUnit.MILLISECONDS);
        }
        ConnectionPools.get(loop, cluster, host, cluster.http2()).newStream(f);
        return f.result;
    }

    @Override
    public void onStreamReady(UpstreamStream s) {
        if (result.isDone()) {
            s.reset();
            return;
        }
        stream = s;
        String path = uri.getRawPath() == null || uri.getRawPath().isEmpty() ? "/" : uri.getRawPath();
        if (uri.getRawQuery() != null) {
            path += "?" + uri.getRawQuery();
        }
        DefaultFullHttpRequest req = new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.GET, path,
                Unpooled.EMPTY_BUFFER);
        req.headers().set(HttpHeaderNames.HOST, uri.getPort() < 0 ? uri.getHost() : uri.getHost() + ":" + uri.getPort());
        req.headers().set(HttpHeaderNames.ACCEPT, "application/json");
        s.write(req);
        s.flush();
    }

    @Override
    public void onStreamFailure(ResetReason reason, String detail) {
        stream = null;
        fail("upstream " + reason + (detail == null ? "" : ": " + detail));
    }

    @Override
    public void onResponse(HttpObject msg) {
        try {
            if (result.isDone()) {
                return;
            }
            if (msg instanceof HttpResponse r) {
                status = r.status().code();
                releaseBody();
                body = Unpooled.buffer();
            }
            if (msg instanceof HttpContent c) {
                if (body == null) {
                    body = Unpooled.buffer();
                }
                if (body.readableBytes() + c.content().readableBytes() > MAX_BODY_BYTES) {
                    fail("JWKS body over " + MAX_BODY_BYTES + " bytes");
                    return;
                }
                body.writeBytes(c.content(), c.content().readerIndex(), c.content().readableBytes());
            }
            if (msg instanceof LastHttpContent) {
                UpstreamStream s = stream;
                stream = null;
                if (s != null) {
                    s.complete();
                }
                cancelTimer();
                String text = body.toString(StandardCharsets.UTF_8);
                releaseBody();
                if (status != 200) {
                    result.completeExceptionally(new IllegalStateException("status " + status));
                } else {
                    result.complete(text);
                }
            }
        } finally {
            ReferenceCountUtil.release(msg);
        }
    }

    @Override
    public void onReadComplete() {}

    @Override
    public void onWritabilityChanged(boolean writable) {}

    private void fail(String why) {
        if (result.isDone()) {
            return;
        }
        cancelTimer();
        releaseBody();
        UpstreamStream s = stream;
        stream = null;
        if (s != null) {
            s.reset();
        }
        result.completeExceptionally(new IllegalStateException(why));
    }

    private void cancelTimer() {
        if (timer != null) {
            timer.cancel(false);
            timer = null;
        }
    }

    private void releaseBody() {
        if (body != null) {
            body.release();
            body = null;
        }
    }
}
