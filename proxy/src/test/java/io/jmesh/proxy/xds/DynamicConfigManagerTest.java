package io.jmesh.proxy.xds;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetSocketAddress;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import com.google.protobuf.Any;
import com.google.protobuf.Message;

import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.jmesh.proxy.config.ConfigException;
import io.jmesh.proxy.config.EnvoyTypes;
import io.jmesh.proxy.internal.Transports;
import io.jmesh.proxy.telemetry.Stats;
import io.jmesh.proxy.testing.Curl;
import io.jmesh.proxy.testing.TestBackend;
import io.jmesh.proxy.upstream.ClusterManager;
import io.netty.channel.EventLoopGroup;

/**
 * {@link DynamicConfigManager} fed xDS responses directly (no ADS server): RDS swaps, EDS warming, NACKs that keep
 * the old config, in-place listener updates and draining removals, with real sockets and curl.
 */
class DynamicConfigManagerTest {

    private final EventLoopGroup workers = Transports.newGroup(1, "dcm-test");
    private final ScheduledThreadPoolExecutor xds = new ScheduledThreadPoolExecutor(1);
    private final Stats stats = new Stats();
    private volatile ClusterManager clusters;
    private DynamicConfigManager dcm;
    private TestBackend backend;
    private TestBackend other;

    @BeforeEach
    void setUp() throws Exception {
        backend = TestBackend.start("one");
        other = TestBackend.start("two");
        clusters = ClusterManager.create(List.of(), workers, stats);
        dcm = new DynamicConfigManager(workers, stats, List.of(), () -> clusters, c -> clusters = c,
                ListenerBinding.AS_CONFIGURED, xds, 10_000);
    }

    @AfterEach
    void tearDown() throws Exception {
        xds.submit(dcm::closeAll).get();
        xds.shutdown();
        clusters.close();
        workers.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
        backend.close();
        other.close();
    }

    private static <B extends Message.Builder> Any any(String yaml, B builder) throws ConfigException {
        return Any.pack(EnvoyTypes.PARSER.parse(yaml, builder).build());
    }

    private static Any staticCluster(String name, int port) throws ConfigException {
        return any("""
                name: %s
                type: STATIC
                load_assignment:
                  cluster_name: %s
                  endpoints: [{lb_endpoints: [{endpoint: {address: {socket_address: {address: 127.0.0.1, port_value: %d}}}}]}]
                """.formatted(name, name, port), Cluster.newBuilder());
    }

    private static Any edsCluster(String name) throws ConfigException {
        return any("""
                name: %s
                type: EDS
                eds_cluster_config: {eds_config: {ads: {}}}
                """.formatted(name), Cluster.newBuilder());
    }

    private static Any assignment(String name, int port) throws ConfigException {
        return any("""
                cluster_name: %s
                endpoints: [{lb_endpoints: [{endpoint: {address: {socket_address: {address: 127.0.0.1, port_value: %d}}}}]}]
                """.formatted(name, port), ClusterLoadAssignment.newBuilder());
    }

    private static Any rdsListener(String name, int port, String route, String statPrefix) throws ConfigException {
        return any("""
                name: %s
                address: {socket_address: {address: 127.0.0.1, port_value: %d}}
                filter_chains:
                - filters:
                  - name: envoy.filters.network.http_connection_manager
                    typed_config:
                      "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
                      stat_prefix: %s
                      rds: {route_config_name: %s, config_source: {ads: {}}}
                      http_filters:
                      - name: envoy.filters.http.router
                        typed_config: {"@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router}
                """.formatted(name, port, statPrefix, route), Listener.newBuilder());
    }

    private static Any route(String name, String cluster) throws ConfigException {
        return any("""
                name: %s
                virtual_hosts:
                - name: all
                  domains: ["*"]
                  routes: [{match: {prefix: /}, route: {cluster: %s}}]
                """.formatted(name, cluster), RouteConfiguration.newBuilder());
    }

    private void push(String type, String version, Any... resources) throws Exception {
        try {
            xds.submit(() -> {
                dcm.onResources(type, version, List.of(resources));
                return null;
            }).get();
        } catch (ExecutionException e) {
            if (e.getCause() instanceof Exception ex) {
                throw ex;
            }
            throw e;
        }
    }

    private InetSocketAddress address(String listener) throws Exception {
        return xds.submit(() -> dcm.listenerAddresses().get(listener)).get();
    }

    private static Curl.Result get(InetSocketAddress a, String path) throws Exception {
        return Curl.run("http://127.0.0.1:" + a.getPort() + path);
    }

    @Test
    void listenerWarmsUntilItsRoutesArriveAndRdsUpdatesSwapThem() throws Exception {
        push(DynamicConfigManager.CLUSTER_TYPE, "1", staticCluster("one", backend.port()),
                staticCluster("two", other.port()));
        push(DynamicConfigManager.LISTENER_TYPE, "1", rdsListener("http", 0, "r", "http"));
        assertNull(address("http"), "the listener warms until its route configuration arrives");
        push(DynamicConfigManager.ROUTE_TYPE, "1", route("r", "one"));
        InetSocketAddress a = address("http");
        assertNotNull(a);
        assertEquals("one", get(a, "/").header("x-backend"));
        push(DynamicConfigManager.ROUTE_TYPE, "2", route("r", "two"));
        assertEquals("two", get(a, "/").header("x-backend"));
        assertEquals("2", dcm.dumpRoutes().get("r").version());
    }

    @Test
    void invalidResponseIsRejectedWholeAndTheOldConfigServes() throws Exception {
        push(DynamicConfigManager.CLUSTER_TYPE, "1", staticCluster("one", backend.port()));
        push(DynamicConfigManager.ROUTE_TYPE, "1", route("r", "one"));
        push(DynamicConfigManager.LISTENER_TYPE, "1", rdsListener("http", 0, "r", "http"));
        InetSocketAddress a = address("http");
        Any bad = any("""
                name: bad
                address: {socket_address: {address: 127.0.0.1, port_value: 70000}}
                filter_chains: [{filters: [{name: envoy.filters.network.tcp_proxy, typed_config: {"@type": type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy, stat_prefix: t, cluster: one}}]}]
                """, Listener.newBuilder());
        ConfigException e = assertThrows(ConfigException.class, () -> push(DynamicConfigManager.LISTENER_TYPE, "2",
                rdsListener("http", 0, "r", "other_prefix"), bad));
        assertEquals("resources[1].address.socket_address.port_value: 70000 (expected: 0..65535)", e.getMessage());
        assertEquals(a, address("http"));
        assertEquals("1", dcm.dumpListeners().get("http").version());
        assertEquals("one", get(a, "/").header("x-backend"));

        ConfigException c = assertThrows(ConfigException.class, () -> push(DynamicConfigManager.CLUSTER_TYPE, "2",
                any("{name: broken, type: STATIC, connect_timeout: -1s}", Cluster.newBuilder())));
        assertTrue(c.getMessage().startsWith("resources[0].connect_timeout"), c.getMessage());
        assertNotNull(clusters.get("one"), "the old clusters keep serving");
        assertEquals("one", get(a, "/").header("x-backend"));
    }

    @Test
    void newEdsClustersWarmBeforeTheListenersThatFollowThem() throws Exception {
        push(DynamicConfigManager.CLUSTER_TYPE, "1", edsCluster("svc"));
        assertNull(clusters.get("svc"), "warming: not serving before its endpoints arrive");
        push(DynamicConfigManager.ROUTE_TYPE, "1", route("r", "svc"));
        push(DynamicConfigManager.LISTENER_TYPE, "1", rdsListener("http", 0, "r", "http"));
        assertNull(address("http"), "the listener waits for the clusters");
        push(DynamicConfigManager.ENDPOINT_TYPE, "1", assignment("svc", backend.port()));
        assertNotNull(clusters.get("svc"));
        InetSocketAddress a = address("http");
        assertNotNull(a);
        assertEquals("one", get(a, "/").header("x-backend"));
        // EDS updates go to the serving cluster.
        push(DynamicConfigManager.ENDPOINT_TYPE, "2", assignment("svc", other.port()));
        assertEquals("two", get(a, "/").header("x-backend"));
        // An unchanged cluster in a new CDS response is the same cluster, endpoints kept.
        var before = clusters.get("svc");
        push(DynamicConfigManager.CLUSTER_TYPE, "2", edsCluster("svc"), staticCluster("one", backend.port()));
        assertTrue(before == clusters.get("svc"));
        assertEquals("two", get(a, "/").header("x-backend"));
    }

    @Test
    void clustersStillWarmingStayWarmingAcrossANewCdsResponse() throws Exception {
        push(DynamicConfigManager.CLUSTER_TYPE, "1", edsCluster("a"));
        push(DynamicConfigManager.CLUSTER_TYPE, "2", edsCluster("a"), staticCluster("one", backend.port()));
        assertNull(clusters.get("a"), "a is still warming");
        push(DynamicConfigManager.CLUSTER_TYPE, "3", edsCluster("a"), edsCluster("b"));
        push(DynamicConfigManager.ENDPOINT_TYPE, "1", assignment("a", backend.port()));
        assertNull(clusters.get("a"), "b has no endpoints yet");
        push(DynamicConfigManager.ENDPOINT_TYPE, "2", assignment("a", backend.port()), assignment("b", other.port()));
        assertEquals(1, clusters.get("a").hosts().size());
        assertEquals(1, clusters.get("b").hosts().size());
    }

    @Test
    void invalidEndpointsAreRejectedWholeBeforeAnyIsApplied() throws Exception {
        push(DynamicConfigManager.CLUSTER_TYPE, "1", edsCluster("a"), edsCluster("b"));
        push(DynamicConfigManager.ENDPOINT_TYPE, "1", assignment("a", backend.port()), assignment("b", other.port()));
        ConfigException e = assertThrows(ConfigException.class, () -> push(DynamicConfigManager.ENDPOINT_TYPE, "2",
                assignment("a", other.port()), assignment("b", 0)));
        assertTrue(e.getMessage().startsWith("resources[1].endpoints[0].lb_endpoints[0]"), e.getMessage());
        assertEquals(backend.port(), clusters.get("a").hosts().get(0).address().getPort(), "a kept its endpoints");
    }

    @Test
    void removedListenerDrainsWithoutCuttingInFlightRequests() throws Exception {
        push(DynamicConfigManager.CLUSTER_TYPE, "1", staticCluster("one", backend.port()));
        push(DynamicConfigManager.ROUTE_TYPE, "1", route("r", "one"));
        push(DynamicConfigManager.LISTENER_TYPE, "1", rdsListener("http", 0, "r", "http"));
        InetSocketAddress a = address("http");
        CompletableFuture<Curl.Result> slow = CompletableFuture.supplyAsync(() -> {
            try {
                return get(a, "/delay/1500");
            } catch (Exception e) {
                throw new RuntimeException(e);
            }
        });
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (backend.requests.get() == 0 && System.nanoTime() < deadline) {
            Thread.sleep(10);
        }
        push(DynamicConfigManager.LISTENER_TYPE, "2");
        assertNull(address("http"));
        Curl.Result r = slow.get(20, TimeUnit.SECONDS);
        assertEquals(200, r.status, r.toString());
        Curl.Result refused = get(a, "/");
        assertTrue(refused.exitCode != 0, "the removed listener no longer accepts: " + refused);
    }

    @Test
    void changedListenerIsUpdatedOnTheSameSocket() throws Exception {
        push(DynamicConfigManager.CLUSTER_TYPE, "1", staticCluster("one", backend.port()),
                staticCluster("two", other.port()));
        push(DynamicConfigManager.ROUTE_TYPE, "1", route("r1", "one"), route("r2", "two"));
        push(DynamicConfigManager.LISTENER_TYPE, "1", rdsListener("http", 0, "r1", "http"));
        InetSocketAddress a = address("http");
        assertEquals("one", get(a, "/").header("x-backend"));
        push(DynamicConfigManager.LISTENER_TYPE, "2", rdsListener("http", 0, "r2", "http"));
        assertEquals(a, address("http"), "same socket");
        assertEquals("two", get(a, "/").header("x-backend"));
        assertEquals(Map.of("http", a), dcm.listenerAddresses());
    }
}
