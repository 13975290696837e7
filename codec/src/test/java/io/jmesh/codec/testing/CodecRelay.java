package io.jmesh.codec.testing;

import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Supplier;

import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.nio.NioEventLoopGroup;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;

/**
 * A TCP relay on port 0 of 127.0.0.1 that decodes both directions with a codec under test and writes
 * what it decoded back with that codec's encoder, so a real client and a real server talk through our
 * decoder and encoder. Both sides of a connection run on one event loop; {@link Logic} decides what
 * goes where (and may rewrite request ids or answer locally).
 */
public final class CodecRelay implements AutoCloseable {

    /** What the relay does with each decoded message; called on the connection's event loop. */
    public interface Logic {
        /** A message from the client; {@code upstream} is connected. Owns {@code msg}. */
        void fromClient(Channel client, Channel upstream, Object msg);

        /** A message from the server. Owns {@code msg}. */
        void fromServer(Channel client, Channel upstream, Object msg);
    }

    private final EventLoopGroup group = new NioEventLoopGroup(1);
    private final Channel server;
    /** Errors seen on any relayed channel (decoder errors included). */
    public final List<Throwable> errors = new ArrayList<>();

    /**
     * Starts a relay to {@code target}; {@code codec} supplies fresh handlers (decoder, encoder) for each
     * side of each connection.
     */
    public CodecRelay(InetSocketAddress target, Supplier<ChannelHandler[]> codec, Logic logic)
            throws InterruptedException {
        server = new ServerBootstrap()
                .group(group)
                .channel(NioServerSocketChannel.class)
                .childOption(ChannelOption.AUTO_READ, false)
                .childHandler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel client) {
                        client.pipeline().addLast(codec.get());
                        final ChannelFuture up = new Bootstrap()
                                .group(client.eventLoop())
                                .channel(NioSocketChannel.class)
                                .handler(new ChannelInitializer<SocketChannel>() {
                                    @Override
                                    protected void initChannel(SocketChannel upstream) {
                                        upstream.pipeline().addLast(codec.get());
                                        upstream.pipeline().addLast(new Side(client, upstream, false, logic));
                                    }
                                })
                                .connect(target);
                        client.pipeline().addLast(new Side(client, up.channel(), true, logic));
                        up.addListener(f -> {
                            if (f.isSuccess()) {
                                client.config().setAutoRead(true);
                            } else {
                                client.close();
                            }
                        });
                    }
                })
                .bind(new InetSocketAddress("127.0.0.1", 0)).sync().channel();
    }

    /** The port the relay listens on (127.0.0.1). */
    public int port() {
        return ((InetSocketAddress) server.localAddress()).getPort();
    }

    /** Runs a task on the relay's event loop and waits for it. */
    public void runOnLoop(Runnable task) throws Exception {
        group.submit(task).get();
    }

    @Override
    public void close() throws InterruptedException {
        server.close().sync();
        group.shutdownGracefully(0, 1, java.util.concurrent.TimeUnit.SECONDS).sync();
    }

    private final class Side extends ChannelInboundHandlerAdapter {
        private final Channel client;
        private final Channel upstream;
        private final boolean fromClient;
        private final Logic logic;

        Side(Channel client, Channel upstream, boolean fromClient, Logic logic) {
            this.client = client;
            this.upstream = upstream;
            this.fromClient = fromClient;
            this.logic = logic;
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            if (fromClient) {
                logic.fromClient(client, upstream, msg);
            } else {
                logic.fromServer(client, upstream, msg);
            }
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            (fromClient ? upstream : client).close();
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            synchronized (errors) {
                errors.add(cause);
            }
            ctx.close();
        }
    }
}
