package io.jmesh.proxy.network.rpc;

import static java.nio.charset.StandardCharsets.UTF_8;

import java.net.InetSocketAddress;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import io.jmesh.codec.bolt.BoltMessage;
import io.jmesh.codec.bolt.BoltRequest;
import io.jmesh.codec.bolt.BoltResponse;
import io.jmesh.codec.bolt.BoltResponseStatus;
import io.jmesh.codec.dubbo.DubboMessage;
import io.jmesh.codec.dubbo.DubboRequest;
import io.jmesh.codec.dubbo.DubboStatus;
import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.nio.NioEventLoopGroup;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.GlobalEventExecutor;

/**
 * Real Bolt and Dubbo peers on port 0, built with the codec: an echo server that answers every request
 * with the request's body (tagged with the server's name) and a client that collects what it receives.
 * The header {@code sleep} (Bolt header map entry, Dubbo attachment) makes the server hold its answer:
 * {@code never}, {@code hold} (until {@link EchoServer#releaseHeld()}), or a number of milliseconds.
 */
final class RpcPeers {

    static final NioEventLoopGroup GROUP = new NioEventLoopGroup(2);

    private RpcPeers() {}

    /** A request of {@code protocol} for {@code iface#method} with {@code headers}, body {@code payload}. */
    static Object request(RpcProtocol protocol, long id, boolean oneway, int timeoutMs, String iface, String method,
                          Map<String, String> headers, String payload) {
        final Map<String, String> h = new LinkedHashMap<>(headers);
        if (protocol == RpcProtocol.BOLT) {
            h.putIfAbsent(BoltMessage.HEADER_SERVICE, iface + ":1.0");
            h.putIfAbsent(BoltMessage.HEADER_METHOD_NAME, method);
            final ByteBuf content = Unpooled.copiedBuffer(payload, UTF_8);
            try {
                return BoltRequest.of(ByteBufAllocator.DEFAULT, BoltMessage.PROTOCOL_V1, oneway, (int) id, timeoutMs,
                                      (byte) 0, "com.alipay.sofa.rpc.core.request.SofaRequest", h, content);
            } finally {
                content.release();
            }
        }
        if (timeoutMs > 0) {
            h.putIfAbsent("timeout", Integer.toString(timeoutMs));
        }
        h.putIfAbsent("interface", iface);
        return DubboRequest.invocation(ByteBufAllocator.DEFAULT, id, !oneway, iface, "1.0.0", method,
                                       new String[] { payload }, h);
    }

    /** The request id of a response. */
    static long id(Object msg) {
        return msg instanceof BoltMessage ? ((BoltMessage) msg).requestId() : ((DubboMessage) msg).requestId();
    }

    /** The protocol status of a response (Bolt {@code respStatus}, Dubbo status byte). */
    static int status(Object msg) {
        return msg instanceof BoltResponse ? ((BoltResponse) msg).status()
                                           : ((io.jmesh.codec.dubbo.DubboResponse) msg).status();
    }

    /** Closes {@code resources} in order, then {@code proxy} when not null. */
    static void closeAll(java.util.List<AutoCloseable> resources, AutoCloseable proxy) throws Exception {
        for (AutoCloseable r : resources) {
            r.close();
        }
        if (proxy != null) {
            proxy.close();
        }
    }

    /** The payload an echo server put in a response. */
    static String payload(Object response) {
        if (response instanceof BoltResponse) {
            return ((BoltResponse) response).content().toString(UTF_8);
        }
        final ByteBuf body = ((DubboMessage) response).body();
        final int nameLen = body.getByte(body.readerIndex());
        return body.toString(body.readerIndex() + 1 + nameLen, body.readableBytes() - 1 - nameLen, UTF_8);
    }

    /** The name of the echo server that answered. */
    static String server(Object response) {
        if (response instanceof BoltResponse) {
            return ((BoltResponse) response).header("server");
        }
        final ByteBuf body = ((DubboMessage) response).body();
        final int nameLen = body.getByte(body.readerIndex());
        return body.toString(body.readerIndex() + 1, nameLen, UTF_8);
    }

    /** An echo server of one protocol. */
    static final class EchoServer implements AutoCloseable {
        final RpcProtocol protocol;
        final String name;
        final Channel server;
        final ChannelGroup children = new DefaultChannelGroup(GlobalEventExecutor.INSTANCE);
        final AtomicInteger accepted = new AtomicInteger();
        /** Request ids seen, as the upstream sent them (oneway ones too). */
        final BlockingQueue<Long> receivedIds = new LinkedBlockingQueue<>();
        /** Methods of the requests seen. */
        final BlockingQueue<String> receivedMethods = new LinkedBlockingQueue<>();
        /** Headers (Bolt header map, Dubbo attachments) of the requests seen. */
        final BlockingQueue<Map<String, String>> receivedHeaders = new LinkedBlockingQueue<>();
        /** When set, answers "not sent" as a provider's sidecar does when its application is gone. */
        volatile boolean notSent;
        /** When set, answers every call with a server error (Bolt {@code SERVER_EXCEPTION}, Dubbo {@code SERVER_ERROR}). */
        volatile boolean serverError;
        /** Replies held by {@code sleep: hold}, with the context to write them to. */
        private final java.util.Queue<Map.Entry<ChannelHandlerContext, Object>> held =
                new java.util.concurrent.ConcurrentLinkedQueue<>();

        EchoServer(RpcProtocol protocol, String name) throws InterruptedException {
            this.protocol = protocol;
            this.name = name;
            server = new ServerBootstrap().group(GROUP).channel(NioServerSocketChannel.class)
                    .childHandler(new ChannelInitializer<Channel>() {
                        @Override
                        protected void initChannel(Channel ch) {
                            accepted.incrementAndGet();
                            children.add(ch);
                            ch.pipeline().addLast(protocol.newDecoder(1 << 20), protocol.encoder(), new Echo());
                        }
                    })
                    .bind(new InetSocketAddress("127.0.0.1", 0)).sync().channel();
        }

        int port() {
            return ((InetSocketAddress) server.localAddress()).getPort();
        }

        /** Sends the replies held so far. */
        void releaseHeld() {
            Map.Entry<ChannelHandlerContext, Object> e;
            while ((e = held.poll()) != null) {
                e.getKey().writeAndFlush(e.getValue());
            }
        }

        /** Kills the server: stops listening and closes every connection (held replies are dropped). */
        @Override
        public void close() throws InterruptedException {
            server.close().sync();
            children.close().sync();
            Map.Entry<ChannelHandlerContext, Object> e;
            while ((e = held.poll()) != null) {
                ReferenceCountUtil.release(e.getValue());
            }
        }

        private final class Echo extends ChannelInboundHandlerAdapter {
            @Override
            public void channelRead(ChannelHandlerContext ctx, Object msg) {
                try {
                    if (!protocol.isRequest(msg)) {
                        return;
                    }
                    if (protocol.isHeartbeat(msg)) {
                        final Object ack = protocol.heartbeatReply(msg, ctx.alloc());
                        if (ack != null) {
                            ctx.writeAndFlush(ack);
                        }
                        return;
                    }
                    onRequest(ctx, msg, protocol.requestId(msg));
                } finally {
                    ReferenceCountUtil.release(msg);
                }
            }

            /**
             * Publishes the request's id in {@link #receivedIds} before its reply is written (a test that has the reply
             * finds the id) and after a held reply is queued (a test that sees the id may release it at once).
             */
            private void onRequest(ChannelHandlerContext ctx, Object msg, long id) {
                final String method;
                final String sleep;
                if (msg instanceof BoltRequest) {
                    method = ((BoltRequest) msg).methodName();
                    sleep = ((BoltRequest) msg).header("sleep");
                    receivedHeaders.add(((BoltRequest) msg).headers());
                } else {
                    method = ((DubboRequest) msg).methodName();
                    sleep = ((DubboRequest) msg).attachment("sleep");
                    receivedHeaders.add(((DubboRequest) msg).attachments());
                }
                receivedMethods.add(method);
                if (protocol.isOneway(msg) || "never".equals(sleep)) {
                    receivedIds.add(id);
                    return;
                }
                final Object reply = notSent
                        ? protocol.errorReply(msg, RpcProtocol.LocalReply.CONNECT_FAILURE, "app gone", ctx.alloc())
                        : serverError ? serverError(ctx.alloc(), msg) : reply(ctx.alloc(), msg);
                if ("hold".equals(sleep)) {
                    held.add(Map.entry(ctx, reply));
                    receivedIds.add(id);
                    return;
                }
                receivedIds.add(id);
                if (sleep != null) {
                    ctx.executor().schedule(() -> ctx.writeAndFlush(reply), Long.parseLong(sleep),
                                            TimeUnit.MILLISECONDS);
                } else {
                    ctx.writeAndFlush(reply);
                }
            }

            private Object serverError(ByteBufAllocator alloc, Object msg) {
                return msg instanceof BoltRequest r
                        ? BoltResponse.error(r, BoltResponseStatus.SERVER_EXCEPTION, alloc)
                        : io.jmesh.codec.dubbo.DubboResponse.error((DubboRequest) msg, DubboStatus.SERVER_ERROR,
                                                                   "boom from " + name, alloc);
            }

            private Object reply(ByteBufAllocator alloc, Object msg) {
                if (msg instanceof BoltRequest) {
                    final BoltRequest r = (BoltRequest) msg;
                    return BoltResponse.of(alloc, r.protocol(), r.requestId(), BoltResponseStatus.SUCCESS,
                                           r.protocolSwitch(), BoltResponse.SOFA_RESPONSE_CLASS,
                                           Map.of("server", name), r.content());
                }
                final DubboRequest r = (DubboRequest) msg;
                final byte[] n = name.getBytes(UTF_8);
                final ByteBuf body = r.body();
                final ByteBuf out = alloc.buffer(DubboMessage.HEADER_LENGTH + 1 + n.length + body.readableBytes());
                out.writeShort(DubboMessage.MAGIC);
                out.writeByte(DubboMessage.SERIALIZATION_HESSIAN2);
                out.writeByte(DubboStatus.OK);
                out.writeLong(r.requestId());
                out.writeInt(1 + n.length + body.readableBytes());
                out.writeByte(n.length);
                out.writeBytes(n);
                out.writeBytes(body, body.readerIndex(), body.readableBytes());
                return out;
            }
        }
    }

    /** A client of one protocol; what it receives waits in {@link #take()}; the caller releases it. */
    static final class Client implements AutoCloseable {
        final Channel channel;
        final BlockingQueue<Object> received = new LinkedBlockingQueue<>();

        Client(RpcProtocol protocol, int port) throws InterruptedException {
            channel = new Bootstrap().group(GROUP).channel(NioSocketChannel.class)
                    .handler(new ChannelInitializer<Channel>() {
                        @Override
                        protected void initChannel(Channel ch) {
                            ch.pipeline().addLast(protocol.newDecoder(1 << 20), protocol.encoder(),
                                                  new ChannelInboundHandlerAdapter() {
                                                      @Override
                                                      public void channelRead(ChannelHandlerContext ctx, Object msg) {
                                                          received.add(msg);
                                                      }
                                                  });
                        }
                    })
                    .connect(new InetSocketAddress("127.0.0.1", port)).sync().channel();
        }

        void send(Object request) {
            channel.writeAndFlush(request);
        }

        /** The next message received, waiting up to 10 s; fails if none. */
        Object take() throws InterruptedException {
            final Object m = received.poll(10, TimeUnit.SECONDS);
            if (m == null) {
                throw new AssertionError("no message within 10 s");
            }
            return m;
        }

        /** Sends {@code request} and returns the next message received. */
        Object call(Object request) throws InterruptedException {
            send(request);
            return take();
        }

        @Override
        public void close() throws InterruptedException {
            channel.close().sync();
            Object m;
            while ((m = received.poll()) != null) {
                ReferenceCountUtil.release(m);
            }
        }
    }
}
