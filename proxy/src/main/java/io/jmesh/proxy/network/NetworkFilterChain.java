package io.jmesh.proxy.network;

import java.util.ArrayDeque;
import java.util.List;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.jmesh.proxy.stream.ConnectionInfo;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPromise;
import io.netty.util.ReferenceCountUtil;

/**
 * Runs the non-terminal network filters of one connection: one Netty handler, placed after TLS and before the
 * terminal filter's handlers, that calls each {@link ReadFilter} in order on the new connection and on every
 * inbound {@link ByteBuf}, and each {@link WriteFilter} in reverse order on every outbound one. Buffers pass
 * through without a copy. A filter that returns {@link FilterStatus#STOP_ITERATION} holds the chain: reading
 * pauses, the held buffer and any later ones wait in order, and {@link ReadFilterCallbacks#continueReading()}
 * resumes with the next filter. Every filter sees every byte exactly once.
 *
 * <p>An explicit chain in one handler rather than one Netty handler per filter: a filter does not depend on
 * Netty's handler contract (release, forwarding, {@code channelActive} after a late install), stopping and
 * resuming at a given filter is exact, and a chain of any length costs one pipeline entry. A chain without
 * non-terminal filters adds no handler at all. Not thread-safe: the connection's event loop only.
 */
public final class NetworkFilterChain extends ChannelDuplexHandler {

    private static final Logger logger = LoggerFactory.getLogger(NetworkFilterChain.class);

    /** The handler's name in the pipeline. */
    public static final String NAME = "network-filters";

    private static final Object NEW_CONNECTION = new Object();

    private final ReadFilter[] reads;
    private final WriteFilter[] writes;
    /** Held events (NEW_CONNECTION or ByteBuf), in order; the head resumes at {@link #resumeAt}. */
    private final ArrayDeque<Object> held = new ArrayDeque<>(2);
    private ChannelHandlerContext ctx;
    private int stoppedAt = -1;
    private int resumeAt;
    private boolean closed;
    private boolean activeFired;

    /**
     * @param reads  read filters in configuration order
     * @param writes write filters in configuration order (run last to first)
     */
    public NetworkFilterChain(List<ReadFilter> reads, List<WriteFilter> writes) {
        this.reads = reads.toArray(new ReadFilter[0]);
        this.writes = writes.toArray(new WriteFilter[0]);
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        this.ctx = ctx;
        Channel ch = ctx.channel();
        ConnectionInfo info = ConnectionInfo.of(ch);
        for (int i = 0; i < reads.length; i++) {
            final int index = i;
            reads[i].initializeReadFilterCallbacks(new ReadFilterCallbacks() {
                @Override
                public Channel connection() {
                    return ch;
                }

                @Override
                public ConnectionInfo connectionInfo() {
                    return info;
                }

                @Override
                public void continueReading() {
                    resume(index);
                }
            });
        }
        WriteFilterCallbacks wcb = new WriteFilterCallbacks() {
            @Override
            public Channel connection() {
                return ch;
            }

            @Override
            public ConnectionInfo connectionInfo() {
                return info;
            }
        };
        for (WriteFilter w : writes) {
            w.initializeWriteFilterCallbacks(wcb);
        }
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) {
        held.add(NEW_CONNECTION);
        resumeAt = 0;
        drain();
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (!(msg instanceof ByteBuf) || reads.length == 0) {
            ctx.fireChannelRead(msg);
            return;
        }
        if (closed) {
            ReferenceCountUtil.release(msg);
            return;
        }
        boolean idle = held.isEmpty();
        held.add(msg);
        if (idle) {
            resumeAt = 0;
            drain();
        } else {
            // Stopped: keep the order, and keep reading paused even if a later handler turned it back on.
            ctx.channel().config().setAutoRead(false);
        }
    }

    /** Runs the held events from {@link #resumeAt}, head first, until one stops or none are left. */
    private void drain() {
        while (!held.isEmpty() && !closed) {
            Object ev = held.peekFirst();
            int from = resumeAt;
            resumeAt = 0;
            for (int i = from; i < reads.length; i++) {
                FilterStatus s;
                try {
                    s = ev == NEW_CONNECTION ? reads[i].onNewConnection() : reads[i].onData((ByteBuf) ev);
                } catch (RuntimeException e) {
                    logger.warn("{} network filter {} failed: {}", ctx.channel(), reads[i].getClass().getName(), e.toString());
                    ctx.close();
                    return;
                }
                if (closed || !ctx.channel().isOpen()) {
                    return; // channelInactive releases what is held
                }
                if (s == FilterStatus.STOP_ITERATION) {
                    stoppedAt = i;
                    ctx.channel().config().setAutoRead(false);
                    return;
                }
            }
            held.pollFirst();
            if (ev == NEW_CONNECTION) {
                activeFired = true;
                ctx.fireChannelActive();
            } else {
                ctx.fireChannelRead(ev);
                ctx.fireChannelReadComplete();
            }
        }
    }

    private void resume(int filter) {
        if (!ctx.executor().inEventLoop()) {
            ctx.executor().execute(() -> resume(filter));
            return;
        }
        if (stoppedAt != filter || closed) {
            return;
        }
        stoppedAt = -1;
        resumeAt = filter + 1;
        drain();
        if (stoppedAt < 0 && !closed) {
            ctx.channel().config().setAutoRead(true);
            ctx.read();
        }
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
        if (held.isEmpty()) {
            ctx.fireChannelReadComplete();
        }
    }

    @Override
    public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) throws Exception {
        if (msg instanceof ByteBuf && writes.length > 0) {
            ByteBuf data = (ByteBuf) msg;
            for (int i = writes.length - 1; i >= 0; i--) {
                if (writes[i].onWrite(data) == FilterStatus.STOP_ITERATION) {
                    ReferenceCountUtil.release(data);
                    promise.trySuccess();
                    return;
                }
            }
        }
        ctx.write(msg, promise);
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        release();
        if (activeFired) { // the terminal filter never saw a connection held from the start: nothing to end
            ctx.fireChannelInactive();
        }
    }

    @Override
    public void handlerRemoved(ChannelHandlerContext ctx) {
        release();
    }

    private void release() {
        closed = true;
        for (Object o; (o = held.pollFirst()) != null; ) {
            ReferenceCountUtil.release(o);
        }
    }
}
