package io.jmesh.discovery.xds;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import com.google.protobuf.Struct;
import com.google.protobuf.Value;

import io.envoyproxy.envoy.config.core.v3.Node;
import io.jmesh.discovery.config.ConfigParser;
import io.jmesh.discovery.config.DirectoryConfigWatcher;
import io.jmesh.discovery.config.MeshConfig;
import io.jmesh.discovery.model.MeshSnapshot;

/**
 * The Telemetry API and the generation cache: tracing tags each span with the workload's canonical service and
 * revision (from its labels), so two sidecars of one namespace and port shape but other labels get their own
 * listeners once tracing is on, even when no Telemetry selects workloads by label.
 */
class TelemetryCacheTest {

    @TempDir
    Path dir;

    private static final String MESH = """
            apiVersion: networking.istio.io/v1
            kind: ServiceEntry
            metadata: {name: web, namespace: foo}
            spec:
              hosts: [web.foo.svc.cluster.local]
              location: MESH_INTERNAL
              resolution: STATIC
              ports: [{number: 8000, name: http, protocol: HTTP}]
              endpoints:
              - {address: 10.0.0.1, labels: {app: a}}
              - {address: 10.0.0.2, labels: {app: b}}
            ---
            apiVersion: networking.istio.io/v1
            kind: ServiceEntry
            metadata: {name: zipkin, namespace: istio-system}
            spec:
              hosts: [zipkin.istio-system.svc.cluster.local]
              location: MESH_INTERNAL
              resolution: STATIC
              ports: [{number: 9411, name: http-zipkin, protocol: HTTP}]
              endpoints: [{address: 10.9.0.1}]
            """;

    private MeshSnapshot snapshot(String meshConfig) throws Exception {
        MeshConfig mc = DirectoryConfigWatcher.loadMeshConfig(Files.writeString(dir.resolve("mesh.yaml"), meshConfig));
        return TestSnapshots.of(1, ConfigParser.parse(null, MESH), mc);
    }

    private static ProxyNode sidecar(String ip, String app) throws Exception {
        Struct labels = Struct.newBuilder().putFields("app", Value.newBuilder().setStringValue(app).build()).build();
        return ProxyNode.of(Node.newBuilder().setId("sidecar~" + ip + "~" + app + "-1.foo~foo.svc.cluster.local")
                .setMetadata(Struct.newBuilder().putFields("LABELS", Value.newBuilder().setStructValue(labels).build()))
                .build());
    }

    @Test
    void tracedSidecarsOfOtherWorkloadsDoNotShareListeners() throws Exception {
        MeshSnapshot s = snapshot("""
                extensionProviders:
                - name: zipkin
                  zipkin: {service: zipkin.istio-system.svc.cluster.local, port: 9411}
                defaultProviders: {tracing: [zipkin]}
                """);
        XdsCache cache = new XdsCache();
        ProxyNode a = sidecar("10.0.0.1", "a");
        ProxyNode b = sidecar("10.0.0.2", "b");
        XdsCache.Generated forA = cache.get(TypeUrls.LISTENER, a, s);
        XdsCache.Generated forB = cache.get(TypeUrls.LISTENER, b, s);
        assertNotEquals(forA.version(), forB.version(), "istio.canonical_service is a for a, b for b");
        Map<String, String> versions = new TreeMap<>();
        XdsGenerator.generate(TypeUrls.LISTENER, b, s).forEach((name, m) -> versions.put(name, Versions.of(m)));
        assertEquals(Versions.ofSet(versions), forB.version());
    }

    @Test
    void tracedSidecarsWithoutLabelsShareListenersThatMatchTheirOwnGeneration() throws Exception {
        MeshSnapshot s = snapshot("""
                extensionProviders:
                - name: zipkin
                  zipkin: {service: zipkin.istio-system.svc.cluster.local, port: 9411}
                defaultProviders: {tracing: [zipkin]}
                """);
        XdsCache cache = new XdsCache();
        // two pods of one namespace, no labels: the cache key cannot tell them apart, so neither may the config
        ProxyNode first = ProxyNode.of(Node.newBuilder().setId("sidecar~10.0.0.7~first-1.foo~foo.svc.cluster.local")
                .build());
        ProxyNode second = ProxyNode.of(Node.newBuilder().setId("sidecar~10.0.0.8~second-1.foo~foo.svc.cluster.local")
                .build());
        cache.get(TypeUrls.LISTENER, first, s);
        XdsCache.Generated forSecond = cache.get(TypeUrls.LISTENER, second, s);
        Map<String, String> versions = new TreeMap<>();
        Map<String, com.google.protobuf.Message> generated = XdsGenerator.generate(TypeUrls.LISTENER, second, s);
        generated.forEach((name, m) -> versions.put(name, Versions.of(m)));
        assertEquals(Versions.ofSet(versions), forSecond.version(), "the cached listeners are the second's own");
        assertEquals(true, generated.values().stream().anyMatch(m -> m.toString().contains("unknown")),
                "istio.canonical_service falls back to unknown, as Istio's buildServiceTags");
    }
}
