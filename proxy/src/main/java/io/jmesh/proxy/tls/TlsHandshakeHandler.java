package io.jmesh.proxy.tls;

import javax.net.ssl.SSLException;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.ssl.SslHandshakeCompletionEvent;

/**
 * Sits right after the {@code SslHandler} of one connection until its handshake ends: counts the outcome in
 * {@link TlsStats}, then leaves the pipeline on success. Downstream, a failed handshake (its completion event
 * and the {@code SSLException} that follows it) stops here: logged at debug, the connection closed, and nothing
 * passed on to handlers that would log it as a warning with a stack trace (Netty's
 * {@code ApplicationProtocolNegotiationHandler} does). Upstream, it only counts. Runs on the channel's event loop.
 */
final class TlsHandshakeHandler extends ChannelInboundHandlerAdapter {

    private static final Logger logger = LoggerFactory.getLogger(TlsHandshakeHandler.class);

    private final TlsStats stats;
    private final boolean downstream;
    private boolean failed;

    TlsHandshakeHandler(TlsStats stats, boolean downstream) {
        this.stats = stats;
        this.downstream = downstream;
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) throws Exception {
        if (!(evt instanceof SslHandshakeCompletionEvent e)) {
            ctx.fireUserEventTriggered(evt);
            return;
        }
        if (e.isSuccess()) {
            SslHandler ssl = ctx.pipeline().get(SslHandler.class);
            stats.succeeded(ssl == null ? null : ssl.engine().getSession(), downstream);
            ctx.pipeline().remove(this);
            ctx.fireUserEventTriggered(evt);
            return;
        }
        if (!failed) {
            failed = true;
            stats.failed(e.cause());
            logger.debug("{} TLS handshake failed: {}", ctx.channel(), e.cause().toString());
        }
        if (downstream) {
            ctx.close();
        } else {
            ctx.fireUserEventTriggered(evt);
        }
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        if (downstream && isTls(cause)) {
            // The SslHandler already reported the failed handshake (counted above); this is the same failure.
            if (!failed) {
                failed = true;
                stats.failed(cause);
                logger.debug("{} TLS handshake failed: {}", ctx.channel(), cause.toString());
            }
            ctx.close();
            return;
        }
        ctx.fireExceptionCaught(cause);
    }

    private static boolean isTls(Throwable cause) {
        for (Throwable t = cause; t != null; t = t.getCause() == t ? null : t.getCause()) {
            if (t instanceof SSLException) {
                return true;
            }
        }
        return false;
    }
}
