package io.jmesh.proxy.testing;

import java.net.InetSocketAddress;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.nio.NioEventLoopGroup;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.DefaultHttpContent;
import io.netty.handler.codec.http.DefaultHttpResponse;
import io.netty.handler.codec.http.DefaultLastHttpContent;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.handler.codec.http2.CleartextHttp2ServerUpgradeHandler;
import io.netty.handler.codec.http2.Http2FrameCodecBuilder;
import io.netty.handler.codec.http2.Http2MultiplexHandler;
import io.netty.handler.codec.http2.Http2StreamChannel;
import io.netty.handler.codec.http2.Http2StreamFrameToHttpObjectCodec;
import io.netty.handler.codec.http.HttpServerUpgradeHandler;
import io.netty.util.CharsetUtil;
import java.nio.charset.StandardCharsets;
import io.netty.util.ReferenceCountUtil;

/**
 * A real HTTP/1.1 and h2c (prior knowledge) server on port 0 of 127.0.0.1 for proxy tests. Paths:
 * <ul>
 *   <li>{@code /status/N} answers status N;</li>
 *   <li>{@code /delay/MS} answers after MS milliseconds;</li>
 *   <li>{@code /reset} closes the connection without answering;</li>
 *   <li>{@code /bytes/N} streams N bytes of 'x' in 64 KiB chunks (chunked);</li>
 *   <li>{@code /sink} reads the whole body and answers its size, without keeping it;</li>
 *   <li>{@code /upgrade} answers an {@code Upgrade} request with 101 and then echoes raw bytes;</li>
 *   <li>anything else: 200 with a body describing the request (method, uri, headers, body size,
 *   protocol, the backend's name).</li>
 * </ul>
 * Counts requests and connections so tests can assert on what reached the upstream.
 */
public final class TestBackend implements AutoCloseable {

    private static final byte[] CHUNK = "x".repeat(65536).getBytes(StandardCharsets.US_ASCII);

    private final String name;
    private final EventLoopGroup group = new NioEventLoopGroup(1);
    private final Channel server;
    public final AtomicInteger requests = new AtomicInteger();
    public final AtomicInteger connections = new AtomicInteger();
    public final AtomicLong sinkBytes = new AtomicLong();
    public final Map<String, AtomicInteger> byPath = new ConcurrentHashMap<>();
    /** When > 0, the next N requests get 503 (to test retries). */
    public final AtomicInteger failNext = new AtomicInteger();

    private TestBackend(String name) throws InterruptedException {
        this.name = name;
        server = new ServerBootstrap().group(group).channel(NioServerSocketChannel.class)
                .childHandler(new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        connections.incrementAndGet();
                        HttpServerCodec codec = new HttpServerCodec();
                        HttpServerUpgradeHandler upgrade = new HttpServerUpgradeHandler(codec, p -> null);
                        ch.pipeline().addLast(new CleartextHttp2ServerUpgradeHandler(codec, upgrade,
                                new ChannelInitializer<Channel>() {
                                    @Override
                                    protected void initChannel(Channel c) {
                                        String me = c.pipeline().context(this).name();
                                        c.pipeline().addAfter(me, "h2", Http2FrameCodecBuilder.forServer().build());
                                        c.pipeline().addAfter("h2", "mux", new Http2MultiplexHandler(new ChannelInitializer<Http2StreamChannel>() {
                                            @Override
                                            protected void initChannel(Http2StreamChannel s) {
                                                s.pipeline().addLast(new Http2StreamFrameToHttpObjectCodec(true));
                                                s.pipeline().addLast(new Handler("HTTP/2"));
                                            }
                                        }));
                                    }
                                }));
                        ch.pipeline().addLast(new Handler("HTTP/1.1"));
                    }
                }).bind("127.0.0.1", 0).sync().channel();
    }

    public static TestBackend start(String name) throws InterruptedException {
        return new TestBackend(name);
    }

    public int port() {
        return ((InetSocketAddress) server.localAddress()).getPort();
    }

    @Override
    public void close() {
        server.close().syncUninterruptibly();
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
    }

    private final class Handler extends ChannelInboundHandlerAdapter {
        private final String protocol;
        private HttpRequest request;
        private long bodyBytes;
        private boolean upgraded;

        Handler(String protocol) {
            this.protocol = protocol;
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            if (upgraded) {
                ctx.writeAndFlush(msg);
                return;
            }
            if (msg instanceof HttpRequest) {
                request = (HttpRequest) msg;
                bodyBytes = 0;
                requests.incrementAndGet();
                byPath.computeIfAbsent(new io.netty.handler.codec.http.QueryStringDecoder(request.uri()).path(),
                        k -> new AtomicInteger()).incrementAndGet();
                if (request.uri().startsWith("/reset")) {
                    ReferenceCountUtil.release(msg);
                    ctx.channel().parent();
                    (ctx.channel().parent() != null ? ctx.channel().parent() : ctx.channel()).close();
                    return;
                }
                if (request.uri().startsWith("/upgrade") && request.headers().contains(HttpHeaderNames.UPGRADE)) {
                    HttpResponse r = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.SWITCHING_PROTOCOLS);
                    r.headers().set(HttpHeaderNames.CONNECTION, "Upgrade");
                    r.headers().set(HttpHeaderNames.UPGRADE, request.headers().get(HttpHeaderNames.UPGRADE));
                    ReferenceCountUtil.release(msg);
                    upgraded = true;
                    ctx.writeAndFlush(r);
                    ChannelPipeline p = ctx.pipeline();
                    for (String n : p.names()) {
                        Object h = p.get(n);
                        if (h instanceof HttpServerCodec || h instanceof HttpServerUpgradeHandler) {
                            p.remove(n);
                        }
                    }
                    return;
                }
            }
            if (msg instanceof HttpContent) {
                bodyBytes += ((HttpContent) msg).content().readableBytes();
                if (request != null && request.uri().startsWith("/sink")) {
                    sinkBytes.addAndGet(((HttpContent) msg).content().readableBytes());
                }
            }
            boolean last = msg instanceof LastHttpContent;
            ReferenceCountUtil.release(msg);
            if (last && request != null) {
                respond(ctx, request, bodyBytes);
                request = null;
            }
        }

        private void respond(ChannelHandlerContext ctx, HttpRequest req, long bodyBytes) {
            String uri = req.uri();
            if (failNext.getAndUpdate(n -> n > 0 ? n - 1 : 0) > 0) {
                send(ctx, req, HttpResponseStatus.SERVICE_UNAVAILABLE, "failing on purpose\n");
                return;
            }
            if (uri.startsWith("/status/")) {
                int code = Integer.parseInt(uri.substring(8).replaceAll("[^0-9].*", ""));
                send(ctx, req, HttpResponseStatus.valueOf(code), "status " + code + "\n");
                return;
            }
            if (uri.startsWith("/delay/")) {
                long ms = Long.parseLong(uri.substring(7).replaceAll("[^0-9].*", ""));
                ctx.executor().schedule(() -> send(ctx, req, HttpResponseStatus.OK, "delayed " + ms + "\n"), ms, TimeUnit.MILLISECONDS);
                return;
            }
            if (uri.startsWith("/bytes/")) {
                long n = Long.parseLong(uri.substring(7).replaceAll("[^0-9].*", ""));
                HttpResponse r = new DefaultHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK);
                HttpUtil.setTransferEncodingChunked(r, true);
                ctx.write(r);
                writeChunks(ctx, n);
                return;
            }
            if (uri.startsWith("/sink")) {
                send(ctx, req, HttpResponseStatus.OK, "received " + bodyBytes + "\n");
                return;
            }
            StringBuilder sb = new StringBuilder();
            sb.append("backend=").append(name).append('\n');
            sb.append("protocol=").append(protocol).append('\n');
            sb.append("method=").append(req.method()).append('\n');
            sb.append("uri=").append(uri).append('\n');
            sb.append("body-bytes=").append(bodyBytes).append('\n');
            req.headers().forEach(e -> sb.append("header ").append(e.getKey().toLowerCase()).append('=').append(e.getValue()).append('\n'));
            send(ctx, req, HttpResponseStatus.OK, sb.toString());
        }

        /** Streams {@code left} bytes one 64 KiB chunk at a time, each after the previous one was written. */
        private void writeChunks(ChannelHandlerContext ctx, long left) {
            if (left <= 0) {
                ctx.writeAndFlush(new DefaultLastHttpContent());
                return;
            }
            int c = (int) Math.min(CHUNK.length, left);
            ctx.writeAndFlush(new DefaultHttpContent(Unpooled.wrappedBuffer(CHUNK, 0, c))).addListener(f -> {
                if (f.isSuccess()) {
                    writeChunks(ctx, left - c);
                }
            });
        }

        private void send(ChannelHandlerContext ctx, HttpRequest req, HttpResponseStatus status, String body) {
            ByteBuf content = Unpooled.copiedBuffer(body, CharsetUtil.UTF_8);
            FullHttpResponse r = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, status, content);
            r.headers().setInt(HttpHeaderNames.CONTENT_LENGTH, content.readableBytes());
            r.headers().set(HttpHeaderNames.CONTENT_TYPE, "text/plain");
            r.headers().set("x-backend", name);
            boolean keepAlive = HttpUtil.isKeepAlive(req) || protocol.equals("HTTP/2");
            var f = ctx.writeAndFlush(r);
            if (!keepAlive) {
                f.addListener(ChannelFutureListener.CLOSE);
            }
        }
    }
}
