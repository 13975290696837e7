package io.jmesh.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.jmesh.proxy.testing.Curl;
import io.jmesh.proxy.testing.TestBackend;

/**
 * End to end: a VirtualService's {@code fault.abort} (behind a header match) and {@code corsPolicy} take effect in
 * a sidecar that follows {@code jmesh discovery} over ADS (the fault and CORS filters, marked {@code is_optional}
 * by discovery, are instantiated by the jmesh proxy).
 */
class FaultAndCorsFollowDiscoveryTest {

    private static final String HOST = "backend.default.svc.cluster.local:9080";

    @TempDir
    Path dir;

    @Test
    void faultAbortAndCorsPreflightFromAVirtualService() throws Exception {
        try (TestBackend backend = TestBackend.start("backend")) {
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
                    kind: VirtualService
                    metadata: {name: backend, namespace: default}
                    spec:
                      hosts: [backend]
                      http:
                      - match: [{headers: {x-fault: {exact: "yes"}}}]
                        fault: {abort: {httpStatus: 418, percentage: {value: 100}}}
                        route: [{destination: {host: backend}}]
                      - corsPolicy:
                          allowOrigins: [{exact: "https://app.example"}]
                          allowMethods: [GET, POST]
                          allowHeaders: [x-custom]
                          exposeHeaders: [x-backend]
                          maxAge: 24h
                        route: [{destination: {host: backend}}]
                    """.formatted(backend.port()), StandardCharsets.UTF_8);
            try (SidecarWithDiscovery mesh = SidecarWithDiscovery.start(dir)) {
                SidecarWithDiscovery.Ready ready = mesh.awaitRoute(HOST);
                assertEquals(200, ready.status(), "the sidecar routes to the backend");
                String url = ready.baseUrl() + "/items";
                int seen = backend.requests.get();

                Curl.Result abort = Curl.run("-H", "Host: " + HOST, "-H", "x-fault: yes", url);
                assertEquals(418, abort.status, abort.toString());
                assertEquals("fault filter abort", abort.body);

                Curl.Result preflight = Curl.run("-X", "OPTIONS", "-H", "Host: " + HOST,
                        "-H", "Origin: https://app.example", "-H", "Access-Control-Request-Method: POST", url);
                assertEquals(200, preflight.status, preflight.toString());
                assertEquals("https://app.example", preflight.header("access-control-allow-origin"));
                assertEquals("GET,POST", preflight.header("access-control-allow-methods"));
                assertEquals("x-custom", preflight.header("access-control-allow-headers"));
                assertEquals("86400", preflight.header("access-control-max-age"));
                assertEquals(seen, backend.requests.get(), "neither the abort nor the preflight reached the backend");

                Curl.Result actual = Curl.run("-H", "Host: " + HOST, "-H", "Origin: https://app.example", url);
                assertEquals(200, actual.status);
                assertEquals("https://app.example", actual.header("access-control-allow-origin"));
                assertEquals("x-backend", actual.header("access-control-expose-headers"));
                Curl.Result other = Curl.run("-H", "Host: " + HOST, "-H", "Origin: https://evil.example", url);
                assertNull(other.header("access-control-allow-origin"));
            }
        }
    }
}
