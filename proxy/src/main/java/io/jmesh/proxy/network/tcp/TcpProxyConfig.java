package io.jmesh.proxy.network.tcp;

import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.Supplier;

import com.google.protobuf.util.Durations;

import io.envoyproxy.envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy;
import io.jmesh.proxy.config.ConfigException;
import io.jmesh.proxy.extension.ExtensionContext;
import io.jmesh.proxy.extension.ExtensionRegistry;
import io.jmesh.proxy.extension.ServerLifecycle;
import io.jmesh.proxy.telemetry.Counter;
import io.jmesh.proxy.telemetry.Gauge;
import io.jmesh.proxy.telemetry.Stats;
import io.jmesh.proxy.telemetry.accesslog.AccessLog;
import io.jmesh.proxy.telemetry.accesslog.AccessLogs;
import io.jmesh.proxy.upstream.ClusterManager;

/**
 * The validated form of Envoy's {@link TcpProxy}: {@code cluster} or {@code weighted_clusters},
 * {@code stat_prefix}, {@code idle_timeout} (default 1 hour; 0 disables) and {@code access_log}.
 */
public final class TcpProxyConfig {

    static final long DEFAULT_IDLE_TIMEOUT_MS = 3_600_000;

    final String statPrefix;
    final String cluster;
    final String[] weightedNames;
    final int[] cumulativeWeights;
    final long idleTimeoutMs;
    final AccessLog accessLog;
    final Supplier<ClusterManager> clusters;
    final Counter cxTotal;
    final Gauge cxActive;
    final Counter noRoute;
    final Counter rxBytes;
    final Counter txBytes;
    private final Stats stats;
    /** This node's metadata exchange header, made on first use. */
    private volatile byte[] metadataExchangeFrame;

    private TcpProxyConfig(TcpProxy p, String[] names, int[] weights, AccessLog log, Supplier<ClusterManager> clusters,
                           Stats stats) {
        this.statPrefix = p.getStatPrefix();
        this.cluster = p.getCluster();
        this.weightedNames = names;
        this.cumulativeWeights = weights;
        this.idleTimeoutMs = p.hasIdleTimeout() ? Durations.toMillis(p.getIdleTimeout()) : DEFAULT_IDLE_TIMEOUT_MS;
        this.accessLog = log;
        this.clusters = clusters;
        String prefix = "tcp." + statPrefix + ".";
        cxTotal = stats.counter(prefix + "downstream_cx_total");
        cxActive = stats.gauge(prefix + "downstream_cx_active");
        noRoute = stats.counter(prefix + "downstream_cx_no_route");
        rxBytes = stats.counter(prefix + "downstream_cx_rx_bytes_total");
        txBytes = stats.counter(prefix + "downstream_cx_tx_bytes_total");
        this.stats = stats;
    }

    /** This node's metadata exchange header (node metadata and id), for clusters with {@code istio.metadata_exchange}. */
    byte[] metadataExchangeFrame() {
        byte[] f = metadataExchangeFrame;
        if (f == null) {
            f = io.jmesh.proxy.network.metadataexchange.MetadataExchange.frame(stats.nodeMetadata(), stats.nodeId());
            metadataExchangeFrame = f;
        }
        return f;
    }

    public static TcpProxyConfig create(TcpProxy p, Supplier<ClusterManager> clusters, Stats stats, String path)
            throws ConfigException {
        return create(p, ExtensionContext.of(clusters, stats, null, ServerLifecycle.NONE),
                ExtensionRegistry.loadDefault(), path);
    }

    /** As above, with the access loggers of {@code registry}, whose factories get {@code context}. */
    public static TcpProxyConfig create(TcpProxy p, ExtensionContext context, ExtensionRegistry registry, String path)
            throws ConfigException {
        Supplier<ClusterManager> clusters = context.clusterManager();
        Stats stats = context.stats();
        if (p.getStatPrefix().isEmpty()) {
            throw new ConfigException(path + ".stat_prefix: \"\" (expected: a non-empty prefix)");
        }
        String[] names = null;
        int[] weights = null;
        if (p.hasWeightedClusters()) {
            List<TcpProxy.WeightedCluster.ClusterWeight> list = p.getWeightedClusters().getClustersList();
            if (list.isEmpty()) {
                throw new ConfigException(path + ".weighted_clusters.clusters: [] (expected: at least one cluster)");
            }
            names = new String[list.size()];
            weights = new int[list.size()];
            int total = 0;
            for (int i = 0; i < list.size(); i++) {
                names[i] = list.get(i).getName();
                total += list.get(i).getWeight();
                weights[i] = total;
            }
            if (total <= 0) {
                throw new ConfigException(path + ".weighted_clusters: total weight 0 (expected: > 0)");
            }
        } else if (p.getCluster().isEmpty()) {
            throw new ConfigException(path + ".cluster: \"\" (expected: a cluster or weighted_clusters)");
        }
        AccessLog log;
        try {
            log = AccessLogs.create(p.getAccessLogList(), registry, context);
        } catch (ConfigException e) {
            throw e.under(path); // the message starts with access_log[i]
        }
        return new TcpProxyConfig(p, names, weights, log, clusters, stats);
    }

    /** The cluster for a new connection: the single cluster, or a weighted pick. */
    String pickCluster() {
        if (weightedNames == null) {
            return cluster;
        }
        int r = ThreadLocalRandom.current().nextInt(cumulativeWeights[cumulativeWeights.length - 1]);
        for (int i = 0; i < cumulativeWeights.length; i++) {
            if (r < cumulativeWeights[i]) {
                return weightedNames[i];
            }
        }
        return weightedNames[weightedNames.length - 1];
    }
}
