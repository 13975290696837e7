package io.jmesh.proxy.upstream;

import static io.jmesh.proxy.upstream.TestClusters.endpoint;
import static io.jmesh.proxy.upstream.TestClusters.staticCluster;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import com.google.protobuf.Duration;

import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.endpoint.v3.LocalityLbEndpoints;
import io.jmesh.proxy.config.ConfigException;
import io.jmesh.proxy.telemetry.Stats;
import io.jmesh.proxy.testing.Poll;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.nio.NioEventLoopGroup;

class ClusterManagerTest {

    private static EventLoopGroup group;

    @BeforeAll
    static void setUp() {
        group = new NioEventLoopGroup(1);
    }

    @AfterAll
    static void tearDown() {
        group.shutdownGracefully(0, 0, TimeUnit.SECONDS).syncUninterruptibly();
    }

    @SuppressWarnings("deprecation") // legacy fields Envoy still honours
    private static Cluster dnsCluster(String name, Cluster.DiscoveryType type, String host, int port) {
        return Cluster.newBuilder().setName(name).setType(type)
                      .setDnsLookupFamily(Cluster.DnsLookupFamily.V4_ONLY)
                      .setDnsRefreshRate(Duration.newBuilder().setNanos(50_000_000))
                      .setLoadAssignment(ClusterLoadAssignment.newBuilder().setClusterName(name).addEndpoints(
                              LocalityLbEndpoints.newBuilder().addLbEndpoints(endpoint(host, port))))
                      .build();
    }

    @Test
    void strictAndLogicalDnsResolveLocalhost() throws Exception {
        Stats stats = new Stats();
        try (ClusterManager cm = ClusterManager.create(
                List.of(dnsCluster("strict", Cluster.DiscoveryType.STRICT_DNS, "localhost", 8080),
                        dnsCluster("logical", Cluster.DiscoveryType.LOGICAL_DNS, "localhost", 9090),
                        staticCluster("static", Cluster.LbPolicy.ROUND_ROBIN, 0).build()),
                group, stats)) {
            cm.ready().get(10, TimeUnit.SECONDS);
            UpstreamCluster strict = cm.get("strict");
            assertEquals(1, strict.hosts().size());
            Host h = strict.chooseHost(LoadBalancerContext.NONE);
            assertEquals("127.0.0.1:8080", h.addressString());
            assertEquals("localhost", h.hostname());
            UpstreamCluster logical = cm.get("logical");
            assertEquals("127.0.0.1:9090", logical.chooseHost(LoadBalancerContext.NONE).addressString());
            assertEquals(List.of("strict", "logical", "static"),
                         cm.clusters().stream().map(UpstreamCluster::name).toList());
            assertNull(cm.get("missing"));
            // Re-resolution every 50 ms keeps the same host objects (and their stats) while addresses are stable:
            // wait for three more rounds that found nothing to rebuild (an event each), then check the hosts.
            Host before = strict.hosts().get(0);
            long changes = stats.counterValues().get("cluster.strict.membership_change");
            long noRebuild = stats.counterValues().get("cluster.strict.update_no_rebuild");
            Poll.until(() -> stats.counterValues().get("cluster.strict.update_no_rebuild") >= noRebuild + 3,
                       "three more DNS rounds that leave the host set as it is");
            assertSame(before, strict.hosts().get(0));
            assertEquals(changes, stats.counterValues().get("cluster.strict.membership_change"));
            assertEquals(0, stats.counterValues().get("cluster.strict.update_failure"));
        }
    }

    @Test
    void unresolvableNameLeavesNoHostButBecomesReady() throws Exception {
        try (ClusterManager cm = ClusterManager.create(
                List.of(dnsCluster("bad", Cluster.DiscoveryType.STRICT_DNS, "no-such-host.invalid", 80)), group,
                new Stats())) {
            cm.ready().get(30, TimeUnit.SECONDS);
            assertNull(cm.get("bad").chooseHost(LoadBalancerContext.NONE));
        }
    }

    @Test
    void errorsNameTheClusterIndex() {
        ClusterLoadAssignment badPort = ClusterLoadAssignment.newBuilder()
                .addEndpoints(LocalityLbEndpoints.newBuilder().addLbEndpoints(endpoint("10.0.0.1", 80))
                                      .addLbEndpoints(endpoint("10.0.0.2", 0)))
                .build();
        ConfigException e = assertThrows(ConfigException.class, () -> ClusterManager.create(
                List.of(staticCluster("a", Cluster.LbPolicy.ROUND_ROBIN, 0).build(),
                        staticCluster("b", Cluster.LbPolicy.ROUND_ROBIN, 0).build(),
                        Cluster.newBuilder().setName("c").setLoadAssignment(badPort).build()),
                group, new Stats()));
        assertEquals("clusters[2].load_assignment.endpoints[0].lb_endpoints[1].endpoint.address.socket_address"
                     + ".port_value: 0 (expected: 1..65535)", e.getMessage());

        ConfigException dup = assertThrows(ConfigException.class, () -> ClusterManager.create(
                List.of(staticCluster("a", Cluster.LbPolicy.ROUND_ROBIN, 0).build(),
                        staticCluster("a", Cluster.LbPolicy.RANDOM, 0).build()), group, new Stats()));
        assertEquals("clusters[1].name: a (expected: a unique cluster name)", dup.getMessage());

        ConfigException policy = assertThrows(ConfigException.class, () -> ClusterManager.create(
                List.of(staticCluster("a", Cluster.LbPolicy.LOAD_BALANCING_POLICY_CONFIG, 0).build()), group,
                new Stats()));
        assertTrue(policy.getMessage().startsWith("clusters[0].lb_policy: LOAD_BALANCING_POLICY_CONFIG (expected: "),
                   policy.getMessage());
    }
}
