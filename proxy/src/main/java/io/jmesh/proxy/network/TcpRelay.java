package io.jmesh.proxy.network;

import java.util.function.Predicate;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelPipeline;
import io.netty.util.ReferenceCountUtil;

/**
 * Copies bytes from one channel to its peer with back-pressure (reading pauses while the peer is not
 * writable) and half-close semantics reduced to close: when one side closes, the other is flushed and
 * closed. Used by tcp_proxy and by HTTP/1.1 Upgrade (WebSocket) pass-through. Both channels must share
 * an event loop.
 */
public final class TcpRelay extends ChannelInboundHandlerAdapter {

    /** Hears byte counts and the end of the relay. Called on the event loop. */
    public interface Listener {
        default void onBytes(boolean fromDownstream, int bytes) {}

        default void onClosed(boolean byDownstream) {}
    }

    private static final Listener NONE = new Listener() {};

    private final Channel peer;
    private final boolean downstream;
    private final Listener listener;

    public TcpRelay(Channel peer, boolean downstream, Listener listener) {
        this.peer = peer;
        this.downstream = downstream;
        this.listener = listener == null ? NONE : listener;
    }

    /**
     * Turns two connected channels into a byte relay: adds a relay at the end of each pipeline, then
     * removes every handler the predicate selects (codecs), so bytes those handlers still buffer flow on
     * into the relay.
     */
    public static void splice(Channel downstream, Channel upstream, Predicate<ChannelHandler> remove) {
        downstream.pipeline().addLast("relay", new TcpRelay(upstream, true, null));
        upstream.pipeline().addLast("relay", new TcpRelay(downstream, false, null));
        removeMatching(upstream.pipeline(), remove);
        removeMatching(downstream.pipeline(), remove);
        upstream.config().setAutoRead(true);
        downstream.config().setAutoRead(true);
    }

    private static void removeMatching(ChannelPipeline p, Predicate<ChannelHandler> remove) {
        for (String name : p.names()) {
            ChannelHandler h = p.get(name);
            if (h != null && !(h instanceof TcpRelay) && remove.test(h)) {
                p.remove(h);
            }
        }
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (!(msg instanceof ByteBuf)) {
            ReferenceCountUtil.release(msg);
            return;
        }
        listener.onBytes(downstream, ((ByteBuf) msg).readableBytes());
        if (!peer.isActive()) {
            ReferenceCountUtil.release(msg);
            return;
        }
        peer.write(msg, peer.voidPromise());
        if (!peer.isWritable()) {
            // Pause first: the flush may drain the peer at once and fire the event that resumes us.
            ctx.channel().config().setAutoRead(false);
            peer.flush();
        }
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
        peer.flush();
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
        peer.config().setAutoRead(ctx.channel().isWritable());
        ctx.fireChannelWritabilityChanged();
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        listener.onClosed(downstream);
        if (peer.isActive()) {
            peer.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(ChannelFutureListener.CLOSE);
        }
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        ctx.close();
    }
}
