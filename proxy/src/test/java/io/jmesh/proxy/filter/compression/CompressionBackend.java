package io.jmesh.proxy.filter.compression;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicReference;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.nio.NioEventLoopGroup;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.DefaultHttpContent;
import io.netty.handler.codec.http.DefaultHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;

/**
 * A real HTTP/1.1 server on port 0 of 127.0.0.1 serving bodies for the compressor and decompressor tests:
 * <ul>
 *   <li>{@code /text/N}: N bytes of {@link Codecs#text} as {@code text/plain}, chunked, in flushed 8 KiB pieces;</li>
 *   <li>{@code /fixed/N}: the same as {@code text/html} with a {@code content-length};</li>
 *   <li>{@code /octet/N}: as {@code application/octet-stream};</li>
 *   <li>{@code /etag/N}: {@code text/plain} with {@code etag: "v1"};</li>
 *   <li>{@code /notransform/N}: {@code text/plain} with {@code cache-control: no-transform};</li>
 *   <li>{@code /encoded/ENC/N}: the text compressed as ENC (gzip, br, zstd), {@code content-encoding: ENC};</li>
 *   <li>{@code /hold/N}: the first N bytes, then the next N once {@link #release()} is called;</li>
 *   <li>{@code /echo}: the request body back as {@code application/octet-stream}, with the request's
 *   content-encoding, content-length and accept-encoding in {@code x-seen-*} headers.</li>
 * </ul>
 */
public final class CompressionBackend implements AutoCloseable {

    private static final int PIECE = 8 * 1024;

    private final EventLoopGroup group = new NioEventLoopGroup(1);
    private final Channel server;
    private final AtomicReference<CompletableFuture<Void>> release = new AtomicReference<>(new CompletableFuture<>());

    private CompressionBackend() throws InterruptedException {
        server = new ServerBootstrap().group(group).channel(NioServerSocketChannel.class)
                .childHandler(new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        ch.pipeline().addLast(new HttpServerCodec(), new HttpObjectAggregator(16 * 1024 * 1024),
                                new Handler());
                    }
                }).bind(new InetSocketAddress("127.0.0.1", 0)).sync().channel();
    }

    public static CompressionBackend start() throws InterruptedException {
        return new CompressionBackend();
    }

    public int port() {
        return ((InetSocketAddress) server.localAddress()).getPort();
    }

    /** Lets a {@code /hold} response send its second half. */
    public void release() {
        release.get().complete(null);
    }

    @Override
    public void close() {
        server.close().syncUninterruptibly();
        group.shutdownGracefully(0, 0, java.util.concurrent.TimeUnit.SECONDS).syncUninterruptibly();
    }

    private final class Handler extends SimpleChannelInboundHandler<FullHttpRequest> {
        @Override
        protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest req) throws IOException {
            String[] p = req.uri().split("/");
            switch (p[1]) {
                case "text" -> chunked(ctx, Codecs.text(Integer.parseInt(p[2])), "text/plain");
                case "fixed" -> full(ctx, Codecs.text(Integer.parseInt(p[2])), "text/html; charset=utf-8", null);
                case "octet" -> full(ctx, Codecs.text(Integer.parseInt(p[2])), "application/octet-stream", null);
                case "etag" -> full(ctx, Codecs.text(Integer.parseInt(p[2])), "text/plain",
                        h -> h.set(HttpHeaderNames.ETAG, "\"v1\""));
                case "notransform" -> full(ctx, Codecs.text(Integer.parseInt(p[2])), "text/plain",
                        h -> h.set(HttpHeaderNames.CACHE_CONTROL, "public, no-transform"));
                case "encoded" -> full(ctx, Codecs.compress(p[2], Codecs.text(Integer.parseInt(p[3]))), "text/plain",
                        h -> h.set(HttpHeaderNames.CONTENT_ENCODING, p[2]));
                case "hold" -> hold(ctx, Integer.parseInt(p[2]));
                case "echo" -> {
                    ByteBuf body = req.content();
                    byte[] b = new byte[body.readableBytes()];
                    body.getBytes(body.readerIndex(), b);
                    HttpHeaders rh = req.headers();
                    full(ctx, b, "application/octet-stream", h -> {
                        h.set("x-seen-content-encoding", String.valueOf(rh.get(HttpHeaderNames.CONTENT_ENCODING)));
                        h.set("x-seen-content-length", String.valueOf(rh.get(HttpHeaderNames.CONTENT_LENGTH)));
                        h.set("x-seen-accept-encoding", String.valueOf(rh.get(HttpHeaderNames.ACCEPT_ENCODING)));
                    });
                }
                default -> full(ctx, "not found\n".getBytes(), "text/plain", null);
            }
        }

        private void full(ChannelHandlerContext ctx, byte[] body, String contentType,
                          java.util.function.Consumer<HttpHeaders> more) {
            FullHttpResponse r = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK,
                    Unpooled.wrappedBuffer(body));
            r.headers().set(HttpHeaderNames.CONTENT_TYPE, contentType);
            r.headers().setInt(HttpHeaderNames.CONTENT_LENGTH, body.length);
            if (more != null) {
                more.accept(r.headers());
            }
            ctx.writeAndFlush(r);
        }

        private void chunked(ChannelHandlerContext ctx, byte[] body, String contentType) {
            HttpResponse r = new DefaultHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK);
            r.headers().set(HttpHeaderNames.CONTENT_TYPE, contentType);
            HttpUtil.setTransferEncodingChunked(r, true);
            ctx.write(r);
            for (int i = 0; i < body.length; i += PIECE) {
                ctx.writeAndFlush(new DefaultHttpContent(Unpooled.wrappedBuffer(body, i, Math.min(PIECE, body.length - i))));
            }
            ctx.writeAndFlush(LastHttpContent.EMPTY_LAST_CONTENT);
        }

        private void hold(ChannelHandlerContext ctx, int n) {
            byte[] body = Codecs.text(2 * n);
            HttpResponse r = new DefaultHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK);
            r.headers().set(HttpHeaderNames.CONTENT_TYPE, "text/plain");
            HttpUtil.setTransferEncodingChunked(r, true);
            ctx.write(r);
            ctx.writeAndFlush(new DefaultHttpContent(Unpooled.wrappedBuffer(body, 0, n)));
            CompletableFuture<Void> gate = release.get();
            gate.thenRun(() -> ctx.executor().execute(() -> {
                ctx.write(new DefaultHttpContent(Unpooled.wrappedBuffer(body, n, n)));
                ctx.writeAndFlush(LastHttpContent.EMPTY_LAST_CONTENT);
            }));
        }
    }

    /** Reads a whole stream (test helper). */
    static byte[] readAll(java.io.InputStream in) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        in.transferTo(out);
        return out.toByteArray();
    }
}
