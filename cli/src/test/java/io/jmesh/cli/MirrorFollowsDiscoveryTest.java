package io.jmesh.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.jmesh.proxy.testing.Curl;
import io.jmesh.proxy.testing.Poll;
import io.jmesh.proxy.testing.TestBackend;

/**
 * End to end: a VirtualService's {@code mirror} with {@code mirrorPercentage: 100} takes effect in a sidecar that
 * follows {@code jmesh discovery} over ADS: discovery emits the route's {@code request_mirror_policies}, the proxy
 * sends a copy of each request to the mirror service's backend and answers from the primary.
 */
class MirrorFollowsDiscoveryTest {

    private static final String HOST = "backend.default.svc.cluster.local:9080";

    @TempDir
    Path dir;

    @Test
    void mirrorFromAVirtualService() throws Exception {
        try (TestBackend backend = TestBackend.start("backend");
             TestBackend shadow = TestBackend.start("backend-v2")) {
            Files.writeString(dir.resolve("mesh.yaml"), """
                    apiVersion: networking.istio.io/v1
                    kind: ServiceEntry
                    metadata: {name: backend, namespace: default}
                    spec:
                      hosts: [backend.default.svc.cluster.local]
                      location: MESH_INTERNAL
                      resolution: STATIC
                      ports: [{number: 9080, name: http, protocol: HTTP}]
                      endpoints: [{address: 127.0.0.1, ports: {http: %d}}]
                    ---
                    apiVersion: networking.istio.io/v1
                    kind: ServiceEntry
                    metadata: {name: backend-v2, namespace: default}
                    spec:
                      hosts: [backend-v2.default.svc.cluster.local]
                      location: MESH_INTERNAL
                      resolution: STATIC
                      ports: [{number: 9080, name: http, protocol: HTTP}]
                      endpoints: [{address: 127.0.0.1, ports: {http: %d}}]
                    ---
                    apiVersion: networking.istio.io/v1
                    kind: VirtualService
                    metadata: {name: backend, namespace: default}
                    spec:
                      hosts: [backend]
                      http:
                      - route: [{destination: {host: backend}}]
                        mirror: {host: backend-v2}
                        mirrorPercentage: {value: 100}
                    """.formatted(backend.port(), shadow.port()), StandardCharsets.UTF_8);
            try (SidecarWithDiscovery mesh = SidecarWithDiscovery.start(dir)) {
                SidecarWithDiscovery.Ready ready = mesh.awaitRoute(HOST);
                assertEquals(200, ready.status(), "the sidecar routes to the backend");
                String url = ready.baseUrl() + "/mirrored";

                Curl.Result r = Curl.run("-H", "Host: " + HOST, "--data-binary", "copy me", url);
                assertEquals(200, r.status, r.toString());
                assertEquals("backend", r.header("x-backend"), "the client gets the primary's answer");
                assertTrue(r.body.contains("body-bytes=7"), r.body);
                Poll.until(() -> shadow.byPath.containsKey("/mirrored"), "the mirror service's backend sees the request");
                assertEquals(1, shadow.byPath.get("/mirrored").get());
                assertEquals(1, backend.byPath.get("/mirrored").get());
            }
        }
    }
}
