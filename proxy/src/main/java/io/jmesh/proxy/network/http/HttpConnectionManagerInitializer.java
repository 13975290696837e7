package io.jmesh.proxy.network.http;

import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager.CodecType;
import io.jmesh.proxy.network.DrainEvent;
import io.netty.channel.Channel;
import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelPipeline;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpServerUpgradeHandler;
import io.netty.handler.codec.http2.CleartextHttp2ServerUpgradeHandler;
import io.netty.handler.codec.http2.Http2FrameCodec;
import io.netty.handler.codec.http2.Http2FrameCodecBuilder;
import io.netty.handler.codec.http2.Http2Error;
import io.netty.handler.codec.http2.DefaultHttp2GoAwayFrame;
import io.netty.handler.codec.http2.Http2MultiplexHandler;
import io.netty.handler.codec.http2.Http2ServerUpgradeCodec;
import io.netty.handler.codec.http2.Http2Settings;
import io.netty.handler.codec.http2.Http2StreamChannel;
import io.netty.handler.codec.http2.Http2StreamFrameToHttpObjectCodec;
import io.netty.handler.ssl.ApplicationProtocolNames;
import io.netty.handler.ssl.ApplicationProtocolNegotiationHandler;
import io.netty.util.AsciiString;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http2.Http2CodecUtil;
import io.netty.handler.codec.http2.Http2Exception;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Sets up a downstream connection for the HTTP connection manager: HTTP/1.1, HTTP/2 with prior knowledge,
 * h2c upgrade ({@code codec_type: AUTO}), or ALPN after TLS. Stateless; one instance per filter chain.
 */
public final class HttpConnectionManagerInitializer {

    private static final Logger logger = LoggerFactory.getLogger(HttpConnectionManagerInitializer.class);

    /** Netty's default max initial line length is 4 KiB; Envoy accepts long URLs within the header limit. */
    private static final int MAX_INITIAL_LINE = 16 * 1024;
    private static final int MAX_CHUNK = 64 * 1024;

    private final HttpConnectionManagerConfig config;

    public HttpConnectionManagerInitializer(HttpConnectionManagerConfig config) {
        this.config = config;
    }

    public HttpConnectionManagerConfig config() {
        return config;
    }

    /** Configures a plaintext connection according to {@code codec_type}. */
    public void initCleartext(ChannelPipeline p) {
        config.stats.cxTotal.inc();
        p.addLast("cx-stats", new ConnectionStats(config));
        switch (config.codecType) {
            case HTTP1:
                addHttp1(p, false);
                break;
            case HTTP2:
                addHttp2(p, false);
                break;
            default: {
                Http1ServerHandler http1 = new Http1ServerHandler(config, false);
                p.addLast(Http1ServerHandler.REQUEST_START, http1.requestStartTap());
                HttpServerCodec codec = newHttp1Codec();
                HttpServerUpgradeHandler upgrade = new HttpServerUpgradeHandler(codec, protocol ->
                        AsciiString.contentEquals("h2c", protocol)
                                ? new CheckedHttp2UpgradeCodec(newHttp2Codec(), newMultiplexer(false),
                                        new Http2ConnectionErrors())
                                : null, config.maxRequestHeadersBytes + 64 * 1024);
                p.addLast("h2c", new CleartextHttp2ServerUpgradeHandler(codec, upgrade,
                        new ChannelInitializer<Channel>() {
                            @Override
                            protected void initChannel(Channel ch) {
                                config.stats.cxHttp2Total.inc();
                                ch.pipeline().addAfter(ch.pipeline().context(this).name(), "h2", newHttp2Codec());
                                ch.pipeline().addAfter("h2", "mux", newMultiplexer(false));
                                ch.pipeline().addAfter("mux", "h2-errors", new Http2ConnectionErrors());
                            }
                        }));
                p.addLast("http1", http1);
                break;
            }
        }
    }

    /** Configures a connection after the TLS handler: ALPN picks HTTP/2 or HTTP/1.1. */
    public void initSecure(ChannelPipeline p) {
        config.stats.cxTotal.inc();
        p.addLast("cx-stats", new ConnectionStats(config));
        p.addLast("alpn", new ApplicationProtocolNegotiationHandler(ApplicationProtocolNames.HTTP_1_1) {
            @Override
            protected void configurePipeline(ChannelHandlerContext ctx, String protocol) {
                if (ApplicationProtocolNames.HTTP_2.equals(protocol) && config.codecType != CodecType.HTTP1) {
                    addHttp2(ctx.pipeline(), true);
                } else {
                    addHttp1(ctx.pipeline(), true);
                }
            }
        });
    }

    private void addHttp1(ChannelPipeline p, boolean secure) {
        Http1ServerHandler http1 = new Http1ServerHandler(config, secure);
        p.addLast(Http1ServerHandler.REQUEST_START, http1.requestStartTap());
        p.addLast("codec", newHttp1Codec());
        p.addLast("http1", http1);
    }

    private void addHttp2(ChannelPipeline p, boolean secure) {
        config.stats.cxHttp2Total.inc();
        p.addLast("h2", newHttp2Codec());
        p.addLast("mux", newMultiplexer(secure));
        p.addLast("h2-errors", new Http2ConnectionErrors());
    }

    private HttpServerCodec newHttp1Codec() {
        return new HttpServerCodec(MAX_INITIAL_LINE, config.maxRequestHeadersBytes, MAX_CHUNK, true);
    }

    private Http2FrameCodec newHttp2Codec() {
        return Http2FrameCodecBuilder.forServer()
                .initialSettings(Http2Settings.defaultSettings()
                        .maxHeaderListSize(config.maxRequestHeadersBytes)
                        .maxConcurrentStreams(2147483647L))
                .validateHeaders(true)
                .build();
    }

    private Http2MultiplexHandler newMultiplexer(boolean secure) {
        return new Http2MultiplexHandler(new ChannelInitializer<Http2StreamChannel>() {
            @Override
            protected void initChannel(Http2StreamChannel ch) {
                ch.pipeline().addLast(new Http2RequestValidator(config.maxHeadersCount, config.stats));
                ch.pipeline().addLast(new Http2StreamFrameToHttpObjectCodec(true, false));
                ch.pipeline().addLast(new Http2StreamSink(config, secure));
            }
        });
    }

    /**
     * Refuses the h2c upgrade of a request that {@link Http1RequestChecks} refuses (a {@code Transfer-Encoding}
     * other than chunked, too many headers): the request then goes on as HTTP/1.1 and gets its 501 or 431.
     * Netty's upgrade would otherwise drop {@code Transfer-Encoding} and forward it with an empty body.
     */
    private final class CheckedHttp2UpgradeCodec extends Http2ServerUpgradeCodec {
        CheckedHttp2UpgradeCodec(Http2FrameCodec codec, ChannelHandler... handlers) {
            super(codec, handlers);
        }

        @Override
        public boolean prepareUpgradeResponse(ChannelHandlerContext ctx, FullHttpRequest request, HttpHeaders headers) {
            return Http1RequestChecks.check(request, config.maxHeadersCount) == null
                    && super.prepareUpgradeResponse(ctx, request, headers);
        }
    }

    /**
     * Netty's HTTP/2 codec answers a connection error itself (GOAWAY with the error's code, such as
     * ENHANCE_YOUR_CALM for too many RST_STREAMs, then close) and also fires the exception down the pipeline:
     * it stops here, so that the listener's close-on-error handler does not close first with GOAWAY NO_ERROR.
     */
    private static final class Http2ConnectionErrors extends ChannelInboundHandlerAdapter {
        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            Http2Exception e = Http2CodecUtil.getEmbeddedHttp2Exception(cause);
            if (e == null) {
                ctx.fireExceptionCaught(cause);
                return;
            }
            logger.debug("{} HTTP/2 connection error {}: {}", ctx.channel(), e.error(), e.getMessage());
        }
    }

    /** Counts the connection and turns a {@link DrainEvent} into GOAWAY for HTTP/2 connections. */
    private static final class ConnectionStats extends ChannelDuplexHandler {
        private final HttpConnectionManagerConfig config;

        ConnectionStats(HttpConnectionManagerConfig config) {
            this.config = config;
        }

        @Override
        public void channelActive(ChannelHandlerContext ctx) {
            config.stats.cxActive.inc();
            ctx.fireChannelActive();
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            config.stats.cxActive.dec();
            ctx.fireChannelInactive();
        }

        @Override
        public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
            if (evt == DrainEvent.LISTENER_UPDATE && ctx.pipeline().get(Http2FrameCodec.class) != null) {
                // From the tail: this handler sits before the HTTP/2 codec, and a frame written from its own
                // context would skip the codec and never reach the wire (the peer kept using the drained
                // connection, with the filter chain of before a listener update).
                // Envoy's first, graceful GOAWAY (last stream id 2^31-1): the peer opens no new stream here, and
                // no stream already on its way is refused.
                ctx.channel().writeAndFlush(new DefaultHttp2GoAwayFrame(Http2Error.NO_ERROR)
                        .setExtraStreamIds(Integer.MAX_VALUE));
            }
            ctx.fireUserEventTriggered(evt);
        }
    }
}
