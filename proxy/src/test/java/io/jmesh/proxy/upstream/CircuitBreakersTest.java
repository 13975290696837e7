package io.jmesh.proxy.upstream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.jmesh.proxy.testing.AccessLogFiles;
import io.jmesh.proxy.testing.Curl;
import io.jmesh.proxy.testing.Poll;
import io.jmesh.proxy.testing.ProxyFixture;
import io.jmesh.proxy.testing.TestBackend;

/** Cluster {@code circuit_breakers} through a real proxy: max_requests, max_connections + max_pending_requests, max_retries. */
class CircuitBreakersTest {

    static final String CONFIG = """
            static_resources:
              listeners:
              - name: http
                address: { socket_address: { address: 127.0.0.1, port_value: 0 } }
                filter_chains:
                - filters:
                  - name: envoy.filters.network.http_connection_manager
                    typed_config:
                      "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
                      stat_prefix: ingress
                      access_log:
                      - name: envoy.access_loggers.file
                        typed_config:
                          "@type": type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog
                          path: "${LOG}"
                          log_format:
                            text_format_source:
                              inline_string: "%RESPONSE_CODE% %RESPONSE_FLAGS% %REQ(:PATH)%\\n"
                      route_config:
                        virtual_hosts:
                        - name: all
                          domains: ["*"]
                          routes:
                          - match: { prefix: /retry }
                            route:
                              cluster: backend
                              retry_policy: { retry_on: 5xx, num_retries: 2 }
                          - match: { prefix: / }
                            route: { cluster: backend }
                      http_filters:
                      - name: envoy.filters.http.router
              clusters:
              - name: backend
                connect_timeout: 1s
                type: STATIC
                circuit_breakers:
                  thresholds:
                  - { ${THRESHOLDS} }
                load_assignment:
                  cluster_name: backend
                  endpoints:
                  - lb_endpoints:
                    - endpoint: { address: { socket_address: { address: 127.0.0.1, port_value: ${BACKEND} } } }
            """;

    @Test
    void maxRequestsOverflowsWithUo(@TempDir Path dir) throws Exception {
        Path log = dir.resolve("access.log");
        try (TestBackend backend = TestBackend.start("b");
             ProxyFixture proxy = ProxyFixture.start(CONFIG, Map.of("BACKEND", backend.port(), "LOG", log,
                     "THRESHOLDS", "max_requests: 1"))) {
            CompletableFuture<Curl.Result> slow = CompletableFuture.supplyAsync(() -> curl(proxy.url("/delay/3000")));
            Poll.until(() -> backend.requests.get() == 1, "the slow request reached the backend");
            assertEquals(1, proxy.gauge("cluster.backend.circuit_breakers.default.rq_open"));
            Curl.Result second = Curl.run(proxy.url("/fast"));
            assertEquals(503, second.status);
            assertEquals("upstream connect error or disconnect/reset before headers. reset reason: overflow", second.body);
            assertEquals(1, proxy.counter("cluster.backend.upstream_rq_pending_overflow"));
            assertEquals(200, slow.get().status);
            Poll.until(() -> proxy.gauge("cluster.backend.circuit_breakers.default.rq_open") == 0, "the slot is released");
            assertEquals(200, Curl.run(proxy.url("/fast")).status, "the slot is free again");
            assertEquals(List.of("503 UO /fast", "200 - /delay/3000", "200 - /fast"), AccessLogFiles.awaitLines(log, 3));
        }
    }

    @Test
    void maxConnectionsQueuesWithinMaxPendingRequests(@TempDir Path dir) throws Exception {
        try (TestBackend backend = TestBackend.start("b");
             ProxyFixture proxy = ProxyFixture.start(CONFIG, Map.of("BACKEND", backend.port(), "LOG", dir.resolve("l"),
                     "THRESHOLDS", "max_connections: 1, max_pending_requests: 1"), 1)) {
            CompletableFuture<Curl.Result> first = CompletableFuture.supplyAsync(() -> curl(proxy.url("/delay/3000")));
            Poll.until(() -> backend.requests.get() == 1, "the first request reached the backend");
            CompletableFuture<Curl.Result> second = CompletableFuture.supplyAsync(() -> curl(proxy.url("/queued")));
            Poll.until(() -> proxy.gauge("cluster.backend.upstream_rq_pending_active") == 1, "the second request waits");
            Curl.Result third = Curl.run(proxy.url("/third"));
            assertEquals(503, third.status);
            assertEquals(1, proxy.counter("cluster.backend.upstream_rq_pending_overflow"));
            assertEquals(200, first.get().status);
            Curl.Result queued = second.get();
            assertEquals(200, queued.status);
            assertTrue(queued.body.contains("uri=/queued"), queued.body);
            assertEquals(1, backend.connections.get(), "the waiting request reused the one connection");
            assertEquals(1, proxy.counter("cluster.backend.upstream_rq_pending_total"));
        }
    }

    @Test
    void maxRetriesLimitsRetries(@TempDir Path dir) throws Exception {
        Path log = dir.resolve("access.log");
        try (TestBackend backend = TestBackend.start("b");
             ProxyFixture proxy = ProxyFixture.start(CONFIG, Map.of("BACKEND", backend.port(), "LOG", log,
                     "THRESHOLDS", "max_retries: 0"))) {
            backend.failNext.set(1);
            assertEquals(503, Curl.run(proxy.url("/retry")).status, "the upstream's 503, not retried");
            assertEquals(1, backend.requests.get());
            assertEquals(1, proxy.counter("cluster.backend.upstream_rq_retry_overflow"));
            assertEquals(0, proxy.counter("cluster.backend.upstream_rq_retry"));
            assertEquals(List.of("503 UO /retry"), AccessLogFiles.awaitLines(log, 1));
        }
    }

    @Test
    void maxRequestsPerConnectionClosesUsedConnections(@TempDir Path dir) throws Exception {
        String config = CONFIG.replace("""
                    circuit_breakers:
                      thresholds:
                      - { ${THRESHOLDS} }
                """, """
                    typed_extension_protocol_options:
                      envoy.extensions.upstreams.http.v3.HttpProtocolOptions:
                        "@type": type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions
                        common_http_protocol_options: { max_requests_per_connection: 2 }
                        explicit_http_config: { http_protocol_options: {} }
                """);
        try (TestBackend backend = TestBackend.start("b");
             ProxyFixture proxy = ProxyFixture.start(config, Map.of("BACKEND", backend.port(), "LOG", dir.resolve("l")), 1)) {
            for (int i = 0; i < 4; i++) {
                assertEquals(200, Curl.run(proxy.url("/r" + i)).status);
            }
            assertEquals(2, backend.connections.get(), "two requests per upstream connection");
        }
    }

    private static Curl.Result curl(String url) {
        try {
            return Curl.run(url);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }
}
