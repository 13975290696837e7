package io.jmesh.proxy.upstream.pool;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.jmesh.proxy.upstream.Host;
import io.jmesh.proxy.upstream.UpstreamCluster;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoop;
import io.netty.handler.codec.http.HttpObject;
import io.netty.handler.codec.http2.DefaultHttp2PingFrame;
import io.netty.handler.codec.http2.Http2Error;
import io.netty.handler.codec.http2.Http2PingFrame;
import io.netty.handler.codec.http2.Http2FrameCodec;
import io.netty.handler.codec.http2.Http2FrameCodecBuilder;
import io.netty.handler.codec.http2.Http2GoAwayFrame;
import io.netty.handler.codec.http2.Http2MultiplexHandler;
import io.netty.handler.codec.http2.Http2ResetFrame;
import io.netty.handler.codec.http2.Http2Settings;
import io.netty.handler.codec.http2.Http2StreamChannel;
import io.netty.handler.codec.http2.Http2StreamChannelBootstrap;
import io.netty.handler.codec.http2.Http2StreamFrameToHttpObjectCodec;
import io.netty.handler.ssl.SslHandshakeCompletionEvent;
import io.netty.util.ReferenceCountUtil;

/**
 * HTTP/2 connections to one host, each carrying up to {@code min(cluster max_concurrent_streams, the
 * peer's SETTINGS_MAX_CONCURRENT_STREAMS)} streams; a new connection opens when all are full or
 * draining (GOAWAY). Confined to its event loop.
 */
final class Http2ConnectionPool implements ConnectionPool {

    private static final Logger logger = LoggerFactory.getLogger(Http2ConnectionPool.class);

    private final EventLoop loop;
    private final UpstreamCluster cluster;
    private final Host host;
    private final List<Connection> connections = new ArrayList<>(2);
    private boolean draining;

    Http2ConnectionPool(EventLoop loop, UpstreamCluster cluster, Host host) {
        this.loop = loop;
        this.cluster = cluster;
        this.host = host;
    }

    @Override
    public void newStream(UpstreamStreamListener listener) {
        for (int i = 0; i < connections.size(); i++) {
            Connection c = connections.get(i);
            if (c.hasCapacity()) {
                c.reserved++;
                if (c.ready) {
                    c.open(listener);
                } else {
                    c.waiting.add(listener);
                }
                return;
            }
        }
        Connection c = connect();
        c.reserved++;
        c.waiting.add(listener);
    }

    private Connection connect() {
        Connection conn = new Connection();
        connections.add(conn);
        boolean tls = cluster.tls(host) != null && cluster.tls(host).current() != null;
        ChannelFuture f = UpstreamConnector.connect(loop, cluster, host, p -> {
            Http2FrameCodec codec = Http2FrameCodecBuilder.forClient()
                    .initialSettings(Http2Settings.defaultSettings().pushEnabled(false)
                            .maxHeaderListSize(96 * 1024))
                    .validateHeaders(false)
                    .build();
            conn.codec = codec;
            p.addLast("h2-keepalive-rx", conn.frameReceived);
            p.addLast("h2", codec);
            p.addLast("mux", new Http2MultiplexHandler(new RejectPushHandler()));
            p.addLast("conn", conn);
        });
        conn.channel = f.channel();
        f.addListener(future -> {
            if (future.isSuccess()) {
                cluster.stats().upstreamCxActive().inc();
                host.stats().incCxActive();
                conn.connected = true;
                conn.startKeepalive();
                if (!tls) {
                    conn.becomeReady();
                }
            } else {
                connections.remove(conn);
                Throwable cause = future.cause();
                if (UpstreamConnector.failureReason(cause) == ResetReason.CONNECT_TIMEOUT) {
                    cluster.stats().upstreamCxConnectTimeout().inc();
                }
                cluster.stats().upstreamCxConnectFail().inc();
                host.stats().incCxConnectFail();
                conn.failWaiting(UpstreamConnector.failureReason(cause), UpstreamConnector.describe(cause));
            }
        });
        return conn;
    }

    @Override
    public void drain() {
        draining = true;
        for (Connection c : new ArrayList<>(connections)) {
            c.goingAway = true;
            if (c.active == 0 && c.reserved == 0) {
                c.channel.close();
            }
        }
    }

    @Override
    public int connectionCount() {
        return connections.size();
    }

    @ChannelHandler.Sharable
    private static final class RejectPushHandler extends ChannelInboundHandlerAdapter {
        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            ReferenceCountUtil.release(msg);
            ctx.close();
        }
    }

    /** One upstream HTTP/2 connection. */
    final class Connection extends ChannelInboundHandlerAdapter {
        Channel channel;
        Http2FrameCodec codec;
        boolean connected;
        boolean ready;
        boolean goingAway;
        int active;
        int reserved;
        final ArrayDeque<UpstreamStreamListener> waiting = new ArrayDeque<>();
        /** The PING payload awaiting its ACK, or 0 when none is outstanding. */
        long pingOutstanding;
        long nextPing = 1;
        /** {@link System#nanoTime()} of the last bytes read on the connection. */
        long lastReadNanos = System.nanoTime();
        boolean readSincePing;
        ScheduledFuture<?> intervalTimer;
        ScheduledFuture<?> timeoutTimer;
        /** Marks every read before the codec: any frame received extends a PING's timeout, as in Envoy. */
        final ChannelInboundHandlerAdapter frameReceived = new ChannelInboundHandlerAdapter() {
            @Override
            public void channelRead(ChannelHandlerContext ctx, Object msg) {
                lastReadNanos = System.nanoTime();
                readSincePing = true;
                ctx.fireChannelRead(msg);
            }
        };

        /** Arms the interval PING timer of {@code connection_keepalive}, if any. */
        void startKeepalive() {
            UpstreamCluster.Http2Keepalive k = cluster.http2Keepalive();
            if (k != null && k.intervalMillis() > 0 && channel.isActive()) {
                long jitter = (long) (k.intervalMillis() * k.jitterPercent() / 100.0);
                long delay = k.intervalMillis() + (jitter > 0 ? ThreadLocalRandom.current().nextLong(jitter + 1) : 0);
                intervalTimer = loop.schedule(this::sendPing, delay, TimeUnit.MILLISECONDS);
            }
        }

        /** Sends a keepalive PING unless one is outstanding, and arms its timeout. */
        void sendPing() {
            UpstreamCluster.Http2Keepalive k = cluster.http2Keepalive();
            if (k == null || pingOutstanding != 0 || !channel.isActive()) {
                return;
            }
            pingOutstanding = nextPing++;
            readSincePing = false;
            channel.writeAndFlush(new DefaultHttp2PingFrame(pingOutstanding));
            timeoutTimer = loop.schedule(this::pingTimeout, k.timeoutMillis(), TimeUnit.MILLISECONDS);
        }

        private void pingTimeout() {
            if (pingOutstanding == 0 || !channel.isActive()) {
                return;
            }
            if (readSincePing) {
                // a frame arrived meanwhile (the ACK may be queued behind data): wait another timeout
                readSincePing = false;
                timeoutTimer = loop.schedule(this::pingTimeout, cluster.http2Keepalive().timeoutMillis(),
                        TimeUnit.MILLISECONDS);
                return;
            }
            logger.debug("{} upstream h2 keepalive PING not answered within {} ms: closing", channel,
                    cluster.http2Keepalive().timeoutMillis());
            cluster.stats().http2KeepaliveTimeout().inc();
            channel.close();
        }

        private void pingAck(long data) {
            if (data != pingOutstanding || pingOutstanding == 0) {
                return;
            }
            pingOutstanding = 0;
            if (timeoutTimer != null) {
                timeoutTimer.cancel(false);
                timeoutTimer = null;
            }
            startKeepalive();
        }

        private void stopKeepalive() {
            if (intervalTimer != null) {
                intervalTimer.cancel(false);
            }
            if (timeoutTimer != null) {
                timeoutTimer.cancel(false);
            }
        }

        boolean hasCapacity() {
            if (goingAway || draining || (connected && !channel.isActive())) {
                return false;
            }
            int peerMax = codec == null ? Integer.MAX_VALUE : codec.connection().local().maxActiveStreams();
            int max = Math.min(peerMax, cluster.maxConcurrentStreams());
            return active + reserved < max;
        }

        void becomeReady() {
            ready = true;
            UpstreamStreamListener l;
            while ((l = waiting.poll()) != null) {
                open(l);
            }
        }

        void failWaiting(ResetReason reason, String detail) {
            UpstreamStreamListener l;
            while ((l = waiting.poll()) != null) {
                reserved--;
                l.onStreamFailure(reason, detail);
            }
        }

        void open(UpstreamStreamListener listener) {
            UpstreamCluster.Http2Keepalive k = cluster.http2Keepalive();
            if (k != null && k.idleIntervalMillis() > 0 && active == 0
                    && System.nanoTime() - lastReadNanos >= TimeUnit.MILLISECONDS.toNanos(k.idleIntervalMillis())) {
                sendPing(); // connection_idle_interval: probe an idle connection ahead of the new stream
            }
            Http2Stream stream = new Http2Stream(this, listener);
            new Http2StreamChannelBootstrap(channel)
                    .handler(new ChannelInitializer<Http2StreamChannel>() {
                        @Override
                        protected void initChannel(Http2StreamChannel ch) {
                            ch.pipeline().addLast(new Http2ResponseValidator(stream, cluster.maxHeadersCount()));
                            ch.pipeline().addLast(new Http2StreamFrameToHttpObjectCodec(false, false));
                            ch.pipeline().addLast(stream.handler);
                        }
                    })
                    .open()
                    .addListener(f -> {
                        reserved--;
                        if (f.isSuccess()) {
                            active++;
                            stream.attach((Http2StreamChannel) f.getNow());
                            if (stream.listener != null) {
                                stream.listener.onStreamReady(stream);
                            }
                        } else {
                            stream.fireFailure(ResetReason.CONNECTION_TERMINATION, UpstreamConnector.describe(f.cause()));
                        }
                    });
        }

        void streamClosed() {
            active--;
            if ((goingAway || draining) && active == 0 && reserved == 0) {
                channel.close();
            }
        }

        @Override
        public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
            if (evt instanceof SslHandshakeCompletionEvent) {
                SslHandshakeCompletionEvent e = (SslHandshakeCompletionEvent) evt;
                if (e.isSuccess()) {
                    becomeReady();
                } else {
                    failWaiting(ResetReason.CONNECTION_FAILURE, "TLS error: " + e.cause().getMessage());
                    ctx.close();
                }
            }
            ctx.fireUserEventTriggered(evt);
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            if (msg instanceof Http2GoAwayFrame) {
                goingAway = true;
            } else if (msg instanceof Http2PingFrame ping && ping.ack()) {
                pingAck(ping.content());
            }
            ReferenceCountUtil.release(msg);
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            stopKeepalive();
            connections.remove(this);
            if (connected) {
                connected = false;
                cluster.stats().upstreamCxActive().dec();
                host.stats().decCxActive();
                cluster.stats().upstreamCxDestroy().inc();
            }
            failWaiting(ResetReason.CONNECTION_TERMINATION, "");
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            logger.debug("{} upstream h2 error: {}", ctx.channel(), cause.toString());
            ctx.close();
        }
    }

    /** One request on a child stream channel. */
    final class Http2Stream extends UpstreamStream {
        private final Connection conn;
        private boolean closed;
        final ChannelInboundHandlerAdapter handler = new ChannelInboundHandlerAdapter() {
            @Override
            public void channelRead(ChannelHandlerContext ctx, Object msg) {
                if (msg instanceof HttpObject) {
                    fireResponse((HttpObject) msg);
                } else if (msg instanceof Http2ResetFrame) {
                    long code = ((Http2ResetFrame) msg).errorCode();
                    ReferenceCountUtil.release(msg);
                    fireFailure(code == Http2Error.REFUSED_STREAM.code()
                            ? ResetReason.REMOTE_REFUSED_STREAM_RESET : ResetReason.REMOTE_RESET,
                            Http2Error.valueOf(code) != null ? Http2Error.valueOf(code).name() : String.valueOf(code));
                } else {
                    ReferenceCountUtil.release(msg);
                }
            }

            @Override
            public void channelReadComplete(ChannelHandlerContext ctx) {
                fireReadComplete();
            }

            @Override
            public void channelWritabilityChanged(ChannelHandlerContext ctx) {
                fireWritability();
            }

            @Override
            public void channelInactive(ChannelHandlerContext ctx) {
                if (!closed) {
                    closed = true;
                    conn.streamClosed();
                }
                fireFailure(ResetReason.CONNECTION_TERMINATION, "");
            }

            @Override
            public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
                logger.debug("{} upstream stream error: {}", ctx.channel(), cause.toString());
                ctx.close();
            }
        };

        Http2Stream(Connection conn, UpstreamStreamListener listener) {
            super(null, Http2ConnectionPool.this.host, listener);
            this.conn = conn;
        }

        private Http2StreamChannel child;

        void attach(Http2StreamChannel ch) {
            this.child = ch;
        }

        @Override
        public Channel channel() {
            return child;
        }

        @Override
        public boolean http2() {
            return true;
        }

        @Override
        public void write(HttpObject msg) {
            child.write(msg, child.voidPromise());
        }

        @Override
        public void flush() {
            child.flush();
        }

        @Override
        public boolean isWritable() {
            return child.isWritable();
        }

        @Override
        public void setAutoRead(boolean autoRead) {
            child.config().setAutoRead(autoRead);
        }

        @Override
        public void reset() {
            if (done) {
                return;
            }
            done = true;
            listener = null;
            if (child != null) {
                child.close(); // sends RST_STREAM(CANCEL) if the stream is still open
            }
        }

        @Override
        public void complete() {
            done = true;
            listener = null;
            if (child != null && child.isActive()) {
                child.close();
            }
        }
    }
}
