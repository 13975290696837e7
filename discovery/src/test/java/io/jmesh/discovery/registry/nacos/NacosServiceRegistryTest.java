package io.jmesh.discovery.registry.nacos;

import static io.jmesh.discovery.registry.nacos.FakeNacosServer.instance;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.jmesh.discovery.model.Endpoint;
import io.jmesh.discovery.model.Service;
import io.jmesh.discovery.model.ServicePort;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class NacosServiceRegistryTest {

    private static final String DEMO = "org.apache.dubbo.demo.DemoService";
    private static final String HOST = "org.apache.dubbo.demo.demoservice";

    private FakeNacosServer nacos;
    private NacosServiceRegistry registry;

    @BeforeEach
    void start() throws Exception {
        nacos = new FakeNacosServer();
    }

    @AfterEach
    void stop() {
        if (registry != null) {
            registry.close();
        }
        nacos.close();
    }

    /** Metadata as Dubbo's NacosRegistry writes it: the provider URL's parameters. */
    private static Map<String, String> dubboMetadata(String version, String group) {
        return Map.of("application", "demo-provider", "version", version, "group", group, "side", "provider",
                "protocol", "dubbo", "path", DEMO, "interface", DEMO, "methods", "sayHello", "category", "providers");
    }

    private static void await(String what, BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                fail("never happened: " + what);
            }
            Thread.sleep(10);
        }
    }

    @Test
    void dubboProvidersInNacosBecomeServicesAndFollowChanges() throws Exception {
        nacos.setInstances("providers:" + DEMO + ":1.0.0:g1", List.of(
                instance("127.0.0.1", 20880, 1.0, true, dubboMetadata("1.0.0", "g1")),
                instance("127.0.0.2", 20880, 2.0, true, dubboMetadata("1.0.0", "g1")),
                instance("127.0.0.3", 20880, 1.0, false, dubboMetadata("1.0.0", "g1"))));
        // Version and group from the service name when the metadata has none.
        nacos.setInstances("providers:" + DEMO + ":2.0.0:", List.of(
                instance("127.0.0.4", 20881, 1.0, true, Map.of("application", "demo-provider"))));
        nacos.setInstances("consumers:" + DEMO + ":1.0.0:g1", List.of(
                instance("127.0.0.9", 0, 1.0, true, Map.of())));
        nacos.setInstances("spring-cloud-app", List.of(instance("127.0.0.8", 8080, 1.0, true, Map.of())));

        registry = new NacosServiceRegistry(nacos.uri(), "", Duration.ofMillis(50));
        await("providers", () -> registry.endpoints().size() == 3);

        assertEquals(List.of(new Service(HOST, "default", List.of(new ServicePort("dubbo", 20880, "DUBBO", 20880)),
                "STATIC", false, List.of(), "nacos://" + nacos.uri().getAuthority())), registry.services());
        Map<String, String> v1 = Map.of("version", "1.0.0", "group", "g1", "application", "demo-provider",
                "protocol", "dubbo");
        assertEquals(List.of(
                new Endpoint(HOST, "dubbo", "127.0.0.1", 20880, v1, "", 100, "", ""),
                new Endpoint(HOST, "dubbo", "127.0.0.2", 20880, v1, "", 200, "", ""),
                new Endpoint(HOST, "dubbo", "127.0.0.4", 20881, Map.of("version", "2.0.0", "application",
                        "demo-provider", "protocol", "dubbo"), "", 100, "", "")),
                registry.endpoints());
        assertTrue(registry.status().healthy());

        nacos.removeService("providers:" + DEMO + ":2.0.0:");
        await("a provider gone", () -> registry.endpoints().size() == 2);
    }

    @Test
    void aFailingNacosKeepsTheLastKnownEndpoints() throws Exception {
        nacos.setInstances("providers:" + DEMO + "::", List.of(
                instance("127.0.0.1", 20880, 1.0, true, dubboMetadata("", ""))));
        registry = new NacosServiceRegistry(nacos.uri(), "", Duration.ofMillis(50));
        await("provider", () -> registry.endpoints().size() == 1);
        List<Endpoint> known = registry.endpoints();

        nacos.failWith(503);
        await("failure seen", () -> !registry.status().healthy());
        assertTrue(registry.status().detail().contains("HTTP 503"), registry.status().detail());
        assertEquals(known, registry.endpoints());

        nacos.failWith(0);
        nacos.setInstances("providers:" + DEMO + "::", List.of(
                instance("127.0.0.5", 20880, 1.0, true, dubboMetadata("", ""))));
        await("recovered", () -> registry.status().healthy()
                && registry.endpoints().size() == 1 && registry.endpoints().get(0).address().equals("127.0.0.5"));
        assertFalse(registry.endpoints().get(0).labels().containsKey("version"), "empty labels are left out");
    }
}
