package io.jmesh.proxy.upstream.pool;

import java.util.Map;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.jmesh.proxy.internal.HttpFields;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.http2.DefaultHttp2ResetFrame;
import io.netty.handler.codec.http2.Http2Error;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.handler.codec.http2.Http2HeadersFrame;
import io.netty.util.ReferenceCountUtil;

/**
 * Checks each response header block from an HTTP/2 upstream before it is converted and sent on, as Envoy's
 * codec does (RFC 9113 section 8.2.1): a field with CR, LF, NUL or edge whitespace, an uppercase or
 * non-token name, a connection-specific field, a pseudo-header other than {@code :status}, or more fields than
 * the cluster's {@code max_headers_count} resets the upstream stream (PROTOCOL_ERROR) and fails the request
 * with a protocol error, so that nothing of it can split a response written to an HTTP/1.1 client.
 * First handler of an upstream stream channel; one per stream.
 */
final class Http2ResponseValidator extends ChannelInboundHandlerAdapter {

    private static final Logger logger = LoggerFactory.getLogger(Http2ResponseValidator.class);

    private final UpstreamStream stream;
    private final int maxHeadersCount;
    private boolean refused;

    Http2ResponseValidator(UpstreamStream stream, int maxHeadersCount) {
        this.stream = stream;
        this.maxHeadersCount = maxHeadersCount;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (refused) {
            ReferenceCountUtil.release(msg);
            return;
        }
        if (msg instanceof Http2HeadersFrame) {
            String problem = check(((Http2HeadersFrame) msg).headers(), maxHeadersCount);
            if (problem != null) {
                refused = true;
                ReferenceCountUtil.release(msg);
                logger.debug("{} malformed upstream response: {}", ctx.channel(), problem);
                stream.fireFailure(ResetReason.PROTOCOL_ERROR, problem);
                ctx.writeAndFlush(new DefaultHttp2ResetFrame(Http2Error.PROTOCOL_ERROR));
                ctx.close();
                return;
            }
        }
        ctx.fireChannelRead(msg);
    }

    static String check(Http2Headers headers, int maxHeadersCount) {
        int regular = 0;
        for (Map.Entry<CharSequence, CharSequence> e : headers) {
            CharSequence name = e.getKey();
            if (name.length() > 0 && name.charAt(0) == ':') {
                if (!":status".contentEquals(name)) {
                    return "unexpected pseudo-header " + HttpFields.printable(name);
                }
                continue;
            }
            regular++;
            String problem = HttpFields.http2FieldProblem(name, e.getValue());
            if (problem != null) {
                return problem;
            }
        }
        return regular > maxHeadersCount ? "too many headers: " + regular : null;
    }
}
