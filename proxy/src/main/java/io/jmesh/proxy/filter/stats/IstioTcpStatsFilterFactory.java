package io.jmesh.proxy.filter.stats;

import java.util.List;

import com.google.protobuf.Any;

import io.jmesh.proxy.config.ConfigException;
import io.jmesh.proxy.network.FilterStatus;
import io.jmesh.proxy.network.NetworkFilter;
import io.jmesh.proxy.network.NetworkFilterFactory;
import io.jmesh.proxy.network.NetworkFilterInstaller;
import io.jmesh.proxy.network.ReadFilterCallbacks;
import io.jmesh.proxy.network.tcp.TcpProxyHandler;
import io.jmesh.proxy.telemetry.Counter;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;

/**
 * Istio's TCP stats network filter, {@code istio.stats} with a {@code stats.PluginConfig}, placed before
 * {@code tcp_proxy}: {@code istio_tcp_connections_opened_total}, {@code istio_tcp_connections_closed_total},
 * {@code istio_tcp_received_bytes_total} (bytes from the downstream) and {@code istio_tcp_sent_bytes_total} (bytes to
 * it), with {@code request_protocol="tcp"}. The labels are fixed once per connection, when tcp_proxy has chosen its
 * cluster (the first bytes either way, or the close); the byte counters then add as bytes pass. The peer's workload
 * labels are {@code unknown}: the TCP metadata exchange ({@code istio-peer-exchange}) is not implemented; principals
 * and {@code connection_security_policy} come from the downstream TLS connection.
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

        /** Fixes the labels and counts the connection as opened, once. */
        private void resolve() {
            if (labels != null) {
                return;
            }
            String cluster = callbacks.connection().attr(TcpProxyHandler.UPSTREAM_CLUSTER).get();
            String[] v = metrics.labels();
            metrics.fill(v, WorkloadMetadata.UNKNOWN, callbacks.connectionInfo(), null,
                    metrics.destinationService(cluster, null), "tcp", java.util.Set.of(), 0, "", null, null);
            labels = v.clone(); // one copy per connection: the per-thread array is reused by the next connection
            metrics.tcpOpened.inc(labels, 1);
            received = counter(metrics.tcpReceived);
            sent = counter(metrics.tcpSent);
        }

        private Counter counter(IstioMetrics.Metric m) {
            return m.counter(labels);
        }

        @Override
        public FilterStatus onData(ByteBuf data) {
            resolve();
            if (received != null) {
                received.add(data.readableBytes());
            }
            return FilterStatus.CONTINUE;
        }

        @Override
        public FilterStatus onWrite(ByteBuf data) {
            resolve();
            if (sent != null) {
                sent.add(data.readableBytes());
            }
            return FilterStatus.CONTINUE;
        }

        private void onClose() {
            resolve();
            metrics.tcpClosed.inc(labels, 1);
        }
    }
}
