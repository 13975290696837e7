package io.jmesh.proxy.network.rpc;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.jmesh.proxy.protocol.rpc.RpcCodec;
import io.jmesh.proxy.internal.LogRateLimiter;
import io.jmesh.proxy.upstream.Host;
import io.jmesh.proxy.upstream.UpstreamCluster;
import io.jmesh.proxy.upstream.pool.UpstreamConnector;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.EventLoop;
import io.netty.handler.timeout.IdleStateEvent;
import io.netty.handler.timeout.IdleStateHandler;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.collection.LongObjectHashMap;
import io.netty.util.concurrent.FastThreadLocal;

/**
 * One multiplexed upstream connection for RPC calls: at most one per (event loop, cluster, host,
 * protocol), shared by every downstream connection of that event loop. Each call gets a fresh upstream
 * request id; responses are matched back by that id (MOSN's and Envoy generic proxy's multiplexing).
 *
 * <p>Confined to its event loop: every method must be called on it. Calls sent while the connection is
 * still being opened wait in a queue and are written once it is up; if it cannot be opened they are
 * handed back with {@link Call#onConnectFailure(String)} (nothing was written, so a retry is safe). When an
 * open connection closes, each call in flight gets {@link Call#onUpstreamReset()}; later calls open a
 * new connection.
 *
 * <p>Flow control: when the connection cannot take more bytes, the downstream connections that keep
 * sending to it stop being read until it drains. The other way round is not limited: a slow caller
 * cannot slow down the shared connection, its responses wait in its own outbound buffer.
 */
final class RpcUpstreamConnection extends ChannelInboundHandlerAdapter {

    private static final Logger logger = LoggerFactory.getLogger(RpcUpstreamConnection.class);

    /**
     * An upstream connection with no call for this long is closed (Envoy's default upstream
     * {@code idle_timeout}, 1 hour); this also retires connections of clusters replaced by a new config.
     */
    static final long IDLE_TIMEOUT_MS = 3_600_000;

    /** A call the connection carries; implemented by the downstream side. */
    interface Call {
        /** The request to write, with one reference that the connection takes over when it writes it. */
        Object takeRequest();

        /** The request was handed to the connection under this upstream request id. */
        void onWritten(RpcUpstreamConnection connection, long upstreamId);

        /** The downstream connection of the call, paused while this connection cannot take more bytes. */
        Channel downstream();

        /** Whether a response is expected. */
        boolean expectsResponse();

        /** The response, with its upstream request id; the callee owns it. */
        void onResponse(Object response);

        /** The connection could not be opened; the request was not written and is still the call's. */
        void onConnectFailure(String reason);

        /** The connection closed while the call was in flight. */
        void onUpstreamReset();
    }

    private static final FastThreadLocal<Map<Key, RpcUpstreamConnection>> POOLS = new FastThreadLocal<>() {
        @Override
        protected Map<Key, RpcUpstreamConnection> initialValue() {
            return new HashMap<>();
        }
    };

    private final Key key;
    private final RpcCodec protocol;
    private final UpstreamCluster cluster;
    private final Host host;
    private final int maxFrameBytes;
    private final ArrayDeque<Call> pending = new ArrayDeque<>();
    private final LongObjectHashMap<Call> inFlight = new LongObjectHashMap<>();
    /** Downstream connections whose reading is paused until this connection is writable again. */
    private final List<Channel> paused = new ArrayList<>();
    /** Downstream connections written to during the current read batch, flushed when it ends. */
    private final List<RpcProxyHandler> downstreamsToFlush = new ArrayList<>(4);
    private Channel channel;
    private boolean active;
    /** Inside a read batch: between channelRead and channelReadComplete. */
    private boolean reading;
    private boolean closed;
    private long lastId;

    private RpcUpstreamConnection(Key key, RpcCodec protocol, UpstreamCluster cluster, Host host,
                                  int maxFrameBytes) {
        this.key = key;
        this.protocol = protocol;
        this.cluster = cluster;
        this.host = host;
        this.maxFrameBytes = maxFrameBytes;
    }

    /**
     * The connection of {@code loop} to {@code host} of {@code cluster}, opening one if there is none or
     * the previous one closed. Must be called on {@code loop}.
     */
    static RpcUpstreamConnection get(EventLoop loop, RpcCodec protocol, UpstreamCluster cluster, Host host,
                                     int maxFrameBytes) {
        assert loop.inEventLoop();
        final Map<Key, RpcUpstreamConnection> pool = POOLS.get();
        final Key key = new Key(protocol, cluster, host);
        RpcUpstreamConnection c = pool.get(key);
        if (c == null || c.closed) {
            c = new RpcUpstreamConnection(key, protocol, cluster, host, maxFrameBytes);
            pool.put(key, c);
            c.connect(loop);
        }
        return c;
    }

    /** Connections of the current event loop; for tests. */
    static int openConnections() {
        return POOLS.get().size();
    }

    private void connect(EventLoop loop) {
        final ChannelFuture f = UpstreamConnector.connect(loop, cluster, host, p -> {
            p.addLast("rpc_decoder", protocol.newDecoder(maxFrameBytes));
            p.addLast("rpc_encoder", protocol.encoder());
            p.addLast("idle", new IdleStateHandler(0, 0, IDLE_TIMEOUT_MS, TimeUnit.MILLISECONDS));
            p.addLast("rpc_upstream", this);
        });
        channel = f.channel();
        f.addListener((ChannelFuture cf) -> {
            if (cf.isSuccess()) {
                if (closed) {
                    cf.channel().close();
                    return;
                }
                active = true;
                cluster.stats().upstreamCxActive().inc();
                host.stats().incCxActive();
                cf.channel().closeFuture().addListener(x -> {
                    cluster.stats().upstreamCxActive().dec();
                    host.stats().decCxActive();
                });
                Call c;
                while ((c = pending.poll()) != null) {
                    write(c);
                }
                channel.flush();
            } else {
                cluster.stats().upstreamCxConnectFail().inc();
                host.stats().incCxConnectFail();
                final String reason = UpstreamConnector.describe(cf.cause());
                logger.debug("{} connect to {} of cluster {} failed: {}", cf.channel(), host, cluster.name(), reason);
                markClosed();
                Call c;
                while ((c = pending.poll()) != null) {
                    c.onConnectFailure(reason);
                }
            }
        });
    }

    /**
     * Sends {@code call}: writes it now, or when the connection is up. With {@code deferFlush} a write
     * is not flushed and the method returns {@code true}: the caller then owes a {@link #flush()} (at the
     * end of its read batch, so that all the calls of one batch leave in one syscall).
     */
    boolean send(Call call, boolean deferFlush) {
        if (active) {
            write(call);
            if (!deferFlush) {
                channel.flush();
            }
            if (!channel.isWritable()) {
                final Channel d = call.downstream();
                if (d.config().isAutoRead()) {
                    d.config().setAutoRead(false);
                    paused.add(d);
                }
            }
            return deferFlush;
        }
        pending.add(call);
        return false;
    }

    /** Flushes what {@link #send(Call, boolean)} wrote without flushing. */
    void flush() {
        channel.flush();
    }

    /**
     * Whether this connection is delivering responses of one read batch; {@link #flushLater} then
     * collects the downstream connections written to, flushed once when the batch ends.
     */
    boolean flushLater(RpcProxyHandler downstream) {
        if (!reading) {
            return false;
        }
        if (!downstream.flushQueued) {
            downstream.flushQueued = true;
            downstreamsToFlush.add(downstream);
        }
        return true;
    }

    /** Whether this connection can still take calls. */
    boolean isUsable() {
        return !closed;
    }

    /** Whether this is the connection to {@code host} of {@code cluster} (the same objects) for {@code protocol}. */
    boolean serves(RpcCodec protocol, UpstreamCluster cluster, Host host) {
        return key.protocol == protocol && key.cluster == cluster && key.host == host;
    }

    private void write(Call call) {
        final Object request = call.takeRequest();
        lastId = protocol.nextUpstreamId(lastId);
        final long id = lastId;
        if (call.expectsResponse()) {
            inFlight.put(id, call);
        }
        call.onWritten(this, id);
        // A failed write fires exceptionCaught, which closes the connection: the calls in flight then
        // get onUpstreamReset() from channelInactive. No promise or listener per call.
        channel.write(protocol.withRequestId(request, id), channel.voidPromise());
    }

    /**
     * Forgets {@code call} (timed out or its downstream went away), written under {@code upstreamId} or
     * still waiting for the connection (then {@code upstreamId} is ignored): a late response is dropped.
     */
    void cancel(Call call, long upstreamId) {
        if (!pending.remove(call) && inFlight.get(upstreamId) == call) {
            inFlight.remove(upstreamId);
        }
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        reading = true;
        if (!protocol.isMessage(msg)) {
            ReferenceCountUtil.release(msg);
            return;
        }
        if (protocol.isRequest(msg)) {
            // A provider's own heartbeat (Dubbo servers send them on idle channels): answer it here.
            try {
                if (protocol.isHeartbeat(msg)) {
                    final Object reply = protocol.heartbeatReply(msg, ctx.alloc());
                    if (reply != null) {
                        ctx.writeAndFlush(reply);
                    }
                }
            } finally {
                ReferenceCountUtil.release(msg);
            }
            return;
        }
        final Call call = inFlight.remove(protocol.requestId(msg));
        if (call == null) {
            // Timed out, cancelled, or a heartbeat ack: nobody waits for it.
            ReferenceCountUtil.release(msg);
            return;
        }
        call.onResponse(msg);
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
        reading = false;
        if (!downstreamsToFlush.isEmpty()) {
            for (RpcProxyHandler d : downstreamsToFlush) {
                d.flush();
            }
            downstreamsToFlush.clear();
        }
        ctx.fireChannelReadComplete();
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        reading = false;
        for (RpcProxyHandler d : downstreamsToFlush) {
            d.flush();
        }
        downstreamsToFlush.clear();
        markClosed();
        resumeDownstreams();
        cluster.stats().upstreamCxDestroy().inc();
        final List<Call> calls = new ArrayList<>(inFlight.values());
        inFlight.clear();
        if (!calls.isEmpty()) {
            logger.info("{} upstream {} of cluster {} closed with {} calls in flight", ctx.channel(), host,
                        cluster.name(), calls.size());
        }
        for (Call c : calls) {
            c.onUpstreamReset();
        }
        Call c;
        while ((c = pending.poll()) != null) {
            c.onConnectFailure("connection closed");
        }
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
        if (ctx.channel().isWritable()) {
            resumeDownstreams();
        }
        ctx.fireChannelWritabilityChanged();
    }

    private void resumeDownstreams() {
        for (Channel d : paused) {
            d.config().setAutoRead(true);
        }
        paused.clear();
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
        if (evt instanceof IdleStateEvent) {
            if (inFlight.isEmpty()) {
                logger.debug("{} closing idle upstream connection", ctx.channel());
                markClosed();
                ctx.close();
            }
            return;
        }
        ctx.fireUserEventTriggered(evt);
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        // A peer decides how often this happens: rate-limited, the rest at debug.
        long suppressed = LogRateLimiter.PER_CONNECTION.tryAcquire();
        if (suppressed >= 0) {
            logger.warn("{} upstream {} of cluster {} closing: {} ({} similar messages suppressed)", ctx.channel(),
                    host, cluster.name(), cause.toString(), suppressed);
        } else {
            logger.debug("{} upstream {} of cluster {} closing: {}", ctx.channel(), host, cluster.name(),
                    cause.toString());
        }
        ctx.close();
    }

    private void markClosed() {
        if (!closed) {
            closed = true;
            final Map<Key, RpcUpstreamConnection> pool = POOLS.get();
            if (pool.get(key) == this) {
                pool.remove(key);
            }
        }
    }

    /** Closes the connection; calls in flight get {@link Call#onUpstreamReset()}. */
    void close() {
        if (channel != null) {
            channel.close();
        }
    }

    /** Identity of the cluster and host objects: a new config snapshot gets new connections. */
    private static final class Key {
        final RpcCodec protocol;
        final UpstreamCluster cluster;
        final Host host;
        private final int hash;

        Key(RpcCodec protocol, UpstreamCluster cluster, Host host) {
            this.protocol = protocol;
            this.cluster = cluster;
            this.host = host;
            this.hash = (protocol.hashCode() * 31 + System.identityHashCode(cluster)) * 31
                        + System.identityHashCode(host);
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Key && ((Key) o).protocol == protocol && ((Key) o).cluster == cluster
                   && ((Key) o).host == host;
        }

        @Override
        public int hashCode() {
            return hash;
        }
    }
}
