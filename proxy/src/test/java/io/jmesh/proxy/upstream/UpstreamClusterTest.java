package io.jmesh.proxy.upstream;

import static io.jmesh.proxy.upstream.TestClusters.build;
import static io.jmesh.proxy.upstream.TestClusters.endpoint;
import static io.jmesh.proxy.upstream.TestClusters.pick;
import static io.jmesh.proxy.upstream.TestClusters.staticCluster;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;

import com.google.protobuf.Any;
import com.google.protobuf.Duration;
import com.google.protobuf.UInt32Value;
import com.google.protobuf.UInt64Value;

import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.core.v3.HealthStatus;
import io.envoyproxy.envoy.config.core.v3.Http2ProtocolOptions;
import io.envoyproxy.envoy.config.core.v3.Locality;
import io.envoyproxy.envoy.config.core.v3.TransportSocket;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.endpoint.v3.LocalityLbEndpoints;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext;
import io.envoyproxy.envoy.extensions.upstreams.http.v3.HttpProtocolOptions;
import io.jmesh.proxy.config.ConfigException;
import io.jmesh.proxy.telemetry.Stats;

class UpstreamClusterTest {

    private static ClusterLoadAssignment priorities(HealthStatus p0a, HealthStatus p0b) {
        return ClusterLoadAssignment.newBuilder().setClusterName("c")
                .addEndpoints(LocalityLbEndpoints.newBuilder().setPriority(0)
                                      .addLbEndpoints(endpoint("10.0.0.1", 80, 0, p0a))
                                      .addLbEndpoints(endpoint("10.0.0.2", 80, 0, p0b)))
                .addEndpoints(LocalityLbEndpoints.newBuilder().setPriority(1)
                                      .addLbEndpoints(endpoint("10.0.1.1", 80, 0, HealthStatus.HEALTHY))
                                      .addLbEndpoints(endpoint("10.0.1.2", 80, 0, HealthStatus.HEALTHY)))
                .build();
    }

    private static int countPrefix(Map<String, Integer> counts, String prefix) {
        return counts.entrySet().stream().filter(e -> e.getKey().startsWith(prefix)).mapToInt(Map.Entry::getValue)
                     .sum();
    }

    @Test
    void healthyPriorityZeroTakesAllTraffic() throws Exception {
        UpstreamCluster c = build(Cluster.newBuilder().setName("c").setLoadAssignment(
                priorities(HealthStatus.HEALTHY, HealthStatus.UNKNOWN)).build());
        Map<String, Integer> counts = pick(c, 1000);
        assertEquals(1000, countPrefix(counts, "10.0.0."));
        assertEquals(4, c.hosts().size());
    }

    @Test
    void failsOverToPriorityOneWhenPriorityZeroIsUnhealthy() throws Exception {
        UpstreamCluster c = build(Cluster.newBuilder().setName("c").setLoadAssignment(
                priorities(HealthStatus.UNHEALTHY, HealthStatus.DRAINING)).build());
        Map<String, Integer> counts = pick(c, 1000);
        assertEquals(1000, countPrefix(counts, "10.0.1."));
    }

    @Test
    void partiallyHealthyPrioritySpillsOverWithOverprovisioningFactor() throws Exception {
        UpstreamCluster c = build(Cluster.newBuilder().setName("c").setLoadAssignment(
                priorities(HealthStatus.HEALTHY, HealthStatus.UNHEALTHY)).build());
        Map<String, Integer> counts = pick(c, 20000);
        // P0 health = min(100, 1.4 * 1/2) = 70%: P0 takes 70% of the traffic, P1 the remaining 30%.
        int p0 = countPrefix(counts, "10.0.0.1");
        assertTrue(Math.abs(p0 - 14000) < 500, "P0 picks " + p0);
        assertEquals(0, countPrefix(counts, "10.0.0.2"));
    }

    @Test
    void noHealthyHostReturnsNullAndCounts() throws Exception {
        Stats stats = new Stats();
        UpstreamCluster c = UpstreamCluster.build(Cluster.newBuilder().setName("c").setLoadAssignment(
                ClusterLoadAssignment.newBuilder().addEndpoints(LocalityLbEndpoints.newBuilder().addLbEndpoints(
                        endpoint("10.0.0.1", 80, 0, HealthStatus.UNHEALTHY)))).build(), stats);
        assertNull(c.chooseHost(LoadBalancerContext.NONE));
        assertNull(c.chooseHost(null));
        assertEquals(2, stats.counterValues().get("cluster.c.upstream_cx_none_healthy"));
        assertEquals(1, stats.gaugeValues().get("cluster.c.membership_total"));
        assertEquals(0, stats.gaugeValues().get("cluster.c.membership_healthy"));
        assertFalse(c.hosts().get(0).healthy());
    }

    private static ClusterLoadAssignment twoLocalities() {
        return ClusterLoadAssignment.newBuilder()
                .addEndpoints(LocalityLbEndpoints.newBuilder().setLocality(Locality.newBuilder().setZone("a"))
                                      .setLoadBalancingWeight(UInt32Value.of(1))
                                      .addLbEndpoints(endpoint("10.0.0.1", 80)))
                .addEndpoints(LocalityLbEndpoints.newBuilder().setLocality(Locality.newBuilder().setZone("b"))
                                      .setLoadBalancingWeight(UInt32Value.of(3))
                                      .addLbEndpoints(endpoint("10.0.0.2", 80))
                                      .addLbEndpoints(endpoint("10.0.0.3", 80)))
                .build();
    }

    @Test
    void localityWeightsApplyOnlyWithLocalityWeightedLbConfig() throws Exception {
        UpstreamCluster plain = build(Cluster.newBuilder().setName("c").setLoadAssignment(twoLocalities()).build());
        assertEquals(Map.of("10.0.0.1:80", 100, "10.0.0.2:80", 100, "10.0.0.3:80", 100), pick(plain, 300));

        UpstreamCluster weighted = build(Cluster.newBuilder().setName("c").setLoadAssignment(twoLocalities())
                .setCommonLbConfig(Cluster.CommonLbConfig.newBuilder().setLocalityWeightedLbConfig(
                        Cluster.CommonLbConfig.LocalityWeightedLbConfig.getDefaultInstance())).build());
        // Zone a: 1/4 of the traffic; zone b: 3/4 split over its two hosts.
        assertEquals(Map.of("10.0.0.1:80", 200, "10.0.0.2:80", 300, "10.0.0.3:80", 300), pick(weighted, 800));
        assertEquals("/a/", weighted.hosts().get(0).locality());
    }

    @Test
    void settingsFromTheProto() throws Exception {
        UpstreamCluster defaults = build(staticCluster("c", Cluster.LbPolicy.ROUND_ROBIN, 0).build());
        assertEquals("c", defaults.name());
        assertEquals(5000, defaults.connectTimeoutMillis());
        assertFalse(defaults.http2());
        assertEquals(Integer.MAX_VALUE, defaults.maxConcurrentStreams());
        assertNull(defaults.sslContext());
        assertNull(defaults.sni());
        assertEquals(Cluster.DiscoveryType.STATIC, defaults.type());

        HttpProtocolOptions h2 = HttpProtocolOptions.newBuilder().setExplicitHttpConfig(
                HttpProtocolOptions.ExplicitHttpConfig.newBuilder().setHttp2ProtocolOptions(
                        Http2ProtocolOptions.newBuilder().setMaxConcurrentStreams(UInt32Value.of(100)))).build();
        UpstreamCluster c = build(staticCluster("c", Cluster.LbPolicy.ROUND_ROBIN, 0)
                .setConnectTimeout(Duration.newBuilder().setNanos(250_000_000))
                .putTypedExtensionProtocolOptions(UpstreamCluster.HTTP_PROTOCOL_OPTIONS, Any.pack(h2))
                .setTransportSocket(TransportSocket.newBuilder().setName("envoy.transport_sockets.tls")
                                            .setTypedConfig(Any.pack(UpstreamTlsContext.newBuilder()
                                                                             .setSni("backend.example").build())))
                .build());
        assertEquals(250, c.connectTimeoutMillis());
        assertTrue(c.http2());
        assertEquals(100, c.maxConcurrentStreams());
        assertNotNull(c.sslContext());
        assertTrue(c.sslContext().isClient());
        assertEquals(List.of("h2"), c.sslContext().applicationProtocolNegotiator().protocols());
        assertEquals("backend.example", c.sni());

        @SuppressWarnings("deprecation")
        UpstreamCluster legacy = build(staticCluster("c", Cluster.LbPolicy.ROUND_ROBIN, 0)
                                               .setHttp2ProtocolOptions(Http2ProtocolOptions.getDefaultInstance()).build());
        assertTrue(legacy.http2());
    }

    @Test
    void statsUseEnvoyNamesAndAltStatName() throws Exception {
        Stats stats = new Stats();
        UpstreamCluster c = UpstreamCluster.build(staticCluster("outbound|80||a.default.svc.cluster.local",
                                                                Cluster.LbPolicy.ROUND_ROBIN, 0, 0)
                                                          .setAltStatName("a_default").build(), stats);
        c.stats().recordResponseCode(503);
        c.stats().recordResponseCode(503);
        c.stats().recordResponseCode(200);
        c.stats().upstreamRqTotal().inc();
        assertEquals(2, stats.counterValues().get("cluster.a_default.upstream_rq_503"));
        assertEquals(2, stats.counterValues().get("cluster.a_default.upstream_rq_5xx"));
        assertEquals(1, stats.counterValues().get("cluster.a_default.upstream_rq_200"));
        assertEquals(1, stats.counterValues().get("cluster.a_default.upstream_rq_2xx"));
        assertEquals(1, stats.counterValues().get("cluster.a_default.upstream_rq_total"));
        assertEquals(2, stats.gaugeValues().get("cluster.a_default.membership_healthy"));
        assertEquals("cluster.a_default.upstream_cx_none_healthy", c.stats().upstreamCxNoneHealthy().name());
    }

    @Test
    void edsClusterStartsEmptyAndSwapsLoadAssignments() throws Exception {
        Stats stats = new Stats();
        UpstreamCluster c = UpstreamCluster.build(Cluster.newBuilder().setName("eds").setType(Cluster.DiscoveryType.EDS)
                                                          .setEdsClusterConfig(Cluster.EdsClusterConfig.getDefaultInstance())
                                                          .build(), stats);
        assertTrue(c.ready().isDone());
        assertNull(c.chooseHost(LoadBalancerContext.NONE));
        c.updateLoadAssignment(TestClusters.assignment("eds", 0, 0));
        assertEquals(2, c.hosts().size());
        Host first = c.hosts().get(0);
        first.stats().incRqTotal();
        first.requestStarted();
        c.updateLoadAssignment(TestClusters.assignment("eds", 5, 1, 1));
        assertEquals(3, c.hosts().size());
        Host again = c.hosts().get(0);
        assertNotSame(first, again);
        assertEquals(5, again.weight());
        assertSame(first.stats(), again.stats(), "a host with the same address keeps its stats");
        assertEquals(1, again.activeRequests());
        assertEquals(3, stats.gaugeValues().get("cluster.eds.membership_total"));

        ClusterLoadAssignment bad = ClusterLoadAssignment.newBuilder().addEndpoints(
                LocalityLbEndpoints.newBuilder().addLbEndpoints(endpoint("10.0.0.9", 0))).build();
        ConfigException e = assertThrows(ConfigException.class, () -> c.updateLoadAssignment(bad));
        assertEquals("endpoints[0].lb_endpoints[0].endpoint.address.socket_address.port_value: 0 (expected: 1..65535)",
                     e.getMessage());
        assertEquals(3, c.hosts().size(), "a rejected update keeps the previous hosts");

        UpstreamCluster s = build(staticCluster("s", Cluster.LbPolicy.ROUND_ROBIN, 0).build());
        assertThrows(IllegalStateException.class, () -> s.updateLoadAssignment(TestClusters.assignment("s", 0)));
    }

    @Test
    void originalDstClusterPicksTheDownstreamDestination() throws Exception {
        UpstreamCluster c = build(Cluster.newBuilder().setName("PassthroughCluster")
                                          .setType(Cluster.DiscoveryType.ORIGINAL_DST)
                                          .setLbPolicy(Cluster.LbPolicy.CLUSTER_PROVIDED).build());
        assertEquals(Cluster.DiscoveryType.ORIGINAL_DST, c.type());
        assertNull(c.chooseHost(LoadBalancerContext.NONE), "no downstream connection, no host");
        java.net.InetSocketAddress dst = new java.net.InetSocketAddress("10.250.1.2", 9080);
        LoadBalancerContext toDst = LoadBalancerContext.ofDestination(dst);
        Host h = c.chooseHost(toDst);
        assertEquals(dst, h.address());
        assertSame(h, c.chooseHost(toDst), "one host per address, keeping its stats");
    }

    @Test
    void originalDstClusterForgetsIdleHostsPastItsLimitButKeepsBusyOnes() throws Exception {
        UpstreamCluster c = build(Cluster.newBuilder().setName("PassthroughCluster")
                                          .setType(Cluster.DiscoveryType.ORIGINAL_DST)
                                          .setLbPolicy(Cluster.LbPolicy.CLUSTER_PROVIDED).build());
        LoadBalancerContext toBusy = LoadBalancerContext.ofDestination(new java.net.InetSocketAddress("10.250.0.1", 80));
        LoadBalancerContext toIdle = LoadBalancerContext.ofDestination(new java.net.InetSocketAddress("10.250.0.2", 80));
        Host busy = c.chooseHost(toBusy);
        busy.requestStarted();
        Host idle = c.chooseHost(toIdle);
        for (int i = 2; i < UpstreamCluster.ORIGINAL_DST_MAX_HOSTS; i++) {
            c.chooseHost(LoadBalancerContext.ofDestination(new java.net.InetSocketAddress("10.251.0.1", 1000 + i)));
        }
        assertSame(idle, c.chooseHost(toIdle), "kept up to the limit");
        // The limit is reached: a new destination makes the cluster forget the hosts without active requests.
        c.chooseHost(LoadBalancerContext.ofDestination(new java.net.InetSocketAddress("10.252.0.1", 80)));
        assertSame(busy, c.chooseHost(toBusy), "a host with an active request is kept, with its stats");
        assertNotSame(idle, c.chooseHost(toIdle), "an idle host was forgotten");
        busy.requestFinished();
    }

    @Test
    void upstreamBindConfigSetsTheSourceAddress() throws Exception {
        Cluster.Builder c = Cluster.newBuilder().setName("InboundPassthroughCluster")
                .setType(Cluster.DiscoveryType.ORIGINAL_DST).setLbPolicy(Cluster.LbPolicy.CLUSTER_PROVIDED);
        c.getUpstreamBindConfigBuilder().getSourceAddressBuilder().setAddress("127.0.0.6").setPortValue(0);
        assertEquals(new java.net.InetSocketAddress("127.0.0.6", 0), build(c.build()).bindAddress());
        c.getUpstreamBindConfigBuilder().getSourceAddressBuilder().setAddress("localhost");
        assertEquals("upstream_bind_config.source_address: localhost:0 (expected: an IP address and a port, 0 for any)",
                error(c));
        c.getUpstreamBindConfigBuilder().getSourceAddressBuilder().setAddress("127.0.0.6");
        c.getUpstreamBindConfigBuilder().setFreebind(com.google.protobuf.BoolValue.of(true));
        assertEquals("upstream_bind_config.freebind: set (expected: unset; only source_address is supported)",
                error(c));
    }

    private static String error(Cluster.Builder c) {
        return assertThrows(ConfigException.class, () -> build(c.build())).getMessage();
    }

    @Test
    void invalidClustersAreRejectedWithFieldPaths() {
        assertEquals("load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address.address: "
                     + "backend.local (expected: an IP address for a STATIC cluster)",
                     error(Cluster.newBuilder().setName("c").setLoadAssignment(ClusterLoadAssignment.newBuilder()
                             .addEndpoints(LocalityLbEndpoints.newBuilder().addLbEndpoints(
                                     endpoint("backend.local", 80))))));
        assertEquals("lb_policy: CLUSTER_PROVIDED (expected: ROUND_ROBIN, LEAST_REQUEST, RANDOM, RING_HASH or MAGLEV)",
                     error(staticCluster("c", Cluster.LbPolicy.CLUSTER_PROVIDED, 0)));
        assertEquals("maglev_lb_config.table_size: 65536 (expected: a prime number up to 5000011)",
                     error(staticCluster("c", Cluster.LbPolicy.MAGLEV, 0).setMaglevLbConfig(
                             Cluster.MaglevLbConfig.newBuilder().setTableSize(UInt64Value.of(65536)))));
        assertEquals("ring_hash_lb_config.maximum_ring_size: 10 (expected: 1024..8388608)",
                     error(staticCluster("c", Cluster.LbPolicy.RING_HASH, 0).setRingHashLbConfig(
                             Cluster.RingHashLbConfig.newBuilder().setMaximumRingSize(UInt64Value.of(10)))));
        assertEquals("ring_hash_lb_config.hash_function: MURMUR_HASH_2 (expected: XX_HASH)",
                     error(staticCluster("c", Cluster.LbPolicy.RING_HASH, 0).setRingHashLbConfig(
                             Cluster.RingHashLbConfig.newBuilder().setHashFunction(
                                     Cluster.RingHashLbConfig.HashFunction.MURMUR_HASH_2))));
        assertEquals("least_request_lb_config.choice_count: 1 (expected: 2..100)",
                     error(staticCluster("c", Cluster.LbPolicy.LEAST_REQUEST, 0).setLeastRequestLbConfig(
                             Cluster.LeastRequestLbConfig.newBuilder().setChoiceCount(UInt32Value.of(1)))));
        assertEquals("connect_timeout: 0s0ns (expected: >= 1ms)",
                     error(staticCluster("c", Cluster.LbPolicy.ROUND_ROBIN, 0).setConnectTimeout(
                             Duration.getDefaultInstance())));
        assertEquals("name: \"\" (expected: a non-empty cluster name)",
                     error(staticCluster("", Cluster.LbPolicy.ROUND_ROBIN, 0)));
        assertEquals("load_assignment.endpoints: 2 lb_endpoints (expected: exactly 1 for a LOGICAL_DNS cluster)",
                     error(staticCluster("c", Cluster.LbPolicy.ROUND_ROBIN, 0, 0)
                                   .setType(Cluster.DiscoveryType.LOGICAL_DNS)));
        assertEquals("transport_socket: envoy.transport_sockets.alts (expected: envoy.transport_sockets.tls with an "
                     + "UpstreamTlsContext or envoy.transport_sockets.raw_buffer)",
                     error(staticCluster("c", Cluster.LbPolicy.ROUND_ROBIN, 0).setTransportSocket(
                             TransportSocket.newBuilder().setName("envoy.transport_sockets.alts"))));
        assertTrue(error(staticCluster("c", Cluster.LbPolicy.ROUND_ROBIN, 0)
                                 .setLoadAssignment(ClusterLoadAssignment.newBuilder().addEndpoints(
                                         LocalityLbEndpoints.newBuilder().addLbEndpoints(
                                                 endpoint("10.0.0.1", 80).toBuilder()
                                                         .setLoadBalancingWeight(UInt32Value.of(0))))))
                           .startsWith("load_assignment.endpoints[0].lb_endpoints[0].load_balancing_weight: 0 "
                                       + "(expected: 1.."));
    }
}
