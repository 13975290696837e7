package io.jmesh.benchmarks.discovery;

import com.google.protobuf.Any;
import com.google.protobuf.InvalidProtocolBufferException;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.listener.v3.Filter;
import io.envoyproxy.envoy.config.listener.v3.FilterChain;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.route.v3.Route;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.config.route.v3.VirtualHost;
import io.envoyproxy.envoy.config.route.v3.WeightedCluster;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;

/**
 * What the simulated sidecars need from xDS responses, parsed once per (type, version) and shared
 * by every client: the EDS cluster names of a CDS response, the RDS names of an LDS response, and
 * the weight a RouteConfiguration gives to one watched cluster.
 *
 * <p>Discovery's versions are hashes of a type's content, so two responses with the same type and
 * version carry the same resources; parsing each distinct response once keeps 2,000 simulated
 * clients from needing as many CPU cores as 2,000 Envoys. Every response is still fully received
 * and deserialized by gRPC. Thread-safe.
 */
final class ResponseIndex {

    private final Map<String, List<String>> names = new ConcurrentHashMap<>();
    private final Map<String, Integer> weights = new ConcurrentHashMap<>();
    private final String watchedVirtualHost;
    private final String watchedCluster;

    /**
     * @param watchedVirtualHost the virtual host name ({@code host:port}) whose routes {@link #watchedWeight} reads
     * @param watchedCluster     the cluster whose weight it returns
     */
    ResponseIndex(String watchedVirtualHost, String watchedCluster) {
        this.watchedVirtualHost = watchedVirtualHost;
        this.watchedCluster = watchedCluster;
    }

    /** Returns the EDS service names of a CDS response, sorted. */
    List<String> edsNames(DiscoveryResponse r) {
        return names.computeIfAbsent("cds/" + r.getVersionInfo(), k -> {
            TreeSet<String> out = new TreeSet<>();
            for (Any a : r.getResourcesList()) {
                Cluster c = unpack(a, Cluster.class);
                if (c.getType() == Cluster.DiscoveryType.EDS) {
                    String n = c.getEdsClusterConfig().getServiceName();
                    out.add(n.isEmpty() ? c.getName() : n);
                }
            }
            return List.copyOf(out);
        });
    }

    /** Returns the route configuration names that the listeners of an LDS response load over RDS, sorted. */
    List<String> rdsNames(DiscoveryResponse r) {
        return names.computeIfAbsent("lds/" + r.getVersionInfo(), k -> {
            TreeSet<String> out = new TreeSet<>();
            for (Any a : r.getResourcesList()) {
                Listener l = unpack(a, Listener.class);
                List<FilterChain> chains = new ArrayList<>(l.getFilterChainsList());
                if (l.hasDefaultFilterChain()) {
                    chains.add(l.getDefaultFilterChain());
                }
                for (FilterChain fc : chains) {
                    for (Filter f : fc.getFiltersList()) {
                        if (f.hasTypedConfig() && f.getTypedConfig().is(HttpConnectionManager.class)) {
                            HttpConnectionManager hcm = unpack(f.getTypedConfig(), HttpConnectionManager.class);
                            if (hcm.hasRds()) {
                                out.add(hcm.getRds().getRouteConfigName());
                            }
                        }
                    }
                }
            }
            return List.copyOf(out);
        });
    }

    /**
     * Returns the weight that an RDS response gives the watched cluster in the first weighted route
     * of the watched virtual host, or -1 when the response has no such route.
     */
    int watchedWeight(DiscoveryResponse r) {
        return weights.computeIfAbsent(r.getVersionInfo(), k -> {
            for (Any a : r.getResourcesList()) {
                RouteConfiguration rc = unpack(a, RouteConfiguration.class);
                for (VirtualHost vh : rc.getVirtualHostsList()) {
                    if (!vh.getName().equals(watchedVirtualHost)) {
                        continue;
                    }
                    for (Route route : vh.getRoutesList()) {
                        if (route.hasRoute() && route.getRoute().hasWeightedClusters()) {
                            for (WeightedCluster.ClusterWeight cw : route.getRoute().getWeightedClusters().getClustersList()) {
                                if (cw.getName().equals(watchedCluster)) {
                                    return cw.getWeight().getValue();
                                }
                            }
                        }
                    }
                }
            }
            return -1;
        });
    }

    private static <T extends com.google.protobuf.Message> T unpack(Any a, Class<T> type) {
        try {
            return a.unpack(type);
        } catch (InvalidProtocolBufferException e) {
            throw new IllegalStateException("bad " + type.getSimpleName() + " from discovery", e);
        }
    }
}
