package io.jmesh.cli.demo;

import java.net.InetSocketAddress;
import java.util.List;

import io.jmesh.codec.dubbo.DubboDecoder;
import io.jmesh.codec.dubbo.DubboEncoder;
import io.jmesh.codec.dubbo.DubboRequest;
import io.jmesh.codec.dubbo.DubboResponse;
import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.nio.NioEventLoopGroup;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpClientCodec;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.timeout.ReadTimeoutHandler;
import io.netty.util.CharsetUtil;

/**
 * A small HTTP service for the demo: answers every request with a JSON line naming the service, its version, the
 * path and the request id it saw, and the caller's identity, so traffic splits are visible with curl.
 *
 * <p>A service with {@code calls} (as Bookinfo's productpage calls reviews, and reviews v2 calls ratings) first
 * calls each of those services, one after the other, through its own sidecar's outbound listener
 * ({@link #outbound(InetSocketAddress)}: {@code GET /<service>} with {@code Host: <service>:9080}, propagating
 * {@code x-request-id}, the trace context headers and {@code end-user} as Bookinfo does), and puts each answer (or
 * the error) in {@code "calls":[...]}. It answers 200 even when a call fails, as Bookinfo's productpage shows a page
 * without reviews, so a failed call is visible in the callee's metrics and not twice.
 */
public final class SampleApp implements AutoCloseable {

    /** The port of the demo's services (their ServiceEntries'), used as the Host of outbound calls. */
    public static final int SERVICE_PORT = 9080;

    /** The headers a Bookinfo service copies from its request onto the requests it makes. */
    static final List<String> PROPAGATED = List.of("x-request-id", "traceparent", "tracestate", "x-b3-traceid",
            "x-b3-spanid", "x-b3-parentspanid", "x-b3-sampled", "x-b3-flags", "b3", "end-user");

    private static final int CALL_TIMEOUT_SECONDS = 5;

    /** The prefix of a call made over Dubbo. */
    public static final String DUBBO = "dubbo:";
    private static final java.util.concurrent.atomic.AtomicLong DUBBO_IDS = new java.util.concurrent.atomic.AtomicLong();

    private final String service;
    private final String version;
    private final List<String> calls;
    private final Channel channel;
    private volatile InetSocketAddress outbound;
    private volatile InetSocketAddress dubboOutbound;

    private SampleApp(String service, String version, List<String> calls, Channel channel) {
        this.service = service;
        this.version = version;
        this.calls = calls;
        this.channel = channel;
    }

    /** A service that calls no other. */
    public static SampleApp start(String service, String version, EventLoopGroup group) throws InterruptedException {
        return start(service, version, List.of(), group);
    }

    /**
     * Starts the service on a free port of 127.0.0.1.
     *
     * @param calls the services it calls per request, through {@link #outbound(InetSocketAddress)}
     */
    public static SampleApp start(String service, String version, List<String> calls, EventLoopGroup group)
            throws InterruptedException {
        SampleApp[] self = new SampleApp[1];
        ServerBootstrap b = new ServerBootstrap().group(group).channel(NioServerSocketChannel.class)
                .childHandler(new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        ch.pipeline().addLast(new HttpServerCodec(), new HttpObjectAggregator(1 << 20),
                                new SimpleChannelInboundHandler<FullHttpRequest>() {
                                    @Override
                                    protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest req) {
                                        self[0].serve(ctx, req);
                                    }
                                });
                    }
                });
        Channel ch = b.bind("127.0.0.1", 0).sync().channel();
        self[0] = new SampleApp(service, version, List.copyOf(calls), ch);
        return self[0];
    }

    /** Where this service's sidecar listens for its outbound HTTP calls (its {@code 0.0.0.0_9080} listener). */
    public void outbound(InetSocketAddress address) {
        this.outbound = address;
    }

    /** Where this service's sidecar listens for its outbound Dubbo calls (its {@code 0.0.0.0_20880} listener). */
    public void dubboOutbound(InetSocketAddress address) {
        this.dubboOutbound = address;
    }

    /** The services this one calls per request; {@code dubbo:<service>} ones over Dubbo. */
    public List<String> calls() {
        return calls;
    }

    private void serve(ChannelHandlerContext ctx, FullHttpRequest req) {
        String rid = req.headers().get("x-request-id", "");
        String own = "{\"service\":\"" + service + "\",\"version\":\"" + version
                + "\",\"path\":\"" + json(req.uri()) + "\",\"request_id\":\"" + json(rid)
                + "\",\"caller\":\"" + json(caller(req.headers().get("x-forwarded-client-cert"))) + "\"";
        boolean keepAlive = HttpUtil.isKeepAlive(req);
        if (calls.isEmpty()) {
            respond(ctx, own + "}\n", keepAlive);
            return;
        }
        HttpHeaders propagate = new io.netty.handler.codec.http.DefaultHttpHeaders();
        for (String h : PROPAGATED) {
            String v = req.headers().get(h);
            if (v != null) {
                propagate.set(h, v);
            }
        }
        StringBuilder body = new StringBuilder(own).append(",\"calls\":[");
        call(ctx, 0, propagate, body, keepAlive);
    }

    /** Makes call {@code i} (then the next), appending its result to {@code body}; answers after the last. */
    private void call(ChannelHandlerContext ctx, int i, HttpHeaders propagate, StringBuilder body, boolean keepAlive) {
        if (i == calls.size()) {
            respond(ctx, body.append("]}\n").toString(), keepAlive);
            return;
        }
        String target = calls.get(i);
        if (i > 0) {
            body.append(',');
        }
        if (target.startsWith(DUBBO)) {
            callDubbo(ctx, i, target.substring(DUBBO.length()), propagate, body, keepAlive);
            return;
        }
        InetSocketAddress via = outbound;
        if (via == null) {
            appendError(body, target, "no sidecar outbound yet");
            call(ctx, i + 1, propagate, body, keepAlive);
            return;
        }
        new Bootstrap().group(ctx.channel().eventLoop()).channel(NioSocketChannel.class)
                .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, CALL_TIMEOUT_SECONDS * 1000)
                .handler(new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        ch.pipeline().addLast(new ReadTimeoutHandler(CALL_TIMEOUT_SECONDS), new HttpClientCodec(),
                                new HttpObjectAggregator(1 << 20),
                                new SimpleChannelInboundHandler<FullHttpResponse>() {
                                    private boolean done;

                                    @Override
                                    protected void channelRead0(ChannelHandlerContext c, FullHttpResponse resp) {
                                        done = true;
                                        String answer = resp.content().toString(CharsetUtil.UTF_8).trim();
                                        if (resp.status().code() == 200 && answer.startsWith("{")) {
                                            body.append(answer);
                                        } else {
                                            body.append("{\"service\":\"").append(target).append("\",\"status\":")
                                                    .append(resp.status().code()).append(",\"body\":\"")
                                                    .append(json(answer)).append("\"}");
                                        }
                                        c.close();
                                        call(ctx, i + 1, propagate, body, keepAlive);
                                    }

                                    @Override
                                    public void exceptionCaught(ChannelHandlerContext c, Throwable cause) {
                                        fail(c, String.valueOf(cause));
                                    }

                                    @Override
                                    public void channelInactive(ChannelHandlerContext c) {
                                        fail(c, "connection closed before a response");
                                    }

                                    private void fail(ChannelHandlerContext c, String why) {
                                        if (done) {
                                            return;
                                        }
                                        done = true;
                                        appendError(body, target, why);
                                        c.close();
                                        call(ctx, i + 1, propagate, body, keepAlive);
                                    }
                                });
                    }
                })
                .connect(via).addListener((ChannelFutureListener) f -> {
                    if (!f.isSuccess()) {
                        appendError(body, target, String.valueOf(f.cause()));
                        call(ctx, i + 1, propagate, body, keepAlive);
                        return;
                    }
                    FullHttpRequest out = new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.GET,
                            "/" + target, Unpooled.EMPTY_BUFFER);
                    out.headers().add(propagate);
                    out.headers().set(HttpHeaderNames.HOST, target + ":" + SERVICE_PORT);
                    out.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
                    out.headers().setInt(HttpHeaderNames.CONTENT_LENGTH, 0);
                    f.channel().writeAndFlush(out);
                });
    }

    /**
     * Calls {@code target}'s {@link DubboSampleApp#INTERFACE} {@code getDetails} over Dubbo through the sidecar's
     * outbound Dubbo listener, propagating the trace headers as attachments, then goes on with call {@code i + 1}.
     */
    private void callDubbo(ChannelHandlerContext ctx, int i, String target, HttpHeaders propagate, StringBuilder body,
                           boolean keepAlive) {
        InetSocketAddress via = dubboOutbound;
        if (via == null) {
            appendError(body, target, "no sidecar Dubbo outbound yet");
            call(ctx, i + 1, propagate, body, keepAlive);
            return;
        }
        new Bootstrap().group(ctx.channel().eventLoop()).channel(NioSocketChannel.class)
                .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, CALL_TIMEOUT_SECONDS * 1000)
                .handler(new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        ch.pipeline().addLast(new ReadTimeoutHandler(CALL_TIMEOUT_SECONDS), new DubboDecoder(),
                                DubboEncoder.INSTANCE, new SimpleChannelInboundHandler<DubboResponse>() {
                                    private boolean done;

                                    @Override
                                    protected void channelRead0(ChannelHandlerContext c, DubboResponse resp) {
                                        if (resp.isEvent()) {
                                            return; // a heartbeat
                                        }
                                        done = true;
                                        body.append("{\"service\":\"").append(target).append("\",\"protocol\":")
                                                .append("\"dubbo\",\"status\":").append(resp.status()).append('}');
                                        c.close();
                                        call(ctx, i + 1, propagate, body, keepAlive);
                                    }

                                    @Override
                                    public void exceptionCaught(ChannelHandlerContext c, Throwable cause) {
                                        fail(c, String.valueOf(cause));
                                    }

                                    @Override
                                    public void channelInactive(ChannelHandlerContext c) {
                                        fail(c, "connection closed before a response");
                                    }

                                    private void fail(ChannelHandlerContext c, String why) {
                                        if (done) {
                                            return;
                                        }
                                        done = true;
                                        appendError(body, target, why);
                                        c.close();
                                        call(ctx, i + 1, propagate, body, keepAlive);
                                    }
                                });
                    }
                })
                .connect(via).addListener((ChannelFutureListener) f -> {
                    if (!f.isSuccess()) {
                        appendError(body, target, String.valueOf(f.cause()));
                        call(ctx, i + 1, propagate, body, keepAlive);
                        return;
                    }
                    java.util.Map<String, String> attachments = new java.util.LinkedHashMap<>();
                    propagate.forEach(e -> attachments.put(e.getKey(), e.getValue()));
                    f.channel().writeAndFlush(DubboRequest.invocation(f.channel().alloc(), DUBBO_IDS.incrementAndGet(),
                            true, DubboSampleApp.INTERFACE, "1.0.0", "getDetails", new String[] {service},
                            attachments));
                });
    }

    private static void respond(ChannelHandlerContext ctx, String body, boolean keepAlive) {
        ByteBuf content = Unpooled.copiedBuffer(body, CharsetUtil.UTF_8);
        FullHttpResponse resp = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK, content);
        resp.headers().set(HttpHeaderNames.CONTENT_TYPE, "application/json");
        resp.headers().setInt(HttpHeaderNames.CONTENT_LENGTH, content.readableBytes());
        var f = ctx.writeAndFlush(resp);
        if (!keepAlive) {
            f.addListener(ChannelFutureListener.CLOSE);
        }
    }

    /** Appends the entry of a call that got no answer: {@code {"service":..,"error":..}}. */
    private static void appendError(StringBuilder body, String target, String why) {
        body.append("{\"service\":\"").append(target).append("\",\"error\":\"").append(json(why)).append("\"}");
    }

    private static String json(String s) {
        return s.replace("\\", "\\\\").replace("\"", "\\\"").replace("\n", " ");
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
