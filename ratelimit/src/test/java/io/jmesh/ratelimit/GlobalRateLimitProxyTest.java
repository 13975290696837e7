package io.jmesh.ratelimit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.jmesh.proxy.testing.AccessLogFiles;
import io.jmesh.proxy.testing.Bootstraps;
import io.jmesh.proxy.testing.Curl;
import io.jmesh.proxy.testing.ProxyFixture;
import io.jmesh.proxy.testing.TestBackend;

/** {@code envoy.filters.http.ratelimit} in a real proxy asking a real {@code jmesh ratelimit} over gRPC; curl sees it. */
class GlobalRateLimitProxyTest {

    static final String NAME = "envoy.filters.http.ratelimit";
    static final String CONFIG = """
            domain: edge
            descriptors:
              - key: user
                rate_limit: { unit: hour, requests_per_unit: 2 }
            """;

    static String filter(String extra) {
        return Bootstraps.typed("envoy.extensions.filters.http.ratelimit.v3.RateLimit", "domain: edge, timeout: 10s,"
                + " rate_limit_service: { transport_api_version: V3, grpc_service: { envoy_grpc: { cluster_name: rls } } }"
                + extra);
    }

    static Bootstraps proxy(int backend, int rls, String extra, Path log) {
        return Bootstraps.http()
                .accessLog(log, "%RESPONSE_CODE% %RESPONSE_FLAGS% %REQ(X-USER)% %RESPONSE_CODE_DETAILS%")
                .httpFilter(NAME, filter(extra))
                .routeYaml("{ match: { prefix: \"/\" }, route: { cluster: backend, rate_limits: [ { actions: ["
                        + " { request_headers: { header_name: x-user, descriptor_key: user } } ] } ] } }")
                .cluster("backend", backend)
                .http2Cluster("rls", rls);
    }

    @Test
    void overLimitIs429WithHeaders(@TempDir Path dir) throws Exception {
        Path cfg = Files.writeString(dir.resolve("config.yaml"), CONFIG);
        Path log = dir.resolve("access.log");
        long fixed = 1_700_000_000L / 3600 * 3600 + 600;
        try (RateLimitServer rls = RateLimitServer.start(RateLimitServer.Options.of(cfg).port(0)
                     .responseHeaders(true).epochSeconds(() -> fixed));
             TestBackend backend = TestBackend.start("b");
             ProxyFixture proxy = proxy(backend.port(), rls.port(),
                     ", enable_x_ratelimit_headers: DRAFT_VERSION_03", log).start(2)) {
            Curl.Result first = Curl.run("-H", "x-user: alice", proxy.url("/"));
            assertEquals(200, first.status, first.toString());
            assertEquals("2, 2;w=3600", first.header("x-ratelimit-limit"));
            assertEquals("1", first.header("x-ratelimit-remaining"));
            assertEquals("3000", first.header("x-ratelimit-reset"));
            assertEquals("1", first.header("ratelimit-remaining"), "the service's response_headers_to_add");
            assertEquals(200, Curl.run("-H", "x-user: alice", proxy.url("/")).status);
            Curl.Result limited = Curl.run("-H", "x-user: alice", proxy.url("/"));
            assertEquals(429, limited.status);
            assertEquals("true", limited.header("x-envoy-ratelimited"));
            assertEquals("0", limited.header("x-ratelimit-remaining"));
            assertEquals(200, Curl.run("-H", "x-user: bob", proxy.url("/")).status);
            Curl.Result none = Curl.run(proxy.url("/"));
            assertEquals(200, none.status);
            assertNull(none.header("x-ratelimit-limit"), "no descriptor: the service is not asked");
            assertEquals(4, backend.requests.get());
            assertEquals(List.of("200 - alice via_upstream", "200 - alice via_upstream", "429 RL alice request_rate_limited",
                    "200 - bob via_upstream", "200 - - via_upstream"), AccessLogFiles.awaitLines(log, 5));
            assertEquals(3, proxy.counter("cluster.backend.ratelimit.ok"));
            assertEquals(1, proxy.counter("cluster.backend.ratelimit.over_limit"));
        }
    }

    @Test
    void deadServiceFailsOpenOrWithFailureModeDenyCloses(@TempDir Path dir) throws Exception {
        int dead;
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            dead = s.getLocalPort();
        }
        try (TestBackend backend = TestBackend.start("b");
             ProxyFixture open = proxy(backend.port(), dead, "", dir.resolve("a.log")).start(1);
             ProxyFixture deny = proxy(backend.port(), dead, ", failure_mode_deny: true", dir.resolve("d.log")).start(1)) {
            assertEquals(200, Curl.run("-H", "x-user: alice", open.url("/")).status);
            assertEquals(1, open.counter("cluster.backend.ratelimit.error"));
            assertEquals(1, open.counter("cluster.backend.ratelimit.failure_mode_allowed"));
            assertEquals(500, Curl.run("-H", "x-user: alice", deny.url("/")).status);
            assertEquals(List.of("500 RLSE alice rate_limiter_error"), AccessLogFiles.awaitLines(dir.resolve("d.log"), 1));
            assertEquals(0, deny.counter("cluster.backend.ratelimit.failure_mode_allowed"));
            assertEquals(1, backend.requests.get());
        }
    }

    @Test
    void tcpConnectionsOverTheGlobalLimitAreClosed(@TempDir Path dir) throws Exception {
        Path cfg = Files.writeString(dir.resolve("config.yaml"), """
                domain: tcp
                descriptors:
                  - key: listener
                    value: ingress
                    rate_limit: { unit: hour, requests_per_unit: 1 }
                """);
        try (RateLimitServer rls = RateLimitServer.start(RateLimitServer.Options.of(cfg).port(0)
                     .epochSeconds(() -> 1_700_000_000L / 3600 * 3600));
             TestBackend backend = TestBackend.start("b");
             ProxyFixture proxy = Bootstraps.tcp("backend")
                     .networkFilter("envoy.filters.network.ratelimit", Bootstraps.typed(
                             "envoy.extensions.filters.network.ratelimit.v3.RateLimit", "stat_prefix: tcp_in,"
                             + " domain: tcp, timeout: 10s, descriptors: [ { entries: [ { key: listener, value: ingress } ] } ],"
                             + " rate_limit_service: { transport_api_version: V3,"
                             + " grpc_service: { envoy_grpc: { cluster_name: rls } } }"))
                     .cluster("backend", backend.port())
                     .http2Cluster("rls", rls.port()).start(1)) {
            assertEquals(200, Curl.run(proxy.url("/1")).status);
            Curl.Result second = Curl.run(proxy.url("/2"));
            assertEquals(0, second.status, "closed without a reply: " + second + " " + proxy.server().stats().counterValues());
            assertEquals(1, proxy.counter("ratelimit.tcp_in.ok"));
            assertEquals(1, proxy.counter("ratelimit.tcp_in.over_limit"));
            assertEquals(1, proxy.counter("ratelimit.tcp_in.cx_closed"));
            assertEquals(1, backend.requests.get());
        }
    }
}
