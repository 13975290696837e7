package io.jmesh.proxy.listener;

import java.util.List;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.jmesh.proxy.network.FilterStatus;
import io.jmesh.proxy.stream.ConnectionInfo;
import io.jmesh.proxy.telemetry.Counter;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.util.ReferenceCountUtil;

/**
 * Runs the listener filters of one accepted connection, then hands it to its filter chain. The first handler
 * of the pipeline: it holds back {@code channelActive} and the bytes read so far (peeked by the filters, not
 * consumed) while the filters run, then calls {@code select} (which chooses the filter chain from the
 * {@link ConnectionInfo} and adds its handlers after this one), fires {@code channelActive} and the held bytes
 * to them, and removes itself.
 *
 * <p>{@code listener_filters_timeout} (Envoy's default 15 s; 0 = none) bounds the whole run: on expiry the
 * connection is closed, or with {@code continue_on_listener_filters_timeout} handed to a filter chain chosen with
 * what the filters found so far. Not thread-safe: the connection's event loop only.
 */
final class ListenerFilterChain extends ChannelInboundHandlerAdapter implements ListenerFilterCallbacks {

    private static final Logger logger = LoggerFactory.getLogger(ListenerFilterChain.class);

    static final String NAME = "listener-filters";

    /** The most bytes held while the filters run (a filter's own limit is usually far lower). */
    static final int MAX_HELD_BYTES = 128 * 1024;

    private final ListenerFilter[] filters;
    private final long timeoutMillis;
    private final boolean continueOnTimeout;
    private final Consumer<ChannelHandlerContext> select;
    private final Counter timeouts;
    private ChannelHandlerContext ctx;
    private ConnectionInfo info;
    private ByteBuf peeked;
    private ScheduledFuture<?> timer;
    private int index;
    private boolean accepted; // filters[index].onAccept ran and asked for more
    private boolean waitingForContinue;
    private boolean done;

    ListenerFilterChain(List<ListenerFilter> filters, long timeoutMillis, boolean continueOnTimeout,
                        Consumer<ChannelHandlerContext> select, Counter timeouts) {
        this.filters = filters.toArray(new ListenerFilter[0]);
        this.timeoutMillis = timeoutMillis;
        this.continueOnTimeout = continueOnTimeout;
        this.select = select;
        this.timeouts = timeouts;
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        this.ctx = ctx;
        this.info = ConnectionInfo.of(ctx.channel());
        this.peeked = ctx.alloc().buffer(256);
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) {
        if (timeoutMillis > 0) {
            timer = ctx.executor().schedule(this::onTimeout, timeoutMillis, TimeUnit.MILLISECONDS);
        }
        run();
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (done || !(msg instanceof ByteBuf)) {
            ReferenceCountUtil.release(msg);
            return;
        }
        ByteBuf in = (ByteBuf) msg;
        try {
            peeked.writeBytes(in);
        } finally {
            in.release();
        }
        if (peeked.readableBytes() > MAX_HELD_BYTES) {
            logger.debug("{} more than {} bytes before a filter chain was chosen; closing", ctx.channel(),
                    MAX_HELD_BYTES);
            fail();
            return;
        }
        if (accepted && !waitingForContinue) {
            run();
        }
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
        // Held back with the bytes; the filter chain gets one with them.
    }

    /** Runs filters from {@link #index} until one waits or all are done. */
    private void run() {
        while (!done && index < filters.length) {
            ListenerFilter f = filters[index];
            FilterStatus s;
            try {
                if (!accepted) {
                    accepted = true;
                    s = f.onAccept(this);
                    if (s == FilterStatus.STOP_ITERATION && f.maxReadBytes() <= 0) {
                        waitingForContinue = true;
                        return;
                    }
                    if (s == FilterStatus.STOP_ITERATION && peeked.isReadable()) {
                        s = f.onData(this, peeked);
                    }
                } else {
                    s = f.onData(this, peeked);
                }
            } catch (RuntimeException e) {
                logger.warn("{} listener filter {} failed: {}", ctx.channel(), f.getClass().getName(), e.toString());
                fail();
                return;
            }
            if (!ctx.channel().isOpen()) {
                fail();
                return;
            }
            if (s == FilterStatus.STOP_ITERATION) {
                if (peeked.readableBytes() >= f.maxReadBytes()) {
                    logger.debug("{} listener filter {} still undecided after {} bytes; closing", ctx.channel(),
                            f.getClass().getName(), peeked.readableBytes());
                    fail();
                }
                return;
            }
            index++;
            accepted = false;
        }
        if (!done) {
            finish();
        }
    }

    private void onTimeout() {
        if (done) {
            return;
        }
        timeouts.inc();
        if (continueOnTimeout) {
            logger.debug("{} listener filters timed out; choosing a filter chain with what is known", ctx.channel());
            finish();
        } else {
            logger.debug("{} listener filters timed out; closing", ctx.channel());
            fail();
        }
    }

    private void finish() {
        done = true;
        if (timer != null) {
            timer.cancel(false);
        }
        select.accept(ctx);
        ByteBuf held = peeked;
        peeked = null;
        ctx.pipeline().remove(this);
        if (!ctx.channel().isOpen()) {
            held.release();
            return;
        }
        ctx.fireChannelActive();
        if (held.isReadable()) {
            ctx.fireChannelRead(held);
            ctx.fireChannelReadComplete();
        } else {
            held.release();
        }
    }

    private void fail() {
        done = true;
        if (timer != null) {
            timer.cancel(false);
        }
        ctx.close();
    }

    @Override
    public void handlerRemoved(ChannelHandlerContext ctx) {
        if (peeked != null) {
            peeked.release();
            peeked = null;
        }
        if (timer != null) {
            timer.cancel(false);
        }
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        done = true;
        handlerRemoved(ctx);
        // No filter chain was installed: nothing after this handler saw the connection become active.
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        logger.debug("{} error before a filter chain was chosen: {}", ctx.channel(), cause.toString());
        ctx.close();
    }

    // ListenerFilterCallbacks

    @Override
    public Channel channel() {
        return ctx.channel();
    }

    @Override
    public ConnectionInfo connectionInfo() {
        return info;
    }

    @Override
    public void consume(int bytes) {
        peeked.skipBytes(bytes);
    }

    @Override
    public void continueFilterChain() {
        if (!ctx.executor().inEventLoop()) {
            ctx.executor().execute(this::continueFilterChain);
            return;
        }
        if (!waitingForContinue || done) {
            return;
        }
        waitingForContinue = false;
        index++;
        accepted = false;
        run();
    }
}
