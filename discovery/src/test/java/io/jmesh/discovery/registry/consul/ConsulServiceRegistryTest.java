package io.jmesh.discovery.registry.consul;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;

import io.jmesh.discovery.DiscoveryOptions;
import io.jmesh.discovery.DiscoveryServer;
import io.jmesh.discovery.model.Endpoint;
import io.jmesh.discovery.model.Service;
import io.jmesh.discovery.model.ServicePort;
import io.jmesh.proxy.testing.Poll;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link ConsulServiceRegistry} against a {@link FakeConsulServer} (a small real HTTP server with Consul's
 * catalog and health API and its blocking queries; Consul itself cannot run here). The registry's blocking
 * queries wait 30 s (but in the restart test), longer than {@link Poll}'s 10 s: a change seen in time arrived because the held query
 * returned at once, not because it timed out.
 */
class ConsulServiceRegistryTest {

    private static final String REVIEWS = "reviews.service.consul";

    @TempDir
    Path dir;
    private FakeConsulServer consul;
    private ConsulServiceRegistry registry;

    @BeforeEach
    void start() throws Exception {
        consul = new FakeConsulServer();
        consul.register("reviews-1", "reviews", "node-1", "dc1", Map.of(), "10.1.0.1", 9080,
                List.of("version|v1", "primary"), Map.of("protocol", "http", "team", "books"), true);
        consul.register("reviews-2", "reviews", "node-2", "dc2", Map.of(), "10.1.0.2", 9080,
                List.of("version|v2"), Map.of("protocol", "http"), false);
    }

    @AfterEach
    void stop() {
        if (registry != null) {
            registry.close();
        }
        consul.close();
    }

    private ConsulServiceRegistry registry() throws InterruptedException {
        return registry(Duration.ofSeconds(30));
    }

    private ConsulServiceRegistry registry(Duration wait) throws InterruptedException {
        registry = new ConsulServiceRegistry(URI.create("http://127.0.0.1:" + consul.port()), wait);
        Poll.until(registry::hasSynced, "registry synced");
        return registry;
    }

    private Set<String> endpoints() {
        Set<String> out = new TreeSet<>();
        for (Endpoint e : registry.endpoints()) {
            out.add(e.serviceHost() + " " + e.address() + ":" + e.port() + " " + e.locality() + " "
                    + e.labels().get("version"));
        }
        return out;
    }

    @Test
    void catalogServicesAndPassingInstancesWithTagsMetaAndDatacenter() throws Exception {
        registry();
        assertEquals(List.of(new Service(REVIEWS, "default", List.of(new ServicePort("http", 9080, "HTTP", 9080)),
                "STATIC", false, List.of(), "consul://127.0.0.1:" + consul.port())), registry.services());
        assertEquals(List.of(new Endpoint(REVIEWS, "http", "10.1.0.1", 9080,
                        Map.of("version", "v1", "protocol", "http", "team", "books"), "dc1", 1, "", "")),
                registry.endpoints());
    }

    @Test
    void changesArriveAtOnceThroughBlockingQueries() throws Exception {
        registry();
        consul.setPassing("reviews-2", true);
        Poll.until(() -> endpoints().equals(Set.of(REVIEWS + " 10.1.0.1:9080 dc1 v1", REVIEWS + " 10.1.0.2:9080 dc2 v2")),
                "reviews-2 passes its checks");
        consul.deregister("reviews-1");
        Poll.until(() -> endpoints().equals(Set.of(REVIEWS + " 10.1.0.2:9080 dc2 v2")), "reviews-1 deregistered");
        consul.register("ratings-1", "ratings", "node-1", "dc1", Map.of(), "10.2.0.1", 9090, List.of(),
                Map.of("protocol", "grpc"), true);
        Poll.until(() -> registry.services().stream().anyMatch(s -> s.hostname().equals("ratings.service.consul")),
                "ratings registered");
        assertEquals(List.of(new ServicePort("grpc", 9090, "GRPC", 9090)), registry.services().stream()
                .filter(s -> s.hostname().equals("ratings.service.consul")).findFirst().orElseThrow().ports());
        consul.deregister("ratings-1");
        Poll.until(() -> registry.services().stream().noneMatch(s -> s.hostname().equals("ratings.service.consul")),
                "ratings left the catalog");
    }

    /**
     * After a restart Consul's index may be lower than the one the registry holds: a query at the old index
     * is then held for its whole {@code wait} (2 s here) and answers with a lower index, which the registry
     * must take as "read everything again" (Consul's documentation: reset the index when it goes backwards).
     */
    @Test
    void aRestartedConsulWithALowerIndexIsReadAgain() throws Exception {
        registry(Duration.ofSeconds(2));
        for (int i = 0; i < 5; i++) {
            consul.setPassing("reviews-2", i % 2 == 0); // move the index well past the restart's
        }
        Poll.until(() -> endpoints().size() == 2, "reviews-2 passing");
        consul.restart();
        consul.deregister("reviews-2");
        Poll.until(() -> endpoints().equals(Set.of(REVIEWS + " 10.1.0.1:9080 dc1 v1")), "change after the restart");

        // The index goes backwards while the connection stays: the held query answers with a lower index.
        consul.setPassing("reviews-1", true);
        consul.register("reviews-3", "reviews", "node-3", "dc1", Map.of(), "10.1.0.3", 9080, List.of("version|v3"),
                Map.of(), true);
        Poll.until(() -> endpoints().size() == 2, "reviews-3");
        consul.rewind();
        consul.deregister("reviews-3");
        Poll.until(() -> endpoints().equals(Set.of(REVIEWS + " 10.1.0.1:9080 dc1 v1")), "change after the rewind");
    }

    @Test
    void discoveryServesConsulServices() throws Exception {
        registry = new ConsulServiceRegistry(URI.create("http://127.0.0.1:" + consul.port()), Duration.ofSeconds(30));
        try (DiscoveryServer discovery = DiscoveryServer.start(new DiscoveryOptions(dir,
                new InetSocketAddress("127.0.0.1", 0), new InetSocketAddress("127.0.0.1", 0), null,
                Duration.ofMillis(20)), List.of(registry))) {
            // start() returns after the registry synced: the first snapshot already has Consul's service.
            assertNotNull(discovery.snapshot().service(REVIEWS));
            assertEquals(1, discovery.snapshot().endpoints(REVIEWS, "http").size());
            consul.setPassing("reviews-2", true);
            Poll.until(() -> discovery.snapshot().endpoints(REVIEWS, "http").size() == 2, "second instance served");
        }
        registry = null;
    }
}
