package io.jmesh.proxy.upstream;

import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;

import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.jmesh.proxy.config.ConfigException;
import io.jmesh.proxy.telemetry.Stats;
import io.jmesh.proxy.extension.ExtensionRegistry;
import io.jmesh.proxy.tls.SecretManager;
import io.netty.channel.EventLoopGroup;

/**
 * The set of upstream clusters of one configuration (Envoy's cluster manager for static and CDS clusters).
 * Immutable once created: a new CDS snapshot builds a new {@code ClusterManager}; the old one is
 * {@link #close() closed} when it is no longer used. Look-ups are thread-safe and lock-free.
 */
public final class ClusterManager implements AutoCloseable {

    private final Map<String, UpstreamCluster> clusters;
    private final List<DnsRefresher> refreshers;
    private final CompletableFuture<Void> ready;

    private ClusterManager(Map<String, UpstreamCluster> clusters, List<DnsRefresher> refreshers) {
        this.clusters = clusters;
        this.refreshers = refreshers;
        this.ready = CompletableFuture.allOf(clusters.values().stream().map(UpstreamCluster::ready)
                                                     .toArray(CompletableFuture[]::new));
    }

    /**
     * Builds every cluster from Envoy's {@code Cluster} protos and validates all of them first: any error is a
     * {@link ConfigException} whose message starts with the field path, e.g.
     * {@code clusters[2].load_assignment.endpoints[0].lb_endpoints[1].endpoint.address.socket_address.port_value: 0
     * (expected: 1..65535)}, and then nothing is started. {@code STRICT_DNS} and {@code LOGICAL_DNS} clusters then
     * resolve on an event loop of {@code group} (never blocking it) and re-resolve every {@code dns_refresh_rate}
     * (default 5 s) until {@link #close()}; they have no host until their first resolution, see {@link #ready()}.
     * Reads TLS files: call off the event loop.
     */
    public static ClusterManager create(List<Cluster> clusters, EventLoopGroup group, Stats stats)
            throws ConfigException {
        return create(clusters, group, stats, null);
    }

    /**
     * Builds the next cluster set after {@code previous} (CDS): a cluster whose {@code Cluster} proto is equal to
     * one of {@code previous} is carried over as the same {@link UpstreamCluster} (hosts, EDS assignment, stats,
     * connection pools and DNS refresh kept); the others are built anew as {@link #create(List, EventLoopGroup,
     * Stats)} does. {@code previous} stays usable; once the result is in use, call
     * {@link #retireReplaced(ClusterManager, EventLoopGroup)} on {@code previous}. Call off the event loop.
     */
    public static ClusterManager create(List<Cluster> clusters, EventLoopGroup group, Stats stats,
                                        ClusterManager previous) throws ConfigException {
        return create(clusters, group, stats, previous, SecretManager.none());
    }

    /**
     * As {@link #create(List, EventLoopGroup, Stats, ClusterManager)}, with TLS secrets (SDS or static secrets)
     * from {@code secrets}; see {@link UpstreamCluster#tlsReady()}.
     */
    public static ClusterManager create(List<Cluster> clusters, EventLoopGroup group, Stats stats,
                                        ClusterManager previous, SecretManager secrets) throws ConfigException {
        return create(clusters, group, stats, previous, secrets, ExtensionRegistry.loadDefault());
    }

    /**
     * As {@link #create(List, EventLoopGroup, Stats, ClusterManager, SecretManager)}, with the transport sockets of
     * {@code extensions}.
     */
    public static ClusterManager create(List<Cluster> clusters, EventLoopGroup group, Stats stats,
                                        ClusterManager previous, SecretManager secrets, ExtensionRegistry extensions)
            throws ConfigException {
        Map<String, UpstreamCluster> byName = new LinkedHashMap<>();
        for (int i = 0; i < clusters.size(); i++) {
            Cluster c = clusters.get(i);
            String path = "clusters[" + i + ']';
            if (byName.containsKey(c.getName())) {
                throw new ConfigException(path + ".name: " + c.getName() + " (expected: a unique cluster name)");
            }
            UpstreamCluster old = previous == null ? null : previous.get(c.getName());
            if (old != null && old.config().equals(c)) {
                byName.put(c.getName(), old);
                continue;
            }
            try {
                byName.put(c.getName(), UpstreamCluster.build(c, stats, secrets, extensions, group));
            } catch (ConfigException e) {
                throw e.under(path);
            }
        }
        List<DnsRefresher> refreshers = new ArrayList<>();
        List<DnsRefresher> fresh = new ArrayList<>();
        for (UpstreamCluster c : byName.values()) {
            if (c.type() == Cluster.DiscoveryType.STRICT_DNS || c.type() == Cluster.DiscoveryType.LOGICAL_DNS) {
                DnsRefresher kept = null;
                if (previous != null) {
                    for (DnsRefresher r : previous.refreshers) {
                        if (r.cluster() == c) {
                            kept = r;
                        }
                    }
                }
                if (kept == null) {
                    kept = new DnsRefresher(c, group);
                    fresh.add(kept);
                }
                refreshers.add(kept);
            }
        }
        fresh.forEach(DnsRefresher::start);
        return new ClusterManager(Collections.unmodifiableMap(byName), List.copyOf(refreshers));
    }

    /**
     * Checks an EDS {@code ClusterLoadAssignment} as {@link UpstreamCluster#updateLoadAssignment} would, without
     * applying it, so that an xDS response can be rejected whole before any of it is applied.
     */
    public static void validateLoadAssignment(io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment cla)
            throws ConfigException {
        Endpoints.parse(cla, true, "EDS");
    }

    /** The cluster named {@code name}, or null if there is none. */
    public UpstreamCluster get(String name) {
        return clusters.get(name);
    }

    /** Every cluster, in configuration order; an unmodifiable view. */
    public Collection<UpstreamCluster> clusters() {
        return clusters.values();
    }

    /** Completes when every cluster is {@link UpstreamCluster#ready() ready} (DNS clusters resolved once). */
    public CompletableFuture<Void> ready() {
        return ready;
    }

    /**
     * Once {@code next} (built from this one) serves: stops the DNS refresh of clusters {@code next} did not
     * carry over and drains their connection pools on every event loop of {@code group}. Returns the clusters
     * retired.
     */
    public List<UpstreamCluster> retireReplaced(ClusterManager next, EventLoopGroup group) {
        for (DnsRefresher r : refreshers) {
            if (!next.refreshers.contains(r)) {
                r.close();
            }
        }
        List<UpstreamCluster> gone = new ArrayList<>();
        for (UpstreamCluster c : clusters.values()) {
            if (next.get(c.name()) != c) {
                gone.add(c);
            }
        }
        gone.forEach(UpstreamCluster::close);
        if (!gone.isEmpty()) {
            for (io.netty.util.concurrent.EventExecutor loop : group) {
                loop.execute(() -> gone.forEach(io.jmesh.proxy.upstream.pool.ConnectionPools::retire));
            }
        }
        return gone;
    }

    /** Stops DNS refresh and releases the resolvers. Idempotent. Hosts already picked stay usable. */
    @Override
    public void close() {
        refreshers.forEach(DnsRefresher::close);
    }
}
