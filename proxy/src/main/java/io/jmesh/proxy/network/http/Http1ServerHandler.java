package io.jmesh.proxy.network.http;

import java.net.InetSocketAddress;
import java.util.ArrayDeque;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.jmesh.proxy.network.TcpRelay;
import io.jmesh.proxy.upstream.pool.UpstreamStream;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.EventLoop;
import io.netty.handler.codec.TooLongFrameException;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.DefaultHttpRequest;
import io.netty.handler.codec.http.DefaultLastHttpContent;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpObject;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpServerUpgradeHandler;
import io.netty.handler.codec.http.HttpStatusClass;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.handler.codec.http.TooLongHttpHeaderException;
import io.netty.handler.codec.http.TooLongHttpLineException;
import io.netty.handler.codec.http2.CleartextHttp2ServerUpgradeHandler;
import io.netty.util.CharsetUtil;
import io.netty.util.ReferenceCountUtil;

/**
 * The HTTP/1.1 side of the connection manager: one {@link ActiveStream} at a time, pipelined requests
 * queued and answered in order, keep-alive, {@code Expect: 100-continue} answered locally (as Envoy does by
 * default), malformed requests answered 400/414/431 and the connection closed. Sits after Netty's
 * {@code HttpServerCodec}.
 */
final class Http1ServerHandler extends ChannelDuplexHandler implements DownstreamSink {

    private static final Logger logger = LoggerFactory.getLogger(Http1ServerHandler.class);

    private final HttpConnectionManagerConfig config;
    private final boolean secure;
    private Channel channel;
    private ChannelHandlerContext ctx;
    private ActiveStream current;
    private boolean currentRequestComplete;
    private boolean swallowLast;
    private boolean keepAlive = true;
    private boolean headRequest;
    private HttpVersion version = HttpVersion.HTTP_1_1;
    private boolean draining;
    /** Decoded messages of pipelined requests held at most before reading pauses. */
    static final int MAX_QUEUED = 64;

    private final ArrayDeque<Object> queued = new ArrayDeque<>(4);

    Http1ServerHandler(HttpConnectionManagerConfig config, boolean secure) {
        this.config = config;
        this.secure = secure;
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        this.ctx = ctx;
        this.channel = ctx.channel();
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) {
        config.stats.cxHttp1Total.inc();
        ctx.fireChannelActive();
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (!(msg instanceof HttpObject)) {
            ctx.fireChannelRead(msg);
            return;
        }
        if (current != null && currentRequestComplete || !queued.isEmpty()) {
            // A pipelined request: it waits for the responses before it. Reading stops only when
            // many wait, so the common case costs no epoll changes.
            queued.add(msg);
            if (queued.size() >= MAX_QUEUED) {
                channel.config().setAutoRead(false);
            }
            return;
        }
        handle((HttpObject) msg);
    }

    private void handle(HttpObject msg) {
        if (current != null) {
            if (msg instanceof HttpContent) {
                if (msg instanceof LastHttpContent) {
                    currentRequestComplete = true;
                }
                current.onRequestBody((HttpContent) msg);
            } else {
                ReferenceCountUtil.release(msg);
            }
            return;
        }
        if (msg instanceof HttpRequest) {
            onRequest((HttpRequest) msg);
            return;
        }
        if (swallowLast && msg instanceof LastHttpContent) {
            swallowLast = false;
            if (((LastHttpContent) msg).content().isReadable()) {
                ReferenceCountUtil.release(msg);
                protocolError(HttpResponseStatus.BAD_REQUEST, "unexpected body");
                return;
            }
        }
        ReferenceCountUtil.release(msg);
    }

    private void onRequest(HttpRequest req) {
        if (req.decoderResult().isFailure()) {
            Throwable cause = req.decoderResult().cause();
            ReferenceCountUtil.release(req);
            HttpResponseStatus status = cause instanceof TooLongHttpHeaderException
                    ? HttpResponseStatus.REQUEST_HEADER_FIELDS_TOO_LARGE
                    : cause instanceof TooLongHttpLineException ? HttpResponseStatus.REQUEST_URI_TOO_LONG
                    : cause instanceof TooLongFrameException ? HttpResponseStatus.REQUEST_HEADER_FIELDS_TOO_LARGE
                    : HttpResponseStatus.BAD_REQUEST;
            logger.debug("{} bad request: {}", channel, cause.toString());
            protocolError(status, status.reasonPhrase());
            return;
        }
        version = req.protocolVersion();
        keepAlive = HttpUtil.isKeepAlive(req) && !draining;
        headRequest = req.method().equals(HttpMethod.HEAD);
        currentRequestComplete = false;
        if (HttpUtil.is100ContinueExpected(req)) {
            ctx.writeAndFlush(new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.CONTINUE,
                    Unpooled.EMPTY_BUFFER), ctx.voidPromise());
        }
        current = new ActiveStream(config, this);
        if (req instanceof FullHttpRequest) {
            FullHttpRequest full = (FullHttpRequest) req;
            HttpRequest head = new DefaultHttpRequest(full.protocolVersion(), full.method(), full.uri(), full.headers());
            currentRequestComplete = true;
            if (!full.content().isReadable() && full.trailingHeaders().isEmpty()) {
                full.release();
                current.onRequestHeaders(head, true);
            } else {
                current.onRequestHeaders(head, false);
                if (current != null) {
                    current.onRequestBody(new DefaultLastHttpContent(full.content(), full.trailingHeaders()));
                } else {
                    full.release();
                }
            }
            return;
        }
        boolean hasBody = HttpUtil.isTransferEncodingChunked(req)
                || HttpUtil.getContentLength(req, 0L) > 0;
        if (!hasBody) {
            swallowLast = true;
            currentRequestComplete = true;
            // Chunk-less requests still end with an (empty) LastHttpContent from the codec: drop it.
            ActiveStream s = current;
            s.onRequestHeaders(req, true);
        } else {
            current.onRequestHeaders(req, false);
        }
    }

    private void protocolError(HttpResponseStatus status, String body) {
        config.stats.cxProtocolError.inc();
        ByteBuf content = Unpooled.copiedBuffer(body, CharsetUtil.UTF_8);
        FullHttpResponse resp = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, status, content);
        resp.headers().setInt(HttpHeaderNames.CONTENT_LENGTH, content.readableBytes());
        resp.headers().set(HttpHeaderNames.CONTENT_TYPE, HttpHeaderValues.TEXT_PLAIN);
        resp.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
        resp.headers().set(HttpHeaderNames.SERVER, config.serverName);
        releaseQueued();
        ctx.writeAndFlush(resp).addListener(ChannelFutureListener.CLOSE);
    }

    // ------------------------------------------------------------------ DownstreamSink

    @Override
    public void write(HttpObject msg) {
        if (msg instanceof HttpResponse) {
            HttpResponse resp = (HttpResponse) msg;
            resp.setProtocolVersion(HttpVersion.HTTP_1_1);
            int code = resp.status().code();
            boolean bodyless = headRequest || code == 204 || code == 304
                    || resp.status().codeClass() == HttpStatusClass.INFORMATIONAL;
            if (msg instanceof FullHttpResponse) {
                if (!bodyless && !resp.headers().contains(HttpHeaderNames.CONTENT_LENGTH)) {
                    resp.headers().setInt(HttpHeaderNames.CONTENT_LENGTH, ((FullHttpResponse) msg).content().readableBytes());
                }
            } else if (!bodyless && !resp.headers().contains(HttpHeaderNames.CONTENT_LENGTH)) {
                HttpUtil.setTransferEncodingChunked(resp, true);
            }
            if (code != 101) {
                if (!keepAlive || draining) {
                    resp.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
                } else if (version.equals(HttpVersion.HTTP_1_0)) {
                    resp.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.KEEP_ALIVE);
                }
            }
        }
        ctx.write(msg, ctx.voidPromise());
    }

    @Override
    public void flush() {
        ctx.flush();
    }

    @Override
    public boolean isWritable() {
        return channel.isWritable();
    }

    @Override
    public void setReadable(boolean readable) {
        if (!readable || !currentRequestComplete) {
            channel.config().setAutoRead(readable);
        }
    }

    @Override
    public void responseComplete(boolean closeConnection) {
        current = null;
        if (closeConnection || !keepAlive || draining) {
            releaseQueued();
            ctx.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(ChannelFutureListener.CLOSE);
            return;
        }
        Object next;
        while (current == null && (next = queued.poll()) != null) {
            handle((HttpObject) next);
        }
        while (current != null && !currentRequestComplete && (next = queued.poll()) != null) {
            handle((HttpObject) next);
        }
        if (queued.size() < MAX_QUEUED && !channel.config().isAutoRead()
                && (current == null || !currentRequestComplete || channel.isWritable())) {
            channel.config().setAutoRead(true);
        }
    }

    @Override
    public void reset() {
        channel.close();
    }

    @Override
    public boolean upgrade(UpstreamStream upstream) {
        Channel up = upstream.channel();
        if (up == null || !up.isActive() || !channel.isActive()) {
            return false;
        }
        current = null;
        releaseQueued();
        Http1ServerHandler self = this;
        TcpRelay.splice(channel, up, h -> h == self
                || h instanceof io.netty.handler.codec.http.HttpServerCodec
                || h instanceof HttpServerUpgradeHandler
                || h instanceof CleartextHttp2ServerUpgradeHandler
                || h instanceof io.netty.handler.codec.http.HttpClientCodec
                || h.getClass().getName().startsWith("io.jmesh.proxy.upstream.pool."));
        return true;
    }

    @Override
    public EventLoop eventLoop() {
        return channel.eventLoop();
    }

    @Override
    public InetSocketAddress remoteAddress() {
        return (InetSocketAddress) channel.remoteAddress();
    }

    @Override
    public InetSocketAddress localAddress() {
        return (InetSocketAddress) channel.localAddress();
    }

    @Override
    public String protocol() {
        return version.equals(HttpVersion.HTTP_1_0) ? "HTTP/1.0" : "HTTP/1.1";
    }

    @Override
    public boolean secure() {
        return secure;
    }

    // ------------------------------------------------------------------ connection events

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
        if (evt instanceof HttpServerUpgradeHandler.UpgradeEvent
                || evt instanceof CleartextHttp2ServerUpgradeHandler.PriorKnowledgeUpgradeEvent) {
            // The connection became HTTP/2: the HTTP/2 handlers take over.
            ctx.pipeline().remove(this);
        } else if (evt == DrainEvent.INSTANCE) {
            draining = true;
            if (current == null) {
                ctx.close();
            }
        }
        ctx.fireUserEventTriggered(evt);
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
        ActiveStream s = current;
        if (s != null) {
            s.onReadComplete();
        }
        ctx.fireChannelReadComplete();
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
        ActiveStream s = current;
        if (s != null) {
            s.onDownstreamWritabilityChanged(channel.isWritable());
        }
        ctx.fireChannelWritabilityChanged();
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        ActiveStream s = current;
        current = null;
        if (s != null && !s.isFinished()) {
            s.onDownstreamReset();
        }
        releaseQueued();
        ctx.fireChannelInactive();
    }

    @Override
    public void handlerRemoved(ChannelHandlerContext ctx) {
        releaseQueued();
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        logger.debug("{} downstream error: {}", ctx.channel(), cause.toString());
        ctx.close();
    }

    private void releaseQueued() {
        Object o;
        while ((o = queued.poll()) != null) {
            ReferenceCountUtil.release(o);
        }
    }

    @Override
    public io.jmesh.proxy.stream.ConnectionInfo connectionInfo() {
        return io.jmesh.proxy.stream.ConnectionInfo.of(channel);
    }
}
