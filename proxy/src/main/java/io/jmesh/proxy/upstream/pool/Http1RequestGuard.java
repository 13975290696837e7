package io.jmesh.proxy.upstream.pool;

import java.util.function.Consumer;

import io.jmesh.proxy.internal.HttpFields;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelOutboundHandlerAdapter;
import io.netty.channel.ChannelPromise;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.util.ReferenceCountUtil;

/**
 * The one guard in front of every HTTP/1.1 request encoder of the proxy: whatever the request went through
 * (HTTP/2 downstream, header mutations, filters that copy claims or RPC attachments into headers), nothing
 * with CR, LF or NUL in a value, a name that is not a token, a method that is not a token or a request target
 * with space or control characters is ever written, so no line and no request can be injected. The first
 * refused message and everything after it on the connection are dropped; {@code onRefused} is told why once.
 * Not sharable: one per connection.
 */
final class Http1RequestGuard extends ChannelOutboundHandlerAdapter {

    private final Consumer<String> onRefused;
    private boolean refused;

    Http1RequestGuard(Consumer<String> onRefused) {
        this.onRefused = onRefused;
    }

    @Override
    public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) throws Exception {
        String problem = refused ? "an earlier part of the request was refused" : check(msg);
        if (problem == null) {
            ctx.write(msg, promise);
            return;
        }
        ReferenceCountUtil.release(msg);
        if (!promise.isVoid()) {
            promise.tryFailure(new IllegalArgumentException(problem));
        }
        if (!refused) {
            refused = true;
            onRefused.accept(problem);
        }
    }

    /** What makes {@code msg} unsafe to encode on HTTP/1.1, or null. */
    static String check(Object msg) {
        if (msg instanceof HttpRequest) {
            HttpRequest req = (HttpRequest) msg;
            if (!HttpFields.isToken(req.method().name(), false)) {
                return "invalid method " + HttpFields.printable(req.method().name());
            }
            if (!HttpFields.isValidRequestTarget(req.uri())) {
                return "invalid request target " + HttpFields.printable(req.uri());
            }
            String bad = HttpFields.firstUnsafe(req.headers());
            if (bad != null) {
                return "invalid header " + bad;
            }
        }
        if (msg instanceof LastHttpContent) {
            String bad = HttpFields.firstUnsafe(((LastHttpContent) msg).trailingHeaders());
            if (bad != null) {
                return "invalid trailer " + bad;
            }
        }
        return null;
    }
}
