package io.jmesh.discovery.security;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Map;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.jmesh.proxy.server.ProxyServer;
import io.jmesh.proxy.testing.Curl;
import io.jmesh.proxy.testing.Poll;
import io.jmesh.proxy.testing.TestBackend;
import io.jmesh.proxy.xds.ListenerBinding;

/**
 * Istio's EnvoyFilter end to end: {@code jmesh discovery} reads the EnvoyFilters from its config directory, patches
 * what it generates for a real jmesh sidecar following it over ADS, and the sidecar serves the result to curl in
 * front of a real HTTP backend:
 * <ul>
 *   <li>the local rate limit EnvoyFilter of Istio's "Enabling Rate Limits using Envoy" task, unchanged (root
 *       namespace, {@code workloadSelector}, HTTP_FILTER INSERT_BEFORE, a TypedStruct): 429 once the bucket of 4 is
 *       empty, with the task's {@code x-local-rate-limit} header;</li>
 *   <li>VIRTUAL_HOST MERGE adding a response header; one selecting another workload does not apply;</li>
 *   <li>two HTTP_ROUTE MERGEs of one route in {@code priority} order: the later one's {@code prefix_rewrite} wins;</li>
 *   <li>CLUSTER MERGE of {@code connect_timeout} and HTTP_FILTER REMOVE, seen in the sidecar's {@code /config_dump}
 *       and discovery's {@code /debug/config_dump}.</li>
 * </ul>
 * The sidecar uses the mesh fixture of the mutual TLS tests; mTLS is disabled here.
 */
class EnvoyFilterEndToEndTest {

    private static final String WORKLOAD_IP = "127.0.0.72";
    private static final String NODE = "sidecar~" + WORKLOAD_IP + "~reviews-v1-1.default~default.svc.cluster.local";

    @TempDir
    Path dir;

    private MeshTlsFixture mesh;
    private TestBackend backend;
    private ProxyServer sidecar;

    @BeforeEach
    void start() throws Exception {
        mesh = new MeshTlsFixture(dir);
        backend = mesh.closeLater(TestBackend.start("reviews"));
        mesh.write("services.yaml", MeshTlsFixture.reviews(WORKLOAD_IP, backend.port()) + MeshTlsFixture.MTLS_DISABLED);
        // Istio's task, as published (only the port of the service differs).
        mesh.write("ratelimit.yaml", """
                apiVersion: networking.istio.io/v1alpha3
                kind: EnvoyFilter
                metadata:
                  name: filter-local-ratelimit-svc
                  namespace: istio-system
                spec:
                  workloadSelector:
                    labels:
                      app: reviews
                  configPatches:
                    - applyTo: HTTP_FILTER
                      match:
                        context: SIDECAR_INBOUND
                        listener:
                          filterChain:
                            filter:
                              name: "envoy.filters.network.http_connection_manager"
                      patch:
                        operation: INSERT_BEFORE
                        value:
                          name: envoy.filters.http.local_ratelimit
                          typed_config:
                            "@type": type.googleapis.com/udpa.type.v1.TypedStruct
                            type_url: type.googleapis.com/envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit
                            value:
                              stat_prefix: http_local_rate_limiter
                              token_bucket:
                                max_tokens: 4
                                tokens_per_fill: 4
                                fill_interval: 60s
                              filter_enabled:
                                runtime_key: local_rate_limit_enabled
                                default_value:
                                  numerator: 100
                                  denominator: HUNDRED
                              filter_enforced:
                                runtime_key: local_rate_limit_enforced
                                default_value:
                                  numerator: 100
                                  denominator: HUNDRED
                              response_headers_to_add:
                                - append_action: OVERWRITE_IF_EXISTS_OR_ADD
                                  header:
                                    key: x-local-rate-limit
                                    value: 'true'
                """);
        mesh.write("patches.yaml", """
                apiVersion: networking.istio.io/v1alpha3
                kind: EnvoyFilter
                metadata: {name: headers, namespace: default}
                spec:
                  configPatches:
                  - applyTo: VIRTUAL_HOST
                    match: {context: SIDECAR_INBOUND, routeConfiguration: {portNumber: %1$d}}
                    patch:
                      operation: MERGE
                      value: {response_headers_to_add: [{header: {key: x-patched-vhost, value: "yes"}}]}
                  - applyTo: CLUSTER
                    match: {context: SIDECAR_INBOUND, cluster: {portNumber: %1$d}}
                    patch: {operation: MERGE, value: {connect_timeout: 7s}}
                  - applyTo: HTTP_FILTER
                    match:
                      listener: {filterChain: {filter: {name: envoy.filters.network.http_connection_manager, subFilter: {name: envoy.filters.http.fault}}}}
                    patch: {operation: REMOVE}
                ---
                apiVersion: networking.istio.io/v1alpha3
                kind: EnvoyFilter
                metadata: {name: not-for-reviews, namespace: default}
                spec:
                  workloadSelector: {labels: {app: ratings}}
                  configPatches:
                  - applyTo: VIRTUAL_HOST
                    match: {context: SIDECAR_INBOUND}
                    patch:
                      operation: MERGE
                      value: {response_headers_to_add: [{header: {key: x-ratings-only, value: "yes"}}]}
                ---
                apiVersion: networking.istio.io/v1alpha3
                kind: EnvoyFilter
                metadata: {name: rewrite-late, namespace: default}
                spec:
                  priority: 10
                  configPatches:
                  - applyTo: HTTP_ROUTE
                    match: {context: SIDECAR_INBOUND, routeConfiguration: {vhost: {route: {name: default}}}}
                    patch: {operation: MERGE, value: {route: {prefix_rewrite: /late/}}}
                ---
                apiVersion: networking.istio.io/v1alpha3
                kind: EnvoyFilter
                metadata: {name: rewrite-early, namespace: default}
                spec:
                  priority: -10
                  configPatches:
                  - applyTo: HTTP_ROUTE
                    match: {context: SIDECAR_INBOUND, routeConfiguration: {vhost: {route: {name: default}}}}
                    patch: {operation: MERGE, value: {route: {prefix_rewrite: /early/}}}
                """.formatted(backend.port()));
        mesh.startDiscovery(null);
        sidecar = mesh.proxy(NODE, Map.of("app", "reviews"), "reviews",
                new ListenerBinding("127.0.0.1", Map.of(), WORKLOAD_IP));
    }

    @AfterEach
    void stop() throws Exception {
        mesh.close();
    }

    private Curl.Result get(String path) {
        try {
            return Curl.run("--http1.1", "http://" + WORKLOAD_IP + ":" + backend.port() + path);
        } catch (Exception e) {
            return null;
        }
    }

    private String admin(String path) throws Exception {
        return MeshTlsFixture.admin(sidecar, path);
    }

    @Test
    void patchesReachTheSidecarAndTheRateLimitTaskWorksUnchanged() throws Exception {
        Curl.Result[] first = new Curl.Result[1];
        Poll.until(() -> {
            first[0] = get("/reviews/1");
            return first[0] != null && first[0].status == 200;
        }, "the sidecar's inbound listener serves");
        Curl.Result r = first[0];
        assertEquals("yes", r.header("x-patched-vhost"), r.toString());
        assertNull(r.header("x-ratings-only"), "the workloadSelector selects another workload");
        assertEquals(java.util.Set.of("/late/reviews/1"), backend.byPath.keySet(), "the priority 10 patch applies "
                + "last");
        assertFalse(backend.byPath.containsKey("/early/reviews/1"));

        // The bucket holds 4 tokens: what passed the limiter reached the backend.
        Curl.Result limited = null;
        for (int i = 0; i < 8 && limited == null; i++) {
            Curl.Result next = get("/reviews/2");
            if (next.status != 200) {
                limited = next;
            }
        }
        assertEquals(4, backend.requests.get(), backend.byPath.toString());
        assertEquals(429, limited.status, limited.toString());
        assertEquals("true", limited.header("x-local-rate-limit"), limited.toString());

        String dump = admin("/config_dump");
        assertTrue(dump.contains("\"connect_timeout\": \"7s\""), "CLUSTER MERGE in the sidecar's config_dump");
        assertTrue(dump.contains("envoy.filters.http.local_ratelimit"));
        assertFalse(dump.contains("envoy.filters.http.fault"), "HTTP_FILTER REMOVE, in every context");

        String discoveryDump = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:"
                + mesh.discovery.monitoringAddress().getPort() + "/debug/config_dump?proxyID="
                + URLEncoder.encode(NODE, StandardCharsets.UTF_8))).build(), HttpResponse.BodyHandlers.ofString())
                .body();
        assertTrue(discoveryDump.contains("envoy.filters.http.local_ratelimit") && discoveryDump.contains("\"7s\""),
                discoveryDump.length() > 400 ? discoveryDump.substring(0, 400) : discoveryDump);
    }
}
