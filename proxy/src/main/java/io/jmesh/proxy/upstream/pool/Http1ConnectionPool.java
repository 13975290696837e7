package io.jmesh.proxy.upstream.pool;

import java.util.ArrayDeque;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.jmesh.proxy.upstream.CircuitBreakers;
import io.jmesh.proxy.upstream.Host;
import io.jmesh.proxy.upstream.UpstreamCluster;
import io.netty.channel.Channel;
import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.EventLoop;
import io.netty.handler.codec.http.HttpClientCodec;
import io.netty.handler.codec.http.HttpObject;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.util.ReferenceCountUtil;

/**
 * HTTP/1.1 connections to one host with keep-alive reuse: one request at a time per connection, idle
 * connections reused most-recently-used first. When the cluster's {@code max_connections} breaker is full,
 * a request waits (within {@code max_pending_requests}, else it fails with {@link ResetReason#OVERFLOW})
 * for a connection of this pool to come free. A connection closes after
 * {@link UpstreamCluster#maxRequestsPerConnection()} requests. Confined to its event loop.
 */
final class Http1ConnectionPool implements ConnectionPool {

    private static final Logger logger = LoggerFactory.getLogger(Http1ConnectionPool.class);

    private final EventLoop loop;
    private final UpstreamCluster cluster;
    private final Host host;
    private final ArrayDeque<Connection> idle = new ArrayDeque<>();
    /** Requests waiting for a connection while max_connections is reached (each holds a pending slot). */
    private final ArrayDeque<UpstreamStreamListener> pending = new ArrayDeque<>();
    private int open;
    private boolean draining;

    Http1ConnectionPool(EventLoop loop, UpstreamCluster cluster, Host host) {
        this.loop = loop;
        this.cluster = cluster;
        this.host = host;
    }

    @Override
    public void newStream(UpstreamStreamListener listener) {
        Connection c;
        while ((c = idle.pollLast()) != null) {
            if (c.channel.isActive()) {
                c.assign(listener);
                listener.onStreamReady(c.stream);
                return;
            }
        }
        CircuitBreakers cb = cluster.circuitBreakers();
        // As Envoy, a pool without any connection may open one past max_connections, so that it never starves.
        if (!cb.tryAcquireConnection()) {
            cluster.stats().upstreamCxOverflow().inc();
            if (open > 0) {
                if (!cb.tryAcquirePending()) {
                    cluster.stats().upstreamRqPendingOverflow().inc();
                    listener.onStreamFailure(ResetReason.OVERFLOW, "");
                    return;
                }
                cluster.stats().upstreamRqPendingTotal().inc();
                cluster.stats().upstreamRqPendingActive().inc();
                pending.addLast(listener);
                return;
            }
            connect(listener, false);
            return;
        }
        connect(listener, true);
    }

    /** Hands the connection to the oldest waiting request; returns false when none waits. */
    private boolean servePending(Connection c) {
        UpstreamStreamListener next = pollPending();
        if (next == null) {
            return false;
        }
        c.assign(next);
        next.onStreamReady(c.stream);
        return true;
    }

    private UpstreamStreamListener pollPending() {
        UpstreamStreamListener next = pending.pollFirst();
        if (next != null) {
            cluster.circuitBreakers().releasePending();
            cluster.stats().upstreamRqPendingActive().dec();
        }
        return next;
    }

    /** Opens a connection for {@code listener}; {@code counted} when it holds a max_connections slot. */
    private void connect(UpstreamStreamListener listener, boolean counted) {
        Connection conn = new Connection();
        conn.counted = counted;
        ChannelFuture f = UpstreamConnector.connect(loop, cluster, host, p -> {
            p.addLast("codec", new HttpClientCodec(4096, 96 * 1024, 64 * 1024, false, false));
            p.addLast("guard", new Http1RequestGuard(conn::onRequestRefused));
            p.addLast("handler", conn);
        });
        conn.channel = f.channel();
        conn.assign(listener);
        open++;
        f.addListener(future -> {
            if (future.isSuccess()) {
                cluster.stats().upstreamCxActive().inc();
                host.stats().incCxActive();
                conn.connected = true;
                Http1Stream s = conn.stream;
                if (s != null && s.listener != null) {
                    s.listener.onStreamReady(s);
                }
            } else {
                open--;
                conn.releaseSlot();
                Throwable cause = future.cause();
                if (UpstreamConnector.failureReason(cause) == ResetReason.CONNECT_TIMEOUT) {
                    cluster.stats().upstreamCxConnectTimeout().inc();
                }
                cluster.stats().upstreamCxConnectFail().inc();
                host.stats().incCxConnectFail();
                Http1Stream s = conn.stream;
                conn.stream = null;
                if (s != null) {
                    s.fireFailure(UpstreamConnector.failureReason(cause), UpstreamConnector.describe(cause));
                }
            }
        });
    }

    @Override
    public void drain() {
        draining = true;
        Connection c;
        while ((c = idle.poll()) != null) {
            c.channel.close();
        }
    }

    @Override
    public int connectionCount() {
        return open;
    }

    private void release(Connection c) {
        if (draining || !c.channel.isActive()) {
            c.channel.close();
            return;
        }
        if (!servePending(c)) {
            idle.addLast(c);
        }
    }

    /** The per-request view of a connection. */
    final class Http1Stream extends UpstreamStream {
        private final Connection conn;
        boolean requestComplete;
        boolean responseComplete;
        boolean keepAlive = true;

        Http1Stream(Connection conn, UpstreamStreamListener listener) {
            super(conn.channel, Http1ConnectionPool.this.host, listener);
            this.conn = conn;
        }

        @Override
        public boolean http2() {
            return false;
        }

        @Override
        public void write(HttpObject msg) {
            if (msg instanceof LastHttpContent) {
                requestComplete = true;
            }
            super.write(msg);
        }

        @Override
        public void reset() {
            if (done) {
                return;
            }
            done = true;
            listener = null;
            conn.stream = null;
            conn.channel.close();
        }

        @Override
        public void complete() {
            if (done) {
                return;
            }
            done = true;
            listener = null;
            conn.stream = null;
            channel.config().setAutoRead(true);
            long max = cluster.maxRequestsPerConnection();
            if (requestComplete && responseComplete && keepAlive && (max == 0 || conn.requests < max)) {
                release(conn);
            } else {
                conn.channel.close();
            }
        }
    }

    /** The handler at the end of one upstream connection's pipeline. */
    final class Connection extends ChannelDuplexHandler {
        Channel channel;
        Http1Stream stream;
        boolean connected;
        /** Requests assigned to this connection so far, for max_requests_per_connection. */
        long requests;
        /** Whether this connection holds a max_connections slot, released once when it closes. */
        boolean counted;

        void releaseSlot() {
            if (counted) {
                counted = false;
                cluster.circuitBreakers().releaseConnection();
            }
        }

        /**
         * The guard refused to encode the request: its stream fails with a protocol error (after the current
         * write call returns, so the owner never sees a failure in the middle of writing) and the connection
         * closes.
         */
        void onRequestRefused(String problem) {
            logger.warn("{} request not sent upstream: {}", channel, problem);
            channel.eventLoop().execute(() -> {
                Http1Stream s = stream;
                stream = null;
                if (s != null) {
                    s.fireFailure(ResetReason.PROTOCOL_ERROR, problem);
                }
                channel.close();
            });
        }

        void assign(UpstreamStreamListener listener) {
            requests++;
            stream = new Http1Stream(this, listener);
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            Http1Stream s = stream;
            if (s == null || !(msg instanceof HttpObject)) {
                // A response nobody waits for (e.g. after a reset): drop it and the connection.
                ReferenceCountUtil.release(msg);
                ctx.close();
                return;
            }
            if (msg instanceof HttpResponse) {
                HttpResponse r = (HttpResponse) msg;
                if (r.status().codeClass() != io.netty.handler.codec.http.HttpStatusClass.INFORMATIONAL
                        || r.status().equals(HttpResponseStatus.SWITCHING_PROTOCOLS)) {
                    s.keepAlive = HttpUtil.isKeepAlive(r);
                }
                if (r.decoderResult().isFailure()) {
                    ReferenceCountUtil.release(msg);
                    s.fireFailure(ResetReason.CONNECTION_TERMINATION,
                            "protocol error: " + r.decoderResult().cause().getMessage());
                    stream = null;
                    ctx.close();
                    return;
                }
                if (r.headers().size() > cluster.maxHeadersCount()) {
                    refuseResponse(ctx, msg, s, "too many headers");
                    return;
                }
            }
            if (msg instanceof LastHttpContent
                    && ((LastHttpContent) msg).trailingHeaders().size() > cluster.maxHeadersCount()) {
                refuseResponse(ctx, msg, s, "too many trailers");
                return;
            }
            if (msg instanceof LastHttpContent) {
                s.responseComplete = true;
            }
            s.fireResponse((HttpObject) msg);
        }

        /** A response over max_headers_count: Envoy's codec fails it as a protocol error; the connection closes. */
        private void refuseResponse(ChannelHandlerContext ctx, Object msg, Http1Stream s, String what) {
            ReferenceCountUtil.release(msg);
            logger.debug("{} upstream response refused: {} (max_headers_count {})", ctx.channel(), what,
                    cluster.maxHeadersCount());
            stream = null;
            s.fireFailure(ResetReason.PROTOCOL_ERROR, what);
            ctx.close();
        }

        @Override
        public void channelReadComplete(ChannelHandlerContext ctx) {
            Http1Stream s = stream;
            if (s != null) {
                s.fireReadComplete();
            }
        }

        @Override
        public void channelWritabilityChanged(ChannelHandlerContext ctx) {
            Http1Stream s = stream;
            if (s != null) {
                s.fireWritability();
            }
            ctx.fireChannelWritabilityChanged();
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            if (connected) {
                connected = false;
                open--;
                cluster.stats().upstreamCxActive().dec();
                host.stats().decCxActive();
                cluster.stats().upstreamCxDestroy().inc();
            }
            idle.remove(this);
            releaseSlot();
            Http1Stream s = stream;
            stream = null;
            if (s != null) {
                s.fireFailure(ResetReason.CONNECTION_TERMINATION, "");
            }
            if (!pending.isEmpty()) {
                UpstreamStreamListener next = pollPending();
                newStream(next);
            }
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            logger.debug("{} upstream error: {}", ctx.channel(), cause.toString());
            ctx.close();
        }
    }
}
