package io.jmesh.proxy.network.tcp;

import java.util.EnumSet;
import java.util.concurrent.TimeUnit;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.jmesh.proxy.network.TcpRelay;
import io.jmesh.proxy.network.metadataexchange.MetadataExchangeHandler;
import io.jmesh.proxy.network.metadataexchange.PeerSlot;
import io.jmesh.proxy.stream.ConnectionInfo;
import io.jmesh.proxy.stream.StreamInfo;
import io.jmesh.proxy.stream.ResponseFlag;
import io.jmesh.proxy.upstream.ClusterManager;
import io.jmesh.proxy.upstream.Host;
import io.jmesh.proxy.upstream.LoadBalancerContext;
import io.jmesh.proxy.upstream.UpstreamCluster;
import io.jmesh.proxy.upstream.UpstreamRequest;
import io.jmesh.proxy.upstream.pool.UpstreamConnector;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.timeout.IdleStateEvent;
import io.netty.handler.timeout.IdleStateHandler;

/**
 * {@code envoy.filters.network.tcp_proxy}: on accept, picks a cluster and a host, connects from the same
 * event loop (the client's bytes wait, unread, until then), and relays bytes both ways with back-pressure.
 * Closes both sides on either side's close, a connect failure, or {@code idle_timeout}.
 *
 * <p>The upstream side is one {@link UpstreamRequest} per downstream connection, as in Envoy's TCP pool: the host
 * pick (re-picking around ejected hosts), a {@code max_requests} slot held while the connection is proxied
 * (overflow closes the connection with flag {@code UO}), {@code upstream_rq_total}/{@code upstream_rq_active},
 * and outlier detection: a connect failure is a local-origin failure, an opened connection a local-origin success.
 */
public final class TcpProxyHandler extends ChannelInboundHandlerAdapter {

    private static final Logger logger = LoggerFactory.getLogger(TcpProxyHandler.class);

    /**
     * The cluster the connection is proxied to, set on the downstream channel once chosen: network filters before
     * tcp_proxy (Istio's TCP stats) read it.
     */
    public static final io.netty.util.AttributeKey<String> UPSTREAM_CLUSTER =
            io.netty.util.AttributeKey.valueOf("jmesh.tcp_proxy.upstream_cluster");

    private final TcpProxyConfig config;
    private final long startMillis = System.currentTimeMillis();
    private final long startNanos = System.nanoTime();
    private final EnumSet<ResponseFlag> flags = EnumSet.noneOf(ResponseFlag.class);
    private Channel downstream;
    private Channel upstream;
    private UpstreamCluster cluster;
    private Host host;
    /** The upstream side's bookkeeping: host, {@code max_requests} slot, outlier report; ends when we close. */
    private UpstreamRequest upstreamRequest;
    private long rx;
    private long tx;
    private boolean logged;
    /** Bytes read before the upstream connected (handed over by listener or network filters); then null. */
    private java.util.ArrayDeque<Object> early = new java.util.ArrayDeque<>(1);

    public TcpProxyHandler(TcpProxyConfig config) {
        this.config = config;
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) {
        downstream = ctx.channel();
        downstream.config().setAutoRead(false);
        config.cxTotal.inc();
        config.cxActive.inc();
        ClusterManager cm = config.clusters.get();
        cluster = cm == null ? null : cm.get(config.pickCluster());
        if (cluster == null) {
            config.noRoute.inc();
            flags.add(ResponseFlag.NO_CLUSTER_FOUND);
            ctx.close();
            return;
        }
        // The destination is where an ORIGINAL_DST cluster (PassthroughCluster) connects.
        final UpstreamRequest r = UpstreamRequest.start(cluster,
                LoadBalancerContext.ofDestination(ConnectionInfo.of(downstream).destinationAddress()));
        if (!r.started()) { // UH, or UO when max_requests is full (Envoy's TCP pool takes a request slot too)
            flags.add(r.failure().responseFlag());
            ctx.close();
            return;
        }
        upstreamRequest = r;
        downstream.attr(UPSTREAM_CLUSTER).set(cluster.name());
        host = r.host();
        String mx = cluster.metadataExchangeProtocol();
        PeerSlot peer = mx == null ? null : new PeerSlot();
        if (peer != null) {
            downstream.attr(PeerSlot.UPSTREAM).set(peer);
        }
        ConnectionInfo downstreamInfo = ConnectionInfo.of(downstream);
        ChannelFuture f = UpstreamConnector.connect(downstream.eventLoop(), cluster, host, p -> {
            if (peer != null) {
                // Istio's upstream istio.metadata_exchange: our node metadata first, the server's read off.
                p.addLast(MetadataExchangeHandler.NAME, new MetadataExchangeHandler(mx, config.metadataExchangeFrame(),
                        peer));
            }
            if (config.idleTimeoutMs > 0) {
                p.addLast("idle", new IdleStateHandler(0, 0, config.idleTimeoutMs, TimeUnit.MILLISECONDS));
                p.addLast("idle-close", new IdleCloser());
            }
        }, downstreamInfo.upstreamSource(), downstreamInfo.upstreamMark()); // original_src, if any
        upstream = f.channel();
        f.addListener(done -> {
            if (!done.isSuccess()) {
                flags.add(ResponseFlag.UPSTREAM_CONNECTION_FAILURE);
                cluster.stats().upstreamCxConnectFail().inc();
                host.stats().incCxConnectFail();
                r.onConnectFailure();
                logger.debug("{} tcp_proxy connect to {} failed: {}", downstream, host.addressString(), done.cause().toString());
                downstream.close();
                return;
            }
            r.onConnected();
            cluster.stats().upstreamCxActive().inc();
            host.stats().incCxActive();
            upstream.closeFuture().addListener(c -> {
                cluster.stats().upstreamCxActive().dec();
                host.stats().decCxActive();
            });
            if (!downstream.isActive()) {
                upstream.close();
                return;
            }
            TcpRelay.Listener counter = new TcpRelay.Listener() {
                @Override
                public void onBytes(boolean fromDownstream, int bytes) {
                    if (fromDownstream) {
                        rx += bytes;
                        config.rxBytes.add(bytes);
                    } else {
                        tx += bytes;
                        config.txBytes.add(bytes);
                    }
                }
            };
            downstream.pipeline().addLast("relay", new TcpRelay(upstream, true, counter));
            upstream.pipeline().addLast("relay", new TcpRelay(downstream, false, counter));
            java.util.ArrayDeque<Object> held = early;
            early = null;
            if (!held.isEmpty()) {
                ChannelHandlerContext self = downstream.pipeline().context(this);
                for (Object m; (m = held.pollFirst()) != null; ) {
                    self.fireChannelRead(m);
                }
                self.fireChannelReadComplete();
            }
            downstream.config().setAutoRead(true);
        });
        if (config.idleTimeoutMs > 0) {
            downstream.pipeline().addBefore(ctx.name(), "idle",
                    new IdleStateHandler(0, 0, config.idleTimeoutMs, TimeUnit.MILLISECONDS));
        }
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (early != null) {
            early.add(msg); // the relay is not there yet
            return;
        }
        ctx.fireChannelRead(msg);
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
        if (evt instanceof IdleStateEvent) {
            flags.add(ResponseFlag.STREAM_IDLE_TIMEOUT);
            ctx.close();
            if (upstream != null) {
                upstream.close();
            }
            return;
        }
        ctx.fireUserEventTriggered(evt);
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        if (early != null) {
            for (Object m; (m = early.pollFirst()) != null; ) {
                io.netty.util.ReferenceCountUtil.release(m);
            }
        }
        config.cxActive.dec();
        if (upstreamRequest != null) {
            upstreamRequest.end();
        }
        if (upstream != null && upstream.isActive()) {
            upstream.close();
        }
        log();
        ctx.fireChannelInactive();
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        logger.debug("{} tcp_proxy error: {}", ctx.channel(), cause.toString());
        ctx.close();
    }

    private void log() {
        if (logged) {
            return;
        }
        logged = true;
        ConnectionInfo info = ConnectionInfo.of(downstream);
        StreamInfo e = new StreamInfo()
                .startTimeMillis(startMillis)
                .startNanos(startNanos)
                .bytesReceived(rx)
                .bytesSent(tx)
                .upstreamHost(host == null ? null : host.addressString())
                .upstreamCluster(cluster == null ? null : cluster.name())
                .downstreamConnection(info)
                .downstreamRemoteAddress(info.remoteAddress())
                .downstreamLocalAddress(info.destinationAddress())
                .connectionTerminationDetails(info.terminationDetails())
                .finish(System.nanoTime());
        flags.forEach(e::addResponseFlag);
        config.accessLog.log(e);
    }

    /** Closes an upstream connection that saw no traffic for {@code idle_timeout}. */
    private static final class IdleCloser extends ChannelInboundHandlerAdapter {
        @Override
        public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
            if (evt instanceof IdleStateEvent) {
                ctx.close();
                return;
            }
            ctx.fireUserEventTriggered(evt);
        }
    }
}
