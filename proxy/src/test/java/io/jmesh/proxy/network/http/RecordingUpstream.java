package io.jmesh.proxy.network.http;

import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.nio.NioEventLoopGroup;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpVersion;

/**
 * An HTTP/1.1 upstream on 127.0.0.1 that records every complete request it receives (method, target, body) and
 * answers {@code 200 ok}; for the HTTP fuzz targets, which compare what reaches it with what the client sent.
 */
final class RecordingUpstream implements AutoCloseable {

    /** One request as received. */
    record Received(String method, String uri, byte[] body) {
        @Override
        public String toString() {
            return method + " " + uri + " body=" + body.length + "B";
        }
    }

    private final EventLoopGroup group = new NioEventLoopGroup(1);
    private final Queue<Received> received = new ConcurrentLinkedQueue<>();
    private final Channel server;

    private RecordingUpstream() throws InterruptedException {
        server = new ServerBootstrap().group(group).channel(NioServerSocketChannel.class)
                .childHandler(new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        ch.pipeline().addLast(new HttpServerCodec(), new HttpObjectAggregator(1 << 20),
                                new SimpleChannelInboundHandler<FullHttpRequest>() {
                                    @Override
                                    protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest req) {
                                        if (req.decoderResult().isFailure()) {
                                            ctx.close();
                                            return;
                                        }
                                        received.add(new Received(req.method().name(), req.uri(),
                                                ByteBufUtil.getBytes(req.content())));
                                        FullHttpResponse res = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1,
                                                HttpResponseStatus.OK,
                                                Unpooled.copiedBuffer("ok", StandardCharsets.US_ASCII));
                                        res.headers().set(HttpHeaderNames.CONTENT_LENGTH, 2);
                                        ctx.writeAndFlush(res);
                                    }

                                    @Override
                                    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
                                        ctx.close(); // the proxy resetting a connection is not news here
                                    }
                                });
                    }
                }).bind("127.0.0.1", 0).sync().channel();
    }

    static RecordingUpstream start() throws InterruptedException {
        return new RecordingUpstream();
    }

    int port() {
        return ((InetSocketAddress) server.localAddress()).getPort();
    }

    /**
     * Returns once the upstream's event loop has handled every byte already delivered to its sockets (a task
     * queued behind the I/O it is woken for), so that a request the proxy wrote before is recorded.
     */
    void sync() throws Exception {
        for (int i = 0; i < 2; i++) {
            group.submit(() -> { }).get(5, TimeUnit.SECONDS);
        }
    }

    /** The requests received so far; the caller may clear it. */
    Queue<Received> received() {
        return received;
    }

    @Override
    public void close() {
        server.close().syncUninterruptibly();
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
    }
}
