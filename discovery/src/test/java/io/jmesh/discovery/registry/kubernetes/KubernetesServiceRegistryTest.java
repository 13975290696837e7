package io.jmesh.discovery.registry.kubernetes;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.fabric8.kubernetes.api.model.ServiceBuilder;
import io.fabric8.kubernetes.api.model.ServicePortBuilder;
import io.jmesh.discovery.model.Endpoint;
import io.jmesh.discovery.model.Service;
import io.jmesh.discovery.model.ServicePort;
import io.jmesh.proxy.testing.Poll;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * {@link KubernetesServiceRegistry} against a {@link FakeApiServer} (fabric8's mock API server in CRUD mode:
 * a fake, since no real API server can run here), read with the real fabric8 client and informers.
 */
@Tag("kubernetes")
class KubernetesServiceRegistryTest {

    private FakeApiServer api;
    private KubernetesServiceRegistry registry;

    @BeforeEach
    void start() throws Exception {
        api = new FakeApiServer();
    }

    @AfterEach
    void stop() {
        if (registry != null) {
            registry.close();
        }
        api.close();
    }

    private KubernetesServiceRegistry registry() throws InterruptedException {
        registry = new KubernetesServiceRegistry(api.newClient(), KubernetesServiceRegistry.DEFAULT_DOMAIN);
        Poll.until(registry::hasSynced, "registry synced");
        return registry;
    }

    @Test
    void servicesBecomeHostsWithIstiosPortProtocols() throws Exception {
        api.service("shop", "reviews", "10.96.0.10", "http-web:9080", "grpc:9090", "tcp-db:5432", "x:8443:https",
                "h2:8081:kubernetes.io/h2c", "dubbo-api:20880", "bolt:12200", "sofarpc-x:12201", ":3306", "other:7000");
        registry();
        Poll.until(() -> registry.services().size() == 1, "one service");
        Service s = registry.services().get(0);
        assertEquals("reviews.shop.svc.cluster.local", s.hostname());
        assertEquals("shop", s.namespace());
        assertEquals("STATIC", s.resolution());
        assertEquals(List.of("10.96.0.10"), s.addresses());
        assertEquals("kubernetes", s.registry());
        assertEquals(List.of(
                        new ServicePort("http-web", 9080, "HTTP", 10080),
                        new ServicePort("grpc", 9090, "GRPC", 10090),
                        new ServicePort("tcp-db", 5432, "TCP", 6432),
                        new ServicePort("x", 8443, "HTTPS", 9443),
                        new ServicePort("h2", 8081, "HTTP2", 9081),
                        new ServicePort("dubbo-api", 20880, "DUBBO", 21880),
                        new ServicePort("bolt", 12200, "BOLT", 13200),
                        new ServicePort("sofarpc-x", 12201, "SOFARPC", 13201),
                        new ServicePort("", 3306, "TCP", 4306),
                        new ServicePort("other", 7000, "", 8000)),
                s.ports());
        assertEquals("dubbo", s.port(20880).rpcProtocol());
        assertEquals("bolt", s.port(12201).rpcProtocol());
    }

    @Test
    void protocolFollowsIstiosConvertProtocol() {
        assertEquals("UDP", KubernetesServiceRegistry.protocol(53, "dns", "UDP", null));
        assertEquals("GRPC-WEB", KubernetesServiceRegistry.protocol(80, "grpc-web-x", "TCP", null));
        assertEquals("HTTP", KubernetesServiceRegistry.protocol(80, "tcp", "TCP", "http"));
        assertEquals("HTTP", KubernetesServiceRegistry.protocol(80, "", "TCP", "kubernetes.io/ws"));
        assertEquals("", KubernetesServiceRegistry.protocol(80, "web", "TCP", "example.com/custom"));
        assertEquals("TCP", KubernetesServiceRegistry.protocol(22, "", "TCP", null));
        assertEquals("HTTP2", KubernetesServiceRegistry.protocol(80, "HTTP2-Upper", "TCP", null));
    }

    @Test
    void endpointsCarryPodLabelsServiceAccountLocalityAndReadiness() throws Exception {
        api.node("node-a", "eu-west", "eu-west-1a");
        api.namespace("shop", Map.of("topology.istio.io/network", "net-1"));
        api.service("shop", "reviews", "10.96.0.10", "http:9080");
        api.pod("shop", "reviews-v1", "10.1.0.1", "node-a", "bookinfo-reviews", Map.of("app", "reviews", "version", "v1"));
        api.pod("shop", "reviews-v2", "10.1.0.2", "node-a", null, Map.of("app", "reviews", "version", "v2"));
        api.slice("shop", "reviews", List.of("http:10080"), "reviews-v1=10.1.0.1", "reviews-v2=10.1.0.2!");
        registry();
        Poll.until(() -> registry.endpoints().size() == 1, "one ready endpoint");
        assertEquals(new Endpoint("reviews.shop.svc.cluster.local", "http", "10.1.0.1", 10080,
                        Map.of("app", "reviews", "version", "v1"), "eu-west/eu-west-1a/", 1, "net-1", "bookinfo-reviews"),
                registry.endpoints().get(0));

        // v2 becomes ready: its endpoint appears, with the default service account.
        api.slice("shop", "reviews", List.of("http:10080"), "reviews-v1=10.1.0.1", "reviews-v2=10.1.0.2");
        Poll.until(() -> registry.endpoints().size() == 2, "two endpoints");
        assertEquals(Set.of("10.1.0.1:10080 bookinfo-reviews v1", "10.1.0.2:10080 default v2"), describe(registry));

        // An endpoint whose pod is not known yet waits for the pod (its labels and identity are not known).
        api.slice("shop", "reviews", List.of("http:10080"), "reviews-v1=10.1.0.1", "reviews-v2=10.1.0.2",
                "reviews-v3=10.1.0.3");
        Poll.until(() -> registry.hasSynced(), "synced");
        api.pod("shop", "reviews-v3", "10.1.0.3", "node-a", "bookinfo-reviews", Map.of("app", "reviews", "version", "v3"));
        Poll.until(() -> registry.endpoints().size() == 3, "three endpoints once the pod exists");
        assertTrue(describe(registry).contains("10.1.0.3:10080 bookinfo-reviews v3"));

        // The service goes: its endpoints go with it.
        api.client.services().inNamespace("shop").withName("reviews").delete();
        Poll.until(() -> registry.services().isEmpty() && registry.endpoints().isEmpty(), "service deleted");
    }

    @Test
    void headlessAndExternalNameServices() throws Exception {
        api.service("db", "cassandra", "None", "tcp:9042");
        api.pod("db", "cassandra-0", "10.2.0.1", null, "cassandra", Map.of("app", "cassandra"));
        api.slice("db", "cassandra", List.of("tcp:9042"), "cassandra-0=10.2.0.1");
        api.client.services().inNamespace("ext").resource(new ServiceBuilder().withNewMetadata().withName("search")
                .withNamespace("ext").endMetadata().withNewSpec().withType("ExternalName")
                .withExternalName("search.example.com").withPorts(new ServicePortBuilder().withName("https")
                        .withPort(443).build()).endSpec().build()).create();
        registry();
        Poll.until(() -> registry.services().size() == 2 && registry.endpoints().size() == 2, "two services");
        Map<String, Service> byHost = registry.services().stream()
                .collect(Collectors.toMap(Service::hostname, s -> s));
        Service headless = byHost.get("cassandra.db.svc.cluster.local");
        assertEquals("NONE", headless.resolution());
        assertEquals(List.of(), headless.addresses());
        Service external = byHost.get("search.ext.svc.cluster.local");
        assertEquals("DNS", external.resolution());
        assertTrue(external.meshExternal());
        assertEquals(Set.of("10.2.0.1:9042 cassandra app=cassandra", "search.example.com:443  "),
                registry.endpoints().stream().map(e -> e.address() + ":" + e.port() + " " + e.serviceAccount() + " "
                        + e.labels().entrySet().stream().map(x -> x.getKey() + "=" + x.getValue())
                        .collect(Collectors.joining(","))).collect(Collectors.toSet()));
    }

    private static Set<String> describe(KubernetesServiceRegistry r) {
        Set<String> out = new TreeSet<>();
        for (Endpoint e : r.endpoints()) {
            out.add(e.address() + ":" + e.port() + " " + e.serviceAccount() + " " + e.labels().get("version"));
        }
        return out;
    }
}
