package io.jmesh.proxy.upstream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CompletableFuture;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.jmesh.proxy.testing.AccessLogFiles;
import io.jmesh.proxy.testing.Bootstraps;
import io.jmesh.proxy.testing.Curl;
import io.jmesh.proxy.testing.Poll;
import io.jmesh.proxy.testing.ProxyFixture;
import io.jmesh.proxy.testing.TestBackend;

/** Cluster {@code circuit_breakers} through a real proxy: max_requests, max_connections + max_pending_requests, max_retries. */
class CircuitBreakersTest {

    /** Routes {@code /retry} with two retries on 5xx and the rest plainly to {@code backend}, logging each request. */
    static Bootstraps config(int backend, Path log) {
        return Bootstraps.http()
                .accessLog(log, "%RESPONSE_CODE% %RESPONSE_FLAGS% %REQ(:PATH)%")
                .routeYaml("{ match: { prefix: /retry }, route: { cluster: backend, retry_policy: { retry_on: 5xx, num_retries: 2 } } }")
                .route("/", "backend")
                .cluster("backend", backend);
    }

    @Test
    void maxRequestsOverflowsWithUo(@TempDir Path dir) throws Exception {
        Path log = dir.resolve("access.log");
        try (TestBackend backend = TestBackend.start("b");
             ProxyFixture proxy = config(backend.port(), log).circuitBreakers("backend", "max_requests: 1").start(2)) {
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
             ProxyFixture proxy = config(backend.port(), dir.resolve("l"))
                     .circuitBreakers("backend", "max_connections: 1, max_pending_requests: 1").start(1)) {
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
             ProxyFixture proxy = config(backend.port(), log).circuitBreakers("backend", "max_retries: 0").start(2)) {
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
        try (TestBackend backend = TestBackend.start("b");
             ProxyFixture proxy = config(backend.port(), dir.resolve("l")).httpProtocolOptions("backend",
                     "common_http_protocol_options: { max_requests_per_connection: 2 }, "
                             + "explicit_http_config: { http_protocol_options: {} }").start(1)) {
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
