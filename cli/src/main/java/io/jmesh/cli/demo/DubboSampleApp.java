package io.jmesh.cli.demo;

import java.net.InetSocketAddress;

import io.jmesh.codec.dubbo.DubboDecoder;
import io.jmesh.codec.dubbo.DubboEncoder;
import io.jmesh.codec.dubbo.DubboRequest;
import io.jmesh.codec.dubbo.DubboResponse;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.socket.nio.NioServerSocketChannel;

/**
 * A small Dubbo provider for the demo (Bookinfo's details, over Dubbo): answers every two-way Hessian2 invocation
 * with the string {@code "<service> <version> <method>"} and every heartbeat with a heartbeat, speaking the frames
 * of Apache Dubbo's {@code DubboCodec} ({@code io.jmesh.codec.dubbo}). Calls arrive through its sidecar.
 */
public final class DubboSampleApp implements AutoCloseable {

    /** The interface the demo's consumer calls. */
    public static final String INTERFACE = "io.jmesh.demo.DetailsService";

    /** The Dubbo port of the demo's RPC service (its ServiceEntry's). */
    public static final int SERVICE_PORT = 20880;

    private final String service;
    private final String version;
    private final Channel channel;

    private DubboSampleApp(String service, String version, Channel channel) {
        this.service = service;
        this.version = version;
        this.channel = channel;
    }

    /** Starts the provider on a free port of 127.0.0.1. */
    public static DubboSampleApp start(String service, String version, EventLoopGroup group)
            throws InterruptedException {
        String answer = service + " " + version;
        ServerBootstrap b = new ServerBootstrap().group(group).channel(NioServerSocketChannel.class)
                .childHandler(new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        ch.pipeline().addLast(new DubboDecoder(), DubboEncoder.INSTANCE,
                                new SimpleChannelInboundHandler<DubboRequest>() {
                                    @Override
                                    protected void channelRead0(ChannelHandlerContext ctx, DubboRequest req) {
                                        if (req.isEvent()) {
                                            if (req.isTwoWay()) {
                                                ctx.writeAndFlush(DubboResponse.heartbeat(req, ctx.alloc()));
                                            }
                                        } else if (req.isTwoWay()) {
                                            ctx.writeAndFlush(DubboResponse.value(req,
                                                    answer + " " + req.methodName(), ctx.alloc()));
                                        }
                                    }
                                });
                    }
                });
        return new DubboSampleApp(service, version, b.bind("127.0.0.1", 0).sync().channel());
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
}
