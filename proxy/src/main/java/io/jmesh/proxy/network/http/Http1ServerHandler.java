package io.jmesh.proxy.network.http;

import java.net.InetSocketAddress;
import java.util.ArrayDeque;
import java.util.concurrent.TimeUnit;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.jmesh.proxy.network.DrainEvent;
import io.jmesh.proxy.network.TcpRelay;
import io.jmesh.proxy.upstream.pool.UpstreamStream;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
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
import io.netty.util.concurrent.ScheduledFuture;

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

    /** Name of the handler before the HTTP/1 codec that sees the first byte of each request. */
    static final String REQUEST_START = "http1-request-start";

    /** Whether bytes of a request whose head is not decoded yet have arrived (its timers run). */
    private boolean requestStarted;
    private long requestStartNanos;
    /** Start times of decoded request heads not yet handed to an ActiveStream (pipelined ones wait). */
    private final ArrayDeque<Long> requestStarts = new ArrayDeque<>(2);
    private ScheduledFuture<?> headersTimer;
    private ScheduledFuture<?> earlyRequestTimer;
    /** The connection no longer speaks HTTP/1 (HTTP/2 upgrade, or an Upgrade relayed as raw bytes). */
    private boolean notHttp1;
    /** A local reply that ends the connection was written: input is discarded until the delayed close. */
    private boolean closing;
    /** Envoy's default {@code delayed_close_timeout}. */
    static final long DELAYED_CLOSE_MILLIS = 1000;

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

    // ------------------------------------------------------------------ request_timeout, request_headers_timeout

    /**
     * The handler to put before the HTTP/1 codec: it tells this handler when the first byte of a request arrives,
     * where Envoy starts {@code request_timeout} and {@code request_headers_timeout}. Netty's decoder only
     * reports a request once its head is complete, which a slow-header client never lets happen.
     */
    ChannelInboundHandlerAdapter requestStartTap() {
        return new ChannelInboundHandlerAdapter() {
            @Override
            public void channelRead(ChannelHandlerContext ctx, Object msg) {
                if (closing) {
                    ReferenceCountUtil.release(msg); // after a local reply that ends the connection
                    return;
                }
                if (!requestStarted && !notHttp1 && msg instanceof ByteBuf && ((ByteBuf) msg).isReadable()) {
                    onRequestStart();
                }
                ctx.fireChannelRead(msg);
            }
        };
    }

    private void onRequestStart() {
        requestStarted = true;
        requestStartNanos = System.nanoTime();
        EventLoop loop = channel.eventLoop();
        if (config.requestHeadersTimeoutMs > 0) {
            headersTimer = loop.schedule(() -> onEarlyTimeout(true), config.requestHeadersTimeoutMs, TimeUnit.MILLISECONDS);
        }
        if (config.requestTimeoutMs > 0) {
            earlyRequestTimer = loop.schedule(() -> onEarlyTimeout(false), config.requestTimeoutMs, TimeUnit.MILLISECONDS);
        }
    }

    /** The head of the started request was decoded: its headers timer stops, its request timer moves on. */
    private void onHeadDecoded() {
        requestStarts.add(requestStarted ? requestStartNanos : System.nanoTime());
        cancelEarlyTimers();
    }

    private void cancelEarlyTimers() {
        if (headersTimer != null) {
            headersTimer.cancel(false);
            headersTimer = null;
        }
        if (earlyRequestTimer != null) {
            earlyRequestTimer.cancel(false);
            earlyRequestTimer = null;
        }
    }

    /** What is left of {@code request_timeout} for the request whose head is handled now (0: none). */
    private long remainingRequestTimeoutMs() {
        Long start = requestStarts.poll();
        if (config.requestTimeoutMs <= 0) {
            return 0;
        }
        long elapsed = start == null ? 0 : TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
        return Math.max(1, config.requestTimeoutMs - elapsed);
    }

    /**
     * A request's head did not arrive in time: 408 ({@code request header timeout} or {@code request timeout},
     * Envoy's bodies and stats) and the connection closes. While an earlier response is still going, the
     * connection closes after it instead.
     */
    private void onEarlyTimeout(boolean headers) {
        if (!requestStarted || notHttp1 || !channel.isActive()) {
            return;
        }
        headersTimer = null;
        earlyRequestTimer = null;
        cancelEarlyTimers();
        requestStarted = false;
        if (headers) {
            config.stats.rqHeaderTimeout.inc();
        } else {
            config.stats.rqTimeout.inc();
        }
        logger.debug("{} {} before the request headers were complete", channel,
                headers ? "request_headers_timeout" : "request_timeout");
        if (current != null) {
            keepAlive = false;
            releaseQueued();
            return;
        }
        config.stats.rqTotal.inc();
        config.stats.recordStatus(408);
        respondAndClose(HttpResponseStatus.REQUEST_TIMEOUT, headers ? "request header timeout" : "request timeout");
    }

    // ------------------------------------------------------------------ decoded messages

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (closing) {
            ReferenceCountUtil.release(msg);
            return;
        }
        if (!(msg instanceof HttpObject)) {
            ctx.fireChannelRead(msg);
            return;
        }
        if (msg instanceof HttpRequest) {
            onHeadDecoded();
        }
        if (msg instanceof LastHttpContent) {
            requestStarted = false; // the next byte starts the next request
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
        if (msg instanceof HttpContent && !(msg instanceof HttpRequest) && bodyFailed((HttpContent) msg)) {
            return;
        }
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
        Http1RequestChecks.Refusal refusal = Http1RequestChecks.check(req, config.maxHeadersCount);
        if (refusal != null) {
            ReferenceCountUtil.release(req);
            logger.debug("{} request refused: {}", channel, refusal.details());
            protocolError(refusal.status(), refusal.status().reasonPhrase());
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
        current = new ActiveStream(config, this, remainingRequestTimeoutMs());
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

    /**
     * A body part the decoder could not frame (a malformed or over-long chunk size, a broken chunk) or trailers
     * over {@code max_headers_count}: the request is not forwarded as complete. Its upstream request is reset
     * before the end of the body, the client gets 400 (431) and the connection closes; true if so.
     */
    private boolean bodyFailed(HttpContent content) {
        HttpResponseStatus status;
        String details;
        if (content.decoderResult().isFailure()) {
            status = HttpResponseStatus.BAD_REQUEST;
            details = "http1.codec_error";
            logger.debug("{} bad request body: {}", channel, content.decoderResult().cause().toString());
        } else if (content instanceof LastHttpContent && Http1RequestChecks.tooManyTrailers(
                ((LastHttpContent) content).trailingHeaders(), config.maxHeadersCount)) {
            status = HttpResponseStatus.REQUEST_HEADER_FIELDS_TOO_LARGE;
            details = Http1RequestChecks.TOO_MANY_HEADERS.details();
        } else {
            return false;
        }
        ReferenceCountUtil.release(content);
        keepAlive = false;
        swallowLast = false;
        releaseQueued();
        ActiveStream s = current;
        if (s != null && !s.isFinished()) {
            config.stats.cxProtocolError.inc();
            s.onDownstreamProtocolError(status.code(), status.reasonPhrase(), details);
        }
        if (channel.isActive() && current == s) {
            current = null;
            protocolError(status, status.reasonPhrase());
        }
        return true;
    }

    private void protocolError(HttpResponseStatus status, String body) {
        config.stats.cxProtocolError.inc();
        respondAndClose(status, body);
    }

    /** Answers locally with {@code Connection: close}, drops pipelined requests and closes the connection. */
    private void respondAndClose(HttpResponseStatus status, String body) {
        cancelEarlyTimers();
        requestStarted = false;
        ByteBuf content = Unpooled.copiedBuffer(body, CharsetUtil.UTF_8);
        FullHttpResponse resp = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, status, content);
        resp.headers().setInt(HttpHeaderNames.CONTENT_LENGTH, content.readableBytes());
        resp.headers().set(HttpHeaderNames.CONTENT_TYPE, HttpHeaderValues.TEXT_PLAIN);
        resp.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
        resp.headers().set(HttpHeaderNames.SERVER, config.serverName);
        resp.headers().set(HttpHeaderNames.DATE, DateHeader.now());
        releaseQueued();
        closeAfter(ctx.writeAndFlush(resp));
    }

    /**
     * Envoy's delayed close ({@code delayed_close_timeout}, default 1 s) after a local reply that ends the
     * connection: the response is flushed, the write side shut (FIN), and what the client still sends is read and
     * discarded until it closes or the delay ends. Closing at once with unread input makes the kernel send a TCP
     * reset, which can destroy the response before the client reads it (a client still writing a large request
     * sees "connection reset" instead of the 400).
     */
    private void closeAfter(io.netty.channel.ChannelFuture written) {
        closing = true;
        cancelEarlyTimers();
        channel.config().setAutoRead(true);
        written.addListener(f -> {
            if (!f.isSuccess() || !(channel instanceof io.netty.channel.socket.DuplexChannel)) {
                channel.close();
                return;
            }
            ((io.netty.channel.socket.DuplexChannel) channel).shutdownOutput();
            channel.eventLoop().schedule(() -> {
                channel.close();
            }, DELAYED_CLOSE_MILLIS, TimeUnit.MILLISECONDS);
        });
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
            closeAfter(ctx.writeAndFlush(Unpooled.EMPTY_BUFFER));
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
        notHttp1 = true;
        cancelEarlyTimers();
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
            notHttp1 = true;
            cancelEarlyTimers();
            if (ctx.pipeline().get(REQUEST_START) != null) {
                ctx.pipeline().remove(REQUEST_START);
            }
            ctx.pipeline().remove(this);
        } else if (evt instanceof DrainEvent) {
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
        cancelEarlyTimers();
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
