package io.jmesh.proxy.upstream;

import java.util.HashMap;
import java.util.List;
import java.util.Map;

import com.google.protobuf.UInt32Value;

import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.core.v3.Address;
import io.envoyproxy.envoy.config.core.v3.HealthStatus;
import io.envoyproxy.envoy.config.core.v3.SocketAddress;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.endpoint.v3.Endpoint;
import io.envoyproxy.envoy.config.endpoint.v3.LbEndpoint;
import io.envoyproxy.envoy.config.endpoint.v3.LocalityLbEndpoints;
import io.jmesh.proxy.config.ConfigException;
import io.jmesh.proxy.telemetry.Stats;

/** Builders of Cluster protos for tests. */
final class TestClusters {

    private TestClusters() {
    }

    static LbEndpoint endpoint(String address, int port, int weight, HealthStatus health) {
        LbEndpoint.Builder b = LbEndpoint.newBuilder().setEndpoint(Endpoint.newBuilder().setAddress(
                Address.newBuilder().setSocketAddress(SocketAddress.newBuilder().setAddress(address)
                                                                   .setPortValue(port)))).setHealthStatus(health);
        if (weight > 0) {
            b.setLoadBalancingWeight(UInt32Value.of(weight));
        }
        return b.build();
    }

    static LbEndpoint endpoint(String address, int port) {
        return endpoint(address, port, 0, HealthStatus.UNKNOWN);
    }

    /** One locality at priority 0 with hosts 10.0.0.<i+1>:80 and the given weights (0 = unset). */
    static ClusterLoadAssignment assignment(String name, int... weights) {
        LocalityLbEndpoints.Builder l = LocalityLbEndpoints.newBuilder();
        for (int i = 0; i < weights.length; i++) {
            l.addLbEndpoints(endpoint("10.0.0." + (i + 1), 80, weights[i], HealthStatus.HEALTHY));
        }
        return ClusterLoadAssignment.newBuilder().setClusterName(name).addEndpoints(l).build();
    }

    static Cluster.Builder staticCluster(String name, Cluster.LbPolicy policy, int... weights) {
        return Cluster.newBuilder().setName(name).setType(Cluster.DiscoveryType.STATIC).setLbPolicy(policy)
                      .setLoadAssignment(assignment(name, weights));
    }

    static UpstreamCluster build(Cluster c) throws ConfigException {
        return UpstreamCluster.build(c, new Stats());
    }

    /** Picks {@code n} times with no hash and counts picks per address. */
    static Map<String, Integer> pick(UpstreamCluster c, int n) {
        Map<String, Integer> counts = new HashMap<>();
        for (int i = 0; i < n; i++) {
            Host h = c.chooseHost(LoadBalancerContext.NONE);
            counts.merge(h == null ? "null" : h.addressString(), 1, Integer::sum);
        }
        return counts;
    }

    static LoadBalancerContext hash(long h) {
        return () -> java.util.OptionalLong.of(h);
    }

    static List<Host> hosts(UpstreamCluster c) {
        return c.hosts();
    }
}
