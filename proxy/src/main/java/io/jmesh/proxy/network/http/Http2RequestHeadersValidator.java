package io.jmesh.proxy.network.http;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http2.DefaultHttp2ResetFrame;
import io.netty.handler.codec.http2.Http2Error;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.handler.codec.http2.Http2HeadersFrame;
import io.netty.util.ReferenceCountUtil;

/**
 * Resets with {@code PROTOCOL_ERROR} an HTTP/2 stream whose request pseudo-headers are malformed (RFC 9113
 * §8.3.1): no {@code :method} or one that is not a token, no or an empty {@code :path} (or, for CONNECT, no
 * {@code :authority}), or a target holding a space, CR or LF. Netty's HTTP/2-to-HTTP/1 conversion, which comes
 * next in the stream pipeline, throws on each of these after allocating the request's content buffer and never
 * releases that buffer (Netty 4.1.135 {@code HttpConversionUtil.toFullHttpRequest}): one leaked pooled buffer
 * per such stream. Found by {@code Http2FrameFuzzTest}. One instance per stream channel; runs on its event loop.
 */
final class Http2RequestHeadersValidator extends ChannelInboundHandlerAdapter {

    private static final Logger logger = LoggerFactory.getLogger(Http2RequestHeadersValidator.class);

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (msg instanceof Http2HeadersFrame frame) {
            // Only the request headers are converted into a request line; trailers pass.
            ctx.pipeline().remove(this);
            if (!wellFormed(frame.headers())) {
                ReferenceCountUtil.release(msg);
                logger.debug("{} malformed request pseudo-headers, resetting the stream", ctx.channel());
                ctx.writeAndFlush(new DefaultHttp2ResetFrame(Http2Error.PROTOCOL_ERROR))
                   .addListener(ChannelFutureListener.CLOSE);
                return;
            }
        }
        ctx.fireChannelRead(msg);
    }

    static boolean wellFormed(Http2Headers h) {
        CharSequence method = h.method();
        if (method == null || method.length() == 0) {
            return false;
        }
        for (int i = 0; i < method.length(); i++) {
            char c = method.charAt(i);
            if (!(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
                  || "!#$%&'*+-.^_`|~".indexOf(c) >= 0)) {
                return false;
            }
        }
        CharSequence target = HttpMethod.CONNECT.asciiName().contentEquals(method) ? h.authority() : h.path();
        if (target == null || target.length() == 0) {
            return false;
        }
        for (int i = 0; i < target.length(); i++) {
            char c = target.charAt(i);
            if (c == ' ' || c == '\r' || c == '\n') {
                return false;
            }
        }
        return true;
    }
}
