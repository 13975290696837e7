package io.jmesh.proxy.network.http;

import java.util.Map;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.jmesh.proxy.internal.HttpFields;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http2.DefaultHttp2ResetFrame;
import io.netty.handler.codec.http2.Http2Error;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.handler.codec.http2.Http2HeadersFrame;
import io.netty.util.ReferenceCountUtil;

/**
 * Rejects malformed HTTP/2 requests before anything is converted or forwarded (RFC 9113 section 8.2.1, 8.2.2
 * and 8.3.1): first handler of each downstream stream channel. A malformed request is answered with
 * {@code RST_STREAM(PROTOCOL_ERROR)} and nothing of it goes further, as Envoy resets such a stream:
 * <ul>
 *   <li>no {@code :method}, or no {@code :path} (for CONNECT no {@code :authority}) in the request headers;</li>
 *   <li>a field name that is not a lowercase token, or a pseudo-header other than {@code :method},
 *   {@code :scheme}, {@code :authority}, {@code :path}, {@code :protocol};</li>
 *   <li>a value with NUL, CR or LF, or with leading or trailing space or tab;</li>
 *   <li>a connection-specific field ({@code connection}, {@code keep-alive}, {@code proxy-connection},
 *   {@code transfer-encoding}, {@code upgrade}) or {@code te} other than {@code trailers};</li>
 *   <li>a {@code :method} that is not a token, a {@code :path} with space or control characters.</li>
 * </ul>
 * More than {@code max_headers_count} fields reset the stream too (Envoy's HTTP/2 codec resets it; HTTP/1 gets
 * 431). Netty's decoder already checks pseudo-header order and duplicates and that DATA matches
 * {@code content-length}. Not sharable: one per stream.
 */
final class Http2RequestValidator extends ChannelInboundHandlerAdapter {

    private static final Logger logger = LoggerFactory.getLogger(Http2RequestValidator.class);
    private static final String TOO_MANY = "too many headers: ";

    private final int maxHeadersCount;
    private final HttpConnectionManagerConfig.HcmStats stats;
    private boolean rejected;
    /** The request headers were checked; a later HEADERS frame is the trailers. */
    private boolean requestHeadersSeen;

    Http2RequestValidator(int maxHeadersCount, HttpConnectionManagerConfig.HcmStats stats) {
        this.maxHeadersCount = maxHeadersCount;
        this.stats = stats;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (rejected) {
            ReferenceCountUtil.release(msg);
            return;
        }
        if (msg instanceof Http2HeadersFrame) {
            Http2Headers headers = ((Http2HeadersFrame) msg).headers();
            String problem = check(headers, maxHeadersCount);
            if (problem == null && !requestHeadersSeen) {
                problem = missingPseudoHeader(headers);
            }
            requestHeadersSeen = true;
            if (problem != null) {
                rejected = true;
                ReferenceCountUtil.release(msg);
                logger.debug("{} malformed HTTP/2 request: {}", ctx.channel(), problem);
                boolean overflow = problem.startsWith(TOO_MANY);
                (overflow ? stats.http2HeaderOverflow : stats.http2RxMessagingError).inc();
                ctx.writeAndFlush(new DefaultHttp2ResetFrame(overflow ? Http2Error.INTERNAL_ERROR : Http2Error.PROTOCOL_ERROR));
                ctx.close();
                return;
            }
        }
        ctx.fireChannelRead(msg);
    }

    /**
     * Returns the request pseudo-header that is missing or empty ({@code :method}; {@code :path}, or for CONNECT
     * {@code :authority}), or null. Netty's HTTP/2-to-HTTP/1 conversion, which comes next in the stream pipeline,
     * throws on such a request after allocating its content buffer and never releases that buffer (Netty
     * 4.1.135 {@code HttpConversionUtil.toFullHttpRequest}): one leaked buffer per stream. Found by
     * {@code Http2FrameFuzzTest}.
     */
    static String missingPseudoHeader(Http2Headers h) {
        CharSequence method = h.method();
        if (method == null || method.length() == 0) {
            return "missing :method";
        }
        boolean connect = HttpMethod.CONNECT.asciiName().contentEquals(method);
        CharSequence target = connect ? h.authority() : h.path();
        if (target == null || target.length() == 0) {
            return connect ? "missing :authority" : "missing :path";
        }
        return null;
    }

    /** Returns what is wrong with a request's header block (or trailers), or null when it is well-formed. */
    static String check(Http2Headers headers, int maxHeadersCount) {
        int regular = 0;
        for (Map.Entry<CharSequence, CharSequence> e : headers) {
            CharSequence name = e.getKey();
            CharSequence value = e.getValue();
            if (name.length() > 0 && name.charAt(0) == ':') {
                String pseudo = name.toString();
                switch (pseudo) {
                    case ":method":
                        if (!HttpFields.isToken(value, false)) {
                            return "invalid :method " + HttpFields.printable(value);
                        }
                        break;
                    case ":path":
                        if (!HttpFields.isValidRequestTarget(value)) {
                            return "invalid :path " + HttpFields.printable(value);
                        }
                        break;
                    case ":authority":
                    case ":scheme":
                    case ":protocol":
                        if (!HttpFields.isValidRequestTarget(value)) {
                            return "invalid " + pseudo + " " + HttpFields.printable(value);
                        }
                        break;
                    default:
                        return "unknown pseudo-header " + HttpFields.printable(name);
                }
                continue;
            }
            regular++;
            String problem = HttpFields.http2FieldProblem(name, value);
            if (problem != null) {
                return problem;
            }
        }
        if (regular > maxHeadersCount) {
            return TOO_MANY + regular + " (max_headers_count " + maxHeadersCount + ")";
        }
        return null;
    }
}
