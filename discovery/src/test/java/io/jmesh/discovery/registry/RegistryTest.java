package io.jmesh.discovery.registry;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.jmesh.discovery.config.ConfigParser;
import io.jmesh.discovery.config.ConfigSnapshot;
import io.jmesh.discovery.config.MeshConfig;
import io.jmesh.discovery.model.Endpoint;
import io.jmesh.discovery.model.Service;
import io.jmesh.discovery.model.ServicePort;
import io.jmesh.discovery.registry.file.FileServiceRegistry;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

class RegistryTest {

    private static ConfigSnapshot config(String yaml) {
        ConfigParser.Result r = ConfigParser.parse(null, yaml);
        assertEquals(List.of(), r.errors());
        return new ConfigSnapshot(r.configs(), r.errors(), MeshConfig.DEFAULT);
    }

    @Test
    void fileRegistrySelectsWorkloadEntriesOfItsNamespaceAndMapsPortsByName() {
        FileServiceRegistry file = new FileServiceRegistry();
        AtomicInteger changes = new AtomicInteger();
        file.addListener(r -> changes.incrementAndGet());
        ConfigSnapshot snapshot = config("""
                apiVersion: networking.istio.io/v1
                kind: ServiceEntry
                metadata: {name: api, namespace: shop}
                spec:
                  hosts: [api.shop.svc.cluster.local]
                  resolution: STATIC
                  ports: [{number: 80, name: http, protocol: HTTP, targetPort: 8080}, {number: 9090, name: grpc-admin}]
                  workloadSelector: {labels: {app: api}}
                ---
                apiVersion: networking.istio.io/v1
                kind: WorkloadEntry
                metadata: {name: api-1, namespace: shop}
                spec: {address: 10.0.0.1, labels: {app: api}, ports: {grpc-admin: 19090}, weight: 5}
                ---
                apiVersion: networking.istio.io/v1
                kind: WorkloadEntry
                metadata: {name: api-other-ns, namespace: other}
                spec: {address: 10.0.0.2, labels: {app: api}}
                """);
        file.update(snapshot);
        assertEquals(1, changes.get());
        Service s = file.services().get(0);
        assertEquals("api.shop.svc.cluster.local", s.hostname());
        assertEquals(List.of(new ServicePort("http", 80, "HTTP", 8080), new ServicePort("grpc-admin", 9090, "", 9090)),
                s.ports());
        assertEquals(List.of(
                new Endpoint("api.shop.svc.cluster.local", "http", "10.0.0.1", 8080, Map.of("app", "api"), "", 5, "", ""),
                new Endpoint("api.shop.svc.cluster.local", "grpc-admin", "10.0.0.1", 19090, Map.of("app", "api"), "", 5,
                        "", "")),
                file.endpoints());
        file.update(snapshot);
        assertEquals(1, changes.get(), "an unchanged update must not notify");
    }

    @Test
    void aggregateGivesAHostToTheFirstRegistryThatHasIt() {
        ServiceRegistry first = fixed("kube", new Service("a.example.com", "x", List.of(new ServicePort("http", 80,
                "HTTP", 80)), "STATIC", false, List.of(), "kube"), "10.0.0.1");
        ServiceRegistry second = fixed("consul", new Service("a.example.com", "y", List.of(new ServicePort("http", 80,
                "HTTP", 80)), "STATIC", false, List.of(), "consul"), "10.0.0.2");
        AggregateRegistry aggregate = new AggregateRegistry();
        aggregate.add(first);
        aggregate.add(second);
        assertEquals(List.of("kube"), aggregate.services().stream().map(Service::registry).toList());
        assertEquals(List.of("10.0.0.1"), aggregate.endpoints().stream().map(Endpoint::address).toList());
    }

    private static ServiceRegistry fixed(String name, Service s, String ip) {
        return new ServiceRegistry() {
            @Override
            public String name() {
                return name;
            }

            @Override
            public List<Service> services() {
                return List.of(s);
            }

            @Override
            public List<Endpoint> endpoints() {
                return List.of(new Endpoint(s.hostname(), "http", ip, 80, Map.of(), "", 1, "", ""));
            }

            @Override
            public void addListener(Listener listener) {}
        };
    }
}
