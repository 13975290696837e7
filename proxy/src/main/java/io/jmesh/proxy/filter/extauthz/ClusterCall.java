package io.jmesh.proxy.filter.extauthz;

import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.Function;
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
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.EventLoop;
import io.netty.handler.codec.http.EmptyHttpHeaders;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpObject;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.ScheduledFuture;

/**
 * One request to a cluster of the cluster manager, as Envoy's async client makes it for {@code ext_authz}: the
 * cluster's load balancer picks the host, its connection pool carries the request, so the cluster's
 * {@code transport_socket} (an {@code UpstreamTlsContext}: SIMPLE TLS, mutual TLS, Istio's SDS certificates,
 * {@code transport_socket_matches}) applies to the call. HTTP/2 when asked for (gRPC) or when the cluster speaks it.
 * Must be started on {@code loop}; {@code done} is called exactly once, on {@code loop}, with the answer or an error
 * text (missing cluster, no healthy host, connection or TLS failure, reset, timeout, a body over the limit).
 */
final class ClusterCall implements UpstreamStreamListener {

    /** The largest answer body read, in bytes; a larger one is an error. */
    static final int MAX_BODY_BYTES = 1 << 20;

    /** An answer: status, headers, the whole body and the trailers (empty when none). */
    record Answer(int status, HttpHeaders headers, byte[] body, HttpHeaders trailers) {}

    /** The outcome: exactly one of {@code answer} and {@code error} is not null. */
    record Outcome(Answer answer, String error) {}

    private final Function<Host, FullHttpRequest> request;
    private final Consumer<Outcome> done;
    private final String cluster;
    private boolean finished;
    private UpstreamStream stream;
    private ScheduledFuture<?> timer;
    private HttpResponse head;
    private ByteBuf body;

    private ClusterCall(String cluster, Function<Host, FullHttpRequest> request, Consumer<Outcome> done) {
        this.cluster = cluster;
        this.request = request;
        this.done = done;
    }

    /**
     * Starts the call. {@code request} builds the request for the chosen host when its stream is ready (the stream
     * takes it); it is not called when the call fails before.
     */
    static void start(Supplier<ClusterManager> clusters, String clusterName, EventLoop loop, boolean http2,
                      long timeoutMillis, Function<Host, FullHttpRequest> request, Consumer<Outcome> done) {
        ClusterCall call = new ClusterCall(clusterName, request, done);
        ClusterManager cm = clusters.get();
        UpstreamCluster c = cm == null ? null : cm.get(clusterName);
        if (c == null) {
            call.fail("cluster " + clusterName + " not found");
            return;
        }
        Host host = c.chooseHost(LoadBalancerContext.NONE);
        if (host == null) {
            call.fail("no healthy upstream in cluster " + clusterName);
            return;
        }
        if (timeoutMillis > 0) {
            call.timer = loop.schedule(() -> call.fail("timeout after " + timeoutMillis + "ms"), timeoutMillis,
                    TimeUnit.MILLISECONDS);
        }
        ConnectionPools.get(loop, c, host, http2 || c.http2()).newStream(call);
    }

    @Override
    public void onStreamReady(UpstreamStream s) {
        if (finished) {
            s.reset();
            return;
        }
        stream = s;
        s.write(request.apply(s.host()));
        s.flush();
    }

    @Override
    public void onStreamFailure(ResetReason reason, String detail) {
        stream = null;
        fail("cluster " + cluster + ": upstream " + reason + (detail == null || detail.isEmpty() ? "" : ": " + detail));
    }

    @Override
    public void onResponse(HttpObject msg) {
        try {
            if (finished) {
                return;
            }
            if (msg instanceof HttpResponse r) {
                head = r;
                releaseBody();
                body = Unpooled.buffer();
            }
            if (msg instanceof HttpContent c) {
                if (body == null) {
                    body = Unpooled.buffer();
                }
                if (body.readableBytes() + c.content().readableBytes() > MAX_BODY_BYTES) {
                    fail("cluster " + cluster + ": answer body over " + MAX_BODY_BYTES + " bytes");
                    return;
                }
                body.writeBytes(c.content(), c.content().readerIndex(), c.content().readableBytes());
            }
            if (msg instanceof LastHttpContent last && head != null) {
                UpstreamStream s = stream;
                stream = null;
                if (s != null) {
                    s.complete();
                }
                byte[] bytes = ByteBufUtil.getBytes(body);
                HttpHeaders trailers = last.trailingHeaders() == null ? EmptyHttpHeaders.INSTANCE
                        : last.trailingHeaders().copy();
                Answer a = new Answer(head.status().code(), head.headers().copy(), bytes, trailers);
                finish(new Outcome(a, null));
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
        if (finished) {
            return;
        }
        UpstreamStream s = stream;
        stream = null;
        if (s != null) {
            s.reset();
        }
        finish(new Outcome(null, why));
    }

    private void finish(Outcome o) {
        finished = true;
        if (timer != null) {
            timer.cancel(false);
            timer = null;
        }
        releaseBody();
        done.accept(o);
    }

    private void releaseBody() {
        if (body != null) {
            body.release();
            body = null;
        }
    }
}
