package io.jmesh.proxy.upstream.pool;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetSocketAddress;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

import org.junit.jupiter.api.Test;

import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.jmesh.proxy.config.ConfigException;
import io.jmesh.proxy.config.EnvoyTypes;
import io.jmesh.proxy.internal.Transports;
import io.jmesh.proxy.telemetry.Stats;
import io.jmesh.proxy.testing.Poll;
import io.jmesh.proxy.upstream.ClusterManager;
import io.jmesh.proxy.upstream.UpstreamCluster;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;
import io.netty.handler.codec.http.HttpObject;
import io.netty.handler.codec.http2.DefaultHttp2PingFrame;
import io.netty.handler.codec.http2.Http2FrameCodecBuilder;
import io.netty.handler.codec.http2.Http2PingFrame;
import io.netty.util.ReferenceCountUtil;

/**
 * {@code http2_protocol_options.connection_keepalive} (Istio's {@code connectionPool.http.http2KeepAlive}): the
 * HTTP/2 pool PINGs a real Netty HTTP/2 server every {@code interval}; once the server stops answering, the
 * connection is closed after {@code timeout} and {@code cluster.<name>.http2.keepalive_timeout} counts it.
 */
class Http2UpstreamKeepaliveTest {

    /** A real HTTP/2 server that acknowledges PINGs only while {@code answer} is true. */
    private static final class PingServer {
        final AtomicBoolean answer = new AtomicBoolean(true);
        final AtomicInteger pings = new AtomicInteger();
        final ConcurrentLinkedQueue<Channel> connections = new ConcurrentLinkedQueue<>();
        Channel listener;

        PingServer start(EventLoopGroup group) throws InterruptedException {
            listener = new ServerBootstrap().group(group).channel(Transports.serverChannel(group))
                    .childHandler(new ChannelInitializer<Channel>() {
                        @Override
                        protected void initChannel(Channel ch) {
                            connections.add(ch);
                            ch.pipeline().addLast(Http2FrameCodecBuilder.forServer().autoAckPingFrame(false).build(),
                                    new ChannelInboundHandlerAdapter() {
                                        @Override
                                        public void channelRead(ChannelHandlerContext ctx, Object msg) {
                                            if (msg instanceof Http2PingFrame ping && !ping.ack()) {
                                                pings.incrementAndGet();
                                                if (answer.get()) {
                                                    ctx.writeAndFlush(new DefaultHttp2PingFrame(ping.content(), true));
                                                }
                                            }
                                            ReferenceCountUtil.release(msg);
                                        }
                                    });
                        }
                    }).bind("127.0.0.1", 0).sync().channel();
            return this;
        }

        int port() {
            return ((InetSocketAddress) listener.localAddress()).getPort();
        }
    }

    private static Cluster cluster(int port, String keepalive) throws Exception {
        return EnvoyTypes.PARSER.parse("""
                name: h2
                type: STATIC
                load_assignment:
                  cluster_name: h2
                  endpoints: [{lb_endpoints: [{endpoint: {address: {socket_address: {address: 127.0.0.1, port_value: %d}}}}]}]
                typed_extension_protocol_options:
                  envoy.extensions.upstreams.http.v3.HttpProtocolOptions:
                    "@type": type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions
                    explicit_http_config: {http2_protocol_options: {connection_keepalive: %s}}
                """.formatted(port, keepalive), Cluster.newBuilder()).build();
    }

    /** Opens one stream on the cluster's HTTP/2 pool (which opens the connection) and hands it back. */
    private static UpstreamStream openStream(EventLoop loop, UpstreamCluster c) throws Exception {
        java.util.concurrent.CompletableFuture<UpstreamStream> ready = new java.util.concurrent.CompletableFuture<>();
        loop.execute(() -> ConnectionPools.get(loop, c, c.chooseHost(null), true).newStream(
                new UpstreamStreamListener() {
                    @Override
                    public void onStreamReady(UpstreamStream stream) {
                        ready.complete(stream);
                    }

                    @Override
                    public void onStreamFailure(ResetReason reason, String detail) {
                        ready.completeExceptionally(new IllegalStateException(reason + " " + detail));
                    }

                    @Override
                    public void onResponse(HttpObject msg) {
                        ReferenceCountUtil.release(msg);
                    }

                    @Override
                    public void onReadComplete() {}

                    @Override
                    public void onWritabilityChanged(boolean writable) {}
                }));
        return ready.get(10, TimeUnit.SECONDS);
    }

    @Test
    void unansweredPingClosesTheConnectionAndCountsKeepaliveTimeout() throws Exception {
        EventLoopGroup group = Transports.newGroup(1, "h2-keepalive-test");
        PingServer server = new PingServer().start(group);
        Stats stats = new Stats();
        ClusterManager cm = ClusterManager.create(List.of(cluster(server.port(),
                "{interval: 0.05s, timeout: 0.3s, interval_jitter: {value: 0}}")), group, stats);
        try {
            UpstreamCluster c = cm.get("h2");
            openStream(group.next(), c);
            Poll.until(() -> server.pings.get() >= 3, "three keepalive PINGs answered");
            Channel conn = server.connections.peek();
            assertTrue(conn.isActive(), "an answered PING keeps the connection open");
            assertEquals(0, stats.counter("cluster.h2.http2.keepalive_timeout").get());

            server.answer.set(false);
            Poll.until(() -> !conn.isActive(), "the proxy closes the connection whose PING went unanswered");
            assertEquals(1, stats.counter("cluster.h2.http2.keepalive_timeout").get());
            assertEquals(1, server.connections.size());
        } finally {
            cm.close();
            server.listener.close().sync();
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
        }
    }

    @Test
    void aStreamOnAnIdleConnectionIsPrecededByAPing() throws Exception {
        EventLoopGroup group = Transports.newGroup(1, "h2-keepalive-idle");
        PingServer server = new PingServer().start(group);
        Stats stats = new Stats();
        // no interval PINGs: only connection_idle_interval sends one
        ClusterManager cm = ClusterManager.create(List.of(cluster(server.port(),
                "{interval: 0s, timeout: 5s, connection_idle_interval: 0.2s}")), group, stats);
        try {
            UpstreamCluster c = cm.get("h2");
            EventLoop loop = group.next();
            UpstreamStream first = openStream(loop, c);
            loop.execute(first::complete);
            long idleSince = System.nanoTime();
            Poll.until(() -> System.nanoTime() - idleSince > TimeUnit.MILLISECONDS.toNanos(400),
                    "the connection idle for longer than connection_idle_interval");
            int before = server.pings.get();
            openStream(loop, c);
            Poll.until(() -> server.pings.get() == before + 1, "a PING ahead of the stream on the idle connection");
            assertEquals(1, server.connections.size(), "the idle connection is reused");
        } finally {
            cm.close();
            server.listener.close().sync();
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
        }
    }

    @Test
    void withoutATimeoutTheKeepaliveIsRefusedByName() throws Exception {
        ConfigException e = assertThrows(ConfigException.class, () -> ClusterManager.create(
                List.of(cluster(1, "{interval: 1s}")), null, new Stats()));
        assertTrue(e.getMessage().contains(
                "http2_protocol_options.connection_keepalive.timeout: unset (expected: a duration >= 1ms)"),
                e.getMessage());
    }
}
