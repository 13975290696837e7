package io.jmesh.proxy.tls;

import java.util.Locale;

import javax.net.ssl.ExtendedSSLSession;
import javax.net.ssl.SNIHostName;
import javax.net.ssl.SNIServerName;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLSession;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.jmesh.proxy.stream.ConnectionInfo;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.ssl.SslHandshakeCompletionEvent;

/**
 * Sits right after the {@code SslHandler} of one connection until its handshake ends: counts the outcome in
 * {@link TlsStats}, then leaves the pipeline on success. Downstream, a successful handshake is also recorded in
 * the connection's {@link ConnectionInfo} (version, cipher, certificates, ALPN, and the SNI when no listener
 * filter read it), one read of the session for both. Downstream, a failed handshake (its completion event
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
            SSLSession session = ssl == null ? null : ssl.engine().getSession();
            ConnectionInfo info = downstream && session != null ? record(ctx, ssl, session) : null;
            stats.succeeded(session, info);
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

    /** Records the handshake of an accepted connection in its {@link ConnectionInfo}. */
    private static ConnectionInfo record(ChannelHandlerContext ctx, SslHandler ssl, SSLSession session) {
        ConnectionInfo info = ConnectionInfo.of(ctx.channel()).onHandshake(session, ssl.applicationProtocol());
        if (info.requestedServerName() == null && session instanceof ExtendedSSLSession ext) {
            for (SNIServerName n : ext.getRequestedServerNames()) {
                if (n instanceof SNIHostName host) {
                    info.requestedServerName(host.getAsciiName().toLowerCase(Locale.ROOT));
                    break;
                }
            }
        }
        return info;
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
