package io.jmesh.cli.demo;

import java.net.InetSocketAddress;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
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
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.util.CharsetUtil;

/**
 * A small HTTP service for the demo: answers every request with a JSON line naming the service, its
 * version, the path and the request id it saw, so traffic splits are visible with curl.
 */
public final class SampleApp implements AutoCloseable {

    private final String service;
    private final String version;
    private final Channel channel;

    private SampleApp(String service, String version, Channel channel) {
        this.service = service;
        this.version = version;
        this.channel = channel;
    }

    public static SampleApp start(String service, String version, EventLoopGroup group) throws InterruptedException {
        ServerBootstrap b = new ServerBootstrap().group(group).channel(NioServerSocketChannel.class)
                .childHandler(new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        ch.pipeline().addLast(new HttpServerCodec(), new HttpObjectAggregator(1 << 20),
                                new SimpleChannelInboundHandler<FullHttpRequest>() {
                                    @Override
                                    protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest req) {
                                        String rid = req.headers().get("x-request-id", "");
                                        String body = "{\"service\":\"" + service + "\",\"version\":\"" + version
                                                + "\",\"path\":\"" + req.uri().replace("\"", "%22")
                                                + "\",\"request_id\":\"" + rid
                                                + "\",\"caller\":\"" + caller(req.headers().get("x-forwarded-client-cert"))
                                                + "\"}\n";
                                        ByteBuf content = Unpooled.copiedBuffer(body, CharsetUtil.UTF_8);
                                        FullHttpResponse resp = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1,
                                                HttpResponseStatus.OK, content);
                                        resp.headers().set(HttpHeaderNames.CONTENT_TYPE, "application/json");
                                        resp.headers().setInt(HttpHeaderNames.CONTENT_LENGTH, content.readableBytes());
                                        boolean keepAlive = HttpUtil.isKeepAlive(req);
                                        var f = ctx.writeAndFlush(resp);
                                        if (!keepAlive) {
                                            f.addListener(ChannelFutureListener.CLOSE);
                                        }
                                    }
                                });
                    }
                });
        Channel ch = b.bind("127.0.0.1", 0).sync().channel();
        return new SampleApp(service, version, ch);
    }

    /**
     * The caller's SPIFFE identity as the inbound sidecar verified it: the {@code URI} of the last element of
     * {@code x-forwarded-client-cert} (the element its own sidecar appended); empty without mutual TLS.
     */
    static String caller(String xfcc) {
        if (xfcc == null || xfcc.isEmpty()) {
            return "";
        }
        String last = xfcc.substring(xfcc.lastIndexOf(',') + 1);
        for (String kv : last.split(";")) {
            if (kv.startsWith("URI=")) {
                return kv.substring(4).replace("\"", "");
            }
        }
        return "";
    }

    public int port() {
        return ((InetSocketAddress) channel.localAddress()).getPort();
    }

    public String name() {
        return service + "-" + version;
    }

    @Override
    public void close() {
        channel.close().syncUninterruptibly();
    }

    /** A group for the demo's apps. */
    public static EventLoopGroup newGroup() {
        return new NioEventLoopGroup(1);
    }
}
