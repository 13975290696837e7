package io.jmesh.proxy.network.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;

import io.jmesh.proxy.testing.Bootstraps;
import io.jmesh.proxy.testing.ProxyFixture;
import io.jmesh.proxy.testing.RawBackend;
import io.jmesh.proxy.testing.RawHttp;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.nio.NioEventLoopGroup;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.netty.handler.codec.http2.DefaultHttp2HeadersFrame;
import io.netty.handler.codec.http2.Http2FrameCodecBuilder;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.handler.codec.http2.Http2HeadersFrame;
import io.netty.handler.codec.http2.Http2MultiplexHandler;
import io.netty.handler.codec.http2.Http2StreamChannel;
import io.netty.util.ReferenceCountUtil;

/**
 * Responses are held to the same rules as requests: more fields than the cluster's {@code max_headers_count}
 * (default 100) or a malformed HTTP/2 field fail the upstream request as a protocol error (503), as Envoy's
 * codecs reset such a response, and nothing of them reaches the client.
 */
class UpstreamResponseValidationTest {

    @Test
    void http1ResponseWithTooManyHeadersIs503() throws Exception {
        StringBuilder resp = new StringBuilder("HTTP/1.1 200 OK\r\ncontent-length: 2\r\n");
        for (int i = 0; i < 200; i++) {
            resp.append("x-h").append(i).append(": v\r\n");
        }
        try (RawBackend backend = RawBackend.start(resp.append("\r\nok").toString());
             ProxyFixture proxy = Bootstraps.http().route("/", "b").cluster("b", backend.port()).start()) {
            RawHttp.Response r = RawHttp.exchange(proxy.port(), "GET / HTTP/1.1\r\nHost: a\r\n\r\n", false);
            assertEquals(503, r.status, r.toString());
            assertTrue(r.body.contains("protocol error"), r.body);
            assertFalse(r.headers.containsKey("x-h0"));
        }
    }

    @Test
    void http1ResponseWithinMaxHeadersCountPasses() throws Exception {
        StringBuilder resp = new StringBuilder("HTTP/1.1 200 OK\r\ncontent-length: 2\r\n");
        for (int i = 0; i < 99; i++) {
            resp.append("x-h").append(i).append(": v\r\n");
        }
        try (RawBackend backend = RawBackend.start(resp.append("\r\nok").toString());
             ProxyFixture proxy = Bootstraps.http().route("/", "b").cluster("b", backend.port()).start()) {
            RawHttp.Response r = RawHttp.exchange(proxy.port(), "GET / HTTP/1.1\r\nHost: a\r\n\r\n", false);
            assertEquals(200, r.status, r.toString());
            assertEquals("v", r.headers.get("x-h98"));
        }
    }

    @Test
    void http2ResponseWithCrLfCannotSplitHttp1Response() throws Exception {
        Http2Headers bad = new DefaultHttp2Headers(false).status("200")
                .add("x-a", "a\r\nset-cookie: injected=1");
        EventLoopGroup group = new NioEventLoopGroup(1);
        try {
            Channel server = h2Server(group, bad);
            int port = ((java.net.InetSocketAddress) server.localAddress()).getPort();
            try (ProxyFixture proxy = Bootstraps.http().route("/", "b").http2Cluster("b", port).start()) {
                RawHttp.Response r = RawHttp.exchange(proxy.port(), "GET / HTTP/1.1\r\nHost: a\r\n\r\n", false);
                assertEquals(503, r.status, r.toString());
                assertFalse(r.headers.containsKey("set-cookie"), r.toString());
                assertTrue(r.body.contains("protocol error"), r.body);
            }
            server.close().sync();
        } finally {
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS).sync();
        }
    }

    /** An h2c server that answers every request with {@code response} headers, unvalidated. */
    private static Channel h2Server(EventLoopGroup group, Http2Headers response) throws InterruptedException {
        return new ServerBootstrap().group(group).channel(NioServerSocketChannel.class)
                .childHandler(new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        ch.pipeline().addLast(Http2FrameCodecBuilder.forServer().validateHeaders(false).build());
                        ch.pipeline().addLast(new Http2MultiplexHandler(new ChannelInitializer<Http2StreamChannel>() {
                            @Override
                            protected void initChannel(Http2StreamChannel s) {
                                s.pipeline().addLast(new ChannelInboundHandlerAdapter() {
                                    @Override
                                    public void channelRead(ChannelHandlerContext ctx, Object msg) {
                                        boolean end = msg instanceof Http2HeadersFrame && ((Http2HeadersFrame) msg).isEndStream();
                                        ReferenceCountUtil.release(msg);
                                        if (end) {
                                            ctx.writeAndFlush(new DefaultHttp2HeadersFrame(response, true));
                                        }
                                    }
                                });
                            }
                        }));
                    }
                }).bind("127.0.0.1", 0).sync().channel();
    }
}
