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
 * Resets with {@code PROTOCOL_ERROR} an HTTP/2 stream whose request target ({@code :path}, or {@code :authority}
 * of a CONNECT) holds a space, CR or LF: such a request is malformed (RFC 9113 §8.3.1 and §8.2.1), and Netty's
 * HTTP/2-to-HTTP/1 conversion, which comes next in the stream pipeline, throws on it after allocating the
 * request's content buffer and never releases that buffer (Netty 4.1.135 {@code HttpConversionUtil
 * .toFullHttpRequest} with {@code DefaultHttpRequest}'s URI check): one leaked pooled buffer per such stream.
 * Found by {@code Http2FrameFuzzTest}. One instance per stream channel; runs on its event loop.
 */
final class Http2RequestHeadersValidator extends ChannelInboundHandlerAdapter {

    private static final Logger logger = LoggerFactory.getLogger(Http2RequestHeadersValidator.class);

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (msg instanceof Http2HeadersFrame frame) {
            // Only the request headers are converted into a request line; trailers pass.
            ctx.pipeline().remove(this);
            Http2Headers h = frame.headers();
            CharSequence target = HttpMethod.CONNECT.asciiName().contentEquals(h.method() == null ? "" : h.method())
                    ? h.authority() : h.path();
            if (target != null && hasSpaceOrLineBreak(target)) {
                ReferenceCountUtil.release(msg);
                logger.debug("{} malformed request target, resetting the stream", ctx.channel());
                ctx.writeAndFlush(new DefaultHttp2ResetFrame(Http2Error.PROTOCOL_ERROR))
                   .addListener(ChannelFutureListener.CLOSE);
                return;
            }
        }
        ctx.fireChannelRead(msg);
    }

    private static boolean hasSpaceOrLineBreak(CharSequence s) {
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == ' ' || c == '\r' || c == '\n') {
                return true;
            }
        }
        return false;
    }
}
