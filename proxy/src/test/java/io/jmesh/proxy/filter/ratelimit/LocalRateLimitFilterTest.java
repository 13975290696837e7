package io.jmesh.proxy.filter.ratelimit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.jmesh.proxy.config.ConfigException;
import io.jmesh.proxy.testing.AccessLogFiles;
import io.jmesh.proxy.testing.Bootstraps;
import io.jmesh.proxy.testing.Curl;
import io.jmesh.proxy.testing.ProxyFixture;
import io.jmesh.proxy.testing.TestBackend;

/** {@code envoy.filters.http.local_ratelimit} through a real proxy, seen with curl. */
class LocalRateLimitFilterTest {

    private static final String NAME = "envoy.filters.http.local_ratelimit";
    private static final String ON = "filter_enabled: { default_value: { numerator: 100 } },"
            + " filter_enforced: { default_value: { numerator: 100 } }";

    static String limit(String fields) {
        return Bootstraps.typed("envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit", fields);
    }

    static String bucket(int max) {
        return "token_bucket: { max_tokens: " + max + ", tokens_per_fill: 1, fill_interval: 3600s }";
    }

    @Test
    void limitsWith429AndHeadersAndPerRouteOverride(@TempDir Path dir) throws Exception {
        Path log = dir.resolve("access.log");
        try (TestBackend backend = TestBackend.start("b");
             ProxyFixture proxy = Bootstraps.http()
                     .accessLog(log, "%RESPONSE_CODE% %RESPONSE_FLAGS% %REQ(:PATH)% %RESPONSE_CODE_DETAILS%")
                     .httpFilter(NAME, limit("stat_prefix: shared, " + bucket(2) + ", " + ON
                             + ", enable_x_ratelimit_headers: DRAFT_VERSION_03,"
                             + " response_headers_to_add: [ { append_action: OVERWRITE_IF_EXISTS_OR_ADD,"
                             + " header: { key: x-local-rate-limit, value: 'true' } } ]"))
                     .route("/one", "backend", NAME, limit("stat_prefix: one, " + bucket(1) + ", " + ON
                             + ", status: { code: ServiceUnavailable }"))
                     .route("/off", "backend", NAME, limit("stat_prefix: off, " + bucket(1)))
                     .route("/", "backend")
                     .cluster("backend", backend.port()).start(2)) {
            Curl.Result first = Curl.run(proxy.url("/a"));
            assertEquals(200, first.status);
            assertEquals("2", first.header("x-ratelimit-limit"));
            assertEquals("1", first.header("x-ratelimit-remaining"));
            long reset = Long.parseLong(first.header("x-ratelimit-reset"));
            assertTrue(reset >= 1 && reset <= 3600, "reset " + reset);
            assertEquals(200, Curl.run(proxy.url("/b")).status, "the bucket is shared by every request");
            Curl.Result limited = Curl.run(proxy.url("/c"));
            assertEquals(429, limited.status);
            assertEquals("local_rate_limited", limited.body);
            assertEquals("true", limited.header("x-envoy-ratelimited"));
            assertEquals("true", limited.header("x-local-rate-limit"));
            assertEquals("0", limited.header("x-ratelimit-remaining"));

            assertEquals(200, Curl.run(proxy.url("/one")).status, "the route's own bucket");
            Curl.Result one = Curl.run(proxy.url("/one"));
            assertEquals(503, one.status);
            assertNull(one.header("x-ratelimit-limit"), "the route's config has no x-ratelimit headers");

            for (int i = 0; i < 3; i++) {
                assertEquals(200, Curl.run(proxy.url("/off")).status, "filter_enabled unset is 0%, as in Envoy");
            }
            assertEquals(6, backend.requests.get(), "/a, /b, /one and three /off reached the backend");
            assertEquals(List.of("200 - /a via_upstream", "200 - /b via_upstream", "429 RL /c local_rate_limited",
                    "200 - /one via_upstream", "503 RL /one local_rate_limited"),
                    AccessLogFiles.awaitLines(log, 8).subList(0, 5));
            assertEquals(3, proxy.counter("shared.http_local_rate_limit.enabled"));
            assertEquals(2, proxy.counter("shared.http_local_rate_limit.ok"));
            assertEquals(1, proxy.counter("shared.http_local_rate_limit.rate_limited"));
            assertEquals(1, proxy.counter("shared.http_local_rate_limit.enforced"));
            assertEquals(1, proxy.counter("one.http_local_rate_limit.enforced"));
            assertEquals(0, proxy.counter("off.http_local_rate_limit.enabled"));
        }
    }

    @Test
    void descriptorsFromRouteActions() throws Exception {
        try (TestBackend backend = TestBackend.start("b");
             ProxyFixture proxy = Bootstraps.http()
                     .httpFilter(NAME, limit("stat_prefix: http_local_rate_limiter"))
                     .routeYaml("{ match: { prefix: \"/\" }, route: { cluster: backend, rate_limits: [ { actions: ["
                             + " { request_headers: { header_name: x-user, descriptor_key: user } } ] } ] },"
                             + " typed_per_filter_config: { " + NAME + ": " + limit("stat_prefix: users, "
                             + bucket(100) + ", " + ON + ", descriptors: [ { entries: [ { key: user, value: alice } ],"
                             + " token_bucket: { max_tokens: 1, fill_interval: 3600s } } ]") + " } }")
                     .cluster("backend", backend.port()).start(2)) {
            assertEquals(200, Curl.run("-H", "x-user: alice", proxy.url("/")).status);
            assertEquals(429, Curl.run("-H", "x-user: alice", proxy.url("/")).status);
            assertEquals(200, Curl.run("-H", "x-user: bob", proxy.url("/")).status);
            assertEquals(200, Curl.run(proxy.url("/")).status, "no header: no descriptor, the default bucket");
            assertEquals(1, proxy.counter("users.http_local_rate_limit.rate_limited"));
        }
    }

    @Test
    void perDownstreamConnectionBuckets() throws Exception {
        try (TestBackend backend = TestBackend.start("b");
             ProxyFixture proxy = Bootstraps.http()
                     .httpFilter(NAME, limit("stat_prefix: conn, " + bucket(1) + ", " + ON
                             + ", local_rate_limit_per_downstream_connection: true"))
                     .route("/", "backend")
                     .cluster("backend", backend.port()).start(2)) {
            // One curl run reuses its connection for both URLs: the second request finds the connection's bucket empty.
            Curl.Result both = Curl.run(proxy.url("/x"), proxy.url("/y"));
            assertEquals(429, both.status, "the second response: " + both);
            assertEquals("true", both.header("x-envoy-ratelimited"), "the second response's headers");
            assertEquals(200, Curl.run(proxy.url("/z")).status, "a new connection has a full bucket");
            assertEquals(1, proxy.counter("conn.http_local_rate_limit.rate_limited"));
        }
    }

    @Test
    void badTokenBucketIsAConfigErrorWithItsPath() {
        ConfigException e = assertThrows(ConfigException.class, () -> Bootstraps.http()
                .httpFilter(NAME, limit("stat_prefix: x, token_bucket: { max_tokens: 0, fill_interval: 1s }"))
                .route("/", "backend").cluster("backend", 1).start(1));
        assertTrue(e.getMessage().contains("http_filters[0].typed_config.token_bucket.max_tokens: 0 (expected: > 0)"),
                e.getMessage());
    }

    @Test
    void istioStyleTypedStructConfig() throws Exception {
        // As Istio's "local rate limit" task writes it in an EnvoyFilter: a TypedStruct with the config as its value.
        try (TestBackend backend = TestBackend.start("b");
             ProxyFixture proxy = Bootstraps.http()
                     .httpFilter(NAME, Bootstraps.typedStruct(
                             "envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit",
                             "{ stat_prefix: http_local_rate_limiter, " + bucket(1) + ", " + ON + " }"))
                     .route("/", "backend")
                     .cluster("backend", backend.port()).start(1)) {
            assertEquals(200, Curl.run(proxy.url("/")).status);
            assertEquals(429, Curl.run(proxy.url("/")).status);
            assertEquals(1, proxy.counter("http_local_rate_limiter.http_local_rate_limit.rate_limited"));
        }
    }
}
