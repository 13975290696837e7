package io.jmesh.proxy.filter.stats;

import java.util.List;

import com.google.protobuf.Any;

import io.jmesh.proxy.config.ConfigException;
import io.jmesh.proxy.network.FilterStatus;
import io.jmesh.proxy.network.NetworkFilter;
import io.jmesh.proxy.network.NetworkFilterFactory;
import io.jmesh.proxy.network.NetworkFilterInstaller;
import io.jmesh.proxy.network.ReadFilterCallbacks;
import io.jmesh.proxy.network.metadataexchange.PeerSlot;
import io.jmesh.proxy.network.tcp.TcpProxyHandler;
import io.jmesh.proxy.stream.ConnectionInfo;
import io.jmesh.proxy.telemetry.Counter;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;

/**
 * Istio's TCP stats network filter, {@code istio.stats} with a {@code stats.PluginConfig}, placed before
 * {@code tcp_proxy}: {@code istio_tcp_connections_opened_total}, {@code istio_tcp_connections_closed_total},
 * {@code istio_tcp_received_bytes_total} (bytes from the downstream) and {@code istio_tcp_sent_bytes_total} (bytes to
 * it), with {@code request_protocol="tcp"}. The labels are fixed once per connection, when tcp_proxy has chosen its
 * cluster (the first bytes either way, or the close) and the peer's metadata exchange has ended; the byte counters
 * then add as bytes pass. The peer's workload labels come from Istio's TCP metadata exchange
 * ({@code istio.metadata_exchange} over the ALPN {@code istio-peer-exchange}: the downstream peer's on the server
 * side, the upstream peer's, for a cluster with that filter, on the client side), else {@code unknown}. Principals and
 * {@code connection_security_policy} come from the downstream TLS connection, the destination principal on the
 * client side from the upstream one when the exchange ran.
 */
public final class IstioTcpStatsFilterFactory implements NetworkFilterFactory {

    @Override
    public String name() {
        return IstioStatsFilterFactory.NAME;
    }

    @Override
    public List<String> typeUrls() {
        return List.of(StatsPluginConfig.TYPE_URL);
    }

    @Override
    public NetworkFilterInstaller create(Any typedConfig, Context context) throws ConfigException {
        StatsPluginConfig config;
        try {
            config = StatsPluginConfig.parse(typedConfig);
        } catch (ConfigException e) {
            throw e.under("typed_config");
        }
        IstioMetrics metrics;
        try {
            metrics = new IstioMetrics(context.stats(), context.trafficDirection(), config);
        } catch (IllegalArgumentException e) {
            throw new ConfigException("typed_config.metrics: " + e.getMessage()
                    + " (expected: the same tags_to_remove as the other istio.stats filters of this proxy)");
        }
        return manager -> manager.addFilter(new TcpStats(metrics));
    }

    /** The filter of one connection; on its event loop. */
    static final class TcpStats implements NetworkFilter {
        private final IstioMetrics metrics;
        private ReadFilterCallbacks callbacks;
        private String[] labels;
        private Counter received;
        private Counter sent;
        /** Bytes that passed while the peer's metadata exchange was still going on. */
        private long pendingReceived;
        private long pendingSent;
        private boolean waiting;

        TcpStats(IstioMetrics metrics) {
            this.metrics = metrics;
        }

        @Override
        public void initializeReadFilterCallbacks(ReadFilterCallbacks callbacks) {
            this.callbacks = callbacks;
        }

        @Override
        public FilterStatus onNewConnection() {
            Channel ch = callbacks.connection();
            ch.closeFuture().addListener(f -> onClose());
            return FilterStatus.CONTINUE;
        }

        /**
         * Fixes the labels and counts the connection as opened, once: when tcp_proxy has chosen its cluster and the
         * peer's metadata exchange (if any) has ended; {@code force} (the close) does not wait for the exchange.
         */
        private void resolve(boolean force) {
            if (labels != null) {
                return;
            }
            Channel ch = callbacks.connection();
            PeerSlot slot = ch.attr(metrics.reporter.serverSide() ? PeerSlot.DOWNSTREAM : PeerSlot.UPSTREAM).get();
            if (slot != null && !slot.done() && !force) {
                if (!waiting) {
                    waiting = true;
                    slot.whenDone(() -> resolve(false));
                }
                return;
            }
            WorkloadMetadata peer = slot == null || slot.metadata() == null ? WorkloadMetadata.UNKNOWN
                    : WorkloadMetadata.from(slot.metadata());
            ConnectionInfo upstream = metrics.reporter.serverSide() || slot == null ? null : slot.connection();
            String cluster = ch.attr(TcpProxyHandler.UPSTREAM_CLUSTER).get();
            String[] v = metrics.labels();
            metrics.fill(v, peer, callbacks.connectionInfo(), upstream,
                    metrics.destinationService(cluster, null), "tcp", java.util.Set.of(), 0, "", null);
            labels = v.clone(); // one copy per connection: the per-thread array is reused by the next connection
            metrics.tcpOpened.inc(labels, 1);
            received = counter(metrics.tcpReceived);
            sent = counter(metrics.tcpSent);
            if (received != null && pendingReceived > 0) {
                received.add(pendingReceived);
            }
            if (sent != null && pendingSent > 0) {
                sent.add(pendingSent);
            }
        }

        private Counter counter(IstioMetrics.Metric m) {
            return m.counter(labels);
        }

        @Override
        public FilterStatus onData(ByteBuf data) {
            resolve(false);
            if (received != null) {
                received.add(data.readableBytes());
            } else if (labels == null) {
                pendingReceived += data.readableBytes();
            }
            return FilterStatus.CONTINUE;
        }

        @Override
        public FilterStatus onWrite(ByteBuf data) {
            resolve(false);
            if (sent != null) {
                sent.add(data.readableBytes());
            } else if (labels == null) {
                pendingSent += data.readableBytes();
            }
            return FilterStatus.CONTINUE;
        }

        private void onClose() {
            resolve(true);
            metrics.tcpClosed.inc(labels, 1);
        }
    }
}
