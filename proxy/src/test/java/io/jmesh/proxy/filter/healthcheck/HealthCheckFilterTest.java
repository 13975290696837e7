package io.jmesh.proxy.filter.healthcheck;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;

import org.junit.jupiter.api.Test;

import io.jmesh.proxy.config.ConfigException;
import io.jmesh.proxy.testing.Bootstraps;
import io.jmesh.proxy.testing.Curl;
import io.jmesh.proxy.testing.ProxyFixture;
import io.jmesh.proxy.testing.TestBackend;

/** {@code envoy.filters.http.health_check} through a real proxy, with curl. */
class HealthCheckFilterTest {

    private static final String NAME = "envoy.filters.http.health_check";
    private static final String TYPE = "envoy.extensions.filters.http.health_check.v3.HealthCheck";

    /**
     * A proxy whose health check filter has {@code fields}, routing to {@code backend}; cluster {@code half} has the
     * backend (healthy) and a second endpoint (another real backend) marked UNHEALTHY by EDS; {@code empty} has none.
     */
    private static ProxyFixture start(TestBackend backend, String fields) throws Exception {
        int unhealthyPort = spare.port();
        String yaml = Bootstraps.http()
                .httpFilter(NAME, Bootstraps.typed(TYPE, fields))
                .route("/", "backend")
                .cluster("backend", backend.port())
                .cluster("half", backend.port(), unhealthyPort)
                .cluster("empty")
                .build();
        String unhealthy = "port_value: " + unhealthyPort + " } } }\n";
        assertTrue(yaml.contains(unhealthy), yaml);
        yaml = yaml.replace(unhealthy, unhealthy + "          health_status: UNHEALTHY\n");
        return ProxyFixture.start(yaml, Map.of(), 2);
    }

    private static TestBackend spare;

    @org.junit.jupiter.api.BeforeAll
    static void startSpare() throws Exception {
        spare = TestBackend.start("unhealthy");
    }

    @org.junit.jupiter.api.AfterAll
    static void stopSpare() {
        spare.close();
    }

    private static final String HEALTHZ = "headers: [ { name: \":path\", string_match: { exact: \"/healthz\" } } ]";

    @Test
    void answeredByTheProxyFromClusterHealth() throws Exception {
        try (TestBackend backend = TestBackend.start("b");
             ProxyFixture proxy = start(backend, "pass_through_mode: false, " + HEALTHZ
                     + ", cluster_min_healthy_percentages: { half: { value: 50 }, empty: { value: 0 } }")) {
            Curl.Result ok = Curl.run(proxy.url("/healthz"));
            assertEquals(200, ok.status, ok.toString());
            assertEquals("", ok.body);
            assertNull(backend.byPath.get("/healthz"), "answered by the proxy");
            Curl.Result other = Curl.run(proxy.url("/app"));
            assertEquals(200, other.status);
            assertTrue(other.body.contains("backend=b"), other.body);
            Curl.Result post = Curl.run("--data-binary", "ping", proxy.url("/healthz"));
            assertEquals(200, post.status, "a health check with a body is answered once the body ended");
        }
    }

    @Test
    void belowMinimumMissingOrEmptyClusterIs503() throws Exception {
        try (TestBackend backend = TestBackend.start("b")) {
            for (String min : new String[] {"half: { value: 60 }", "missing: { value: 10 }", "empty: { value: 1 }"}) {
                try (ProxyFixture proxy = start(backend, "pass_through_mode: false, " + HEALTHZ
                        + ", cluster_min_healthy_percentages: { " + min + " }")) {
                    Curl.Result r = Curl.run(proxy.url("/healthz"));
                    assertEquals(503, r.status, min + ": " + r);
                }
            }
            assertNull(backend.byPath.get("/healthz"));
        }
    }

    @Test
    void passThroughWithCacheAnswersFromTheCachedStatus() throws Exception {
        try (TestBackend backend = TestBackend.start("b");
             ProxyFixture proxy = start(backend, "pass_through_mode: true, cache_time: 3600s,"
                     + " headers: [ { name: \":path\", string_match: { prefix: \"/status/\" } } ]")) {
            assertEquals(503, Curl.run(proxy.url("/status/503")).status);
            assertEquals(1, backend.byPath.get("/status/503").get());
            Curl.Result cached = Curl.run(proxy.url("/status/200"));
            assertEquals(503, cached.status, "the cached upstream status answers: " + cached);
            assertNull(backend.byPath.get("/status/200"), "within cache_time nothing goes upstream");
            assertEquals(200, Curl.run(proxy.url("/other")).status, "not a health check: proxied");
        }
    }

    @Test
    void passThroughWithoutCacheGoesUpstream() throws Exception {
        try (TestBackend backend = TestBackend.start("b");
             ProxyFixture proxy = start(backend, "pass_through_mode: true, " + HEALTHZ)) {
            assertEquals(200, Curl.run(proxy.url("/healthz")).status);
            assertEquals(200, Curl.run(proxy.url("/healthz")).status);
            assertEquals(2, backend.byPath.get("/healthz").get());
        }
    }

    @Test
    void failedByTheAdminIs503EvenInPassThrough() throws Exception {
        try (TestBackend backend = TestBackend.start("b");
             ProxyFixture proxy = start(backend, "pass_through_mode: true, " + HEALTHZ)) {
            String admin = "http://127.0.0.1:" + proxy.adminPort();
            assertEquals(200, Curl.run("-X", "POST", admin + "/healthcheck/fail").status);
            Curl.Result failed = Curl.run(proxy.url("/healthz"));
            assertEquals(503, failed.status, failed.toString());
            assertNull(backend.byPath.get("/healthz"), "answered by the proxy while failing");
            Curl.Result app = Curl.run(proxy.url("/app"));
            assertEquals(200, app.status);
            assertEquals("true", app.header("x-envoy-immediate-health-check-fail"));

            assertEquals(200, Curl.run("-X", "POST", admin + "/healthcheck/ok").status);
            assertEquals(200, Curl.run(proxy.url("/healthz")).status);
            assertEquals(1, backend.byPath.get("/healthz").get());
            assertNull(Curl.run(proxy.url("/app")).header("x-envoy-immediate-health-check-fail"));
        }
    }

    @Test
    void badConfigNamesTheField() throws Exception {
        try (TestBackend backend = TestBackend.start("b")) {
            ConfigException missing = assertThrows(ConfigException.class, () -> start(backend, HEALTHZ));
            assertTrue(missing.getMessage().contains("typed_config.pass_through_mode"), missing.getMessage());
            ConfigException cache = assertThrows(ConfigException.class,
                    () -> start(backend, "pass_through_mode: false, cache_time: 5s"));
            assertTrue(cache.getMessage().contains("typed_config.cache_time: 5s"), cache.getMessage());
            ConfigException pct = assertThrows(ConfigException.class,
                    () -> start(backend, "pass_through_mode: false, cluster_min_healthy_percentages: { half: { value: 120 } }"));
            assertTrue(pct.getMessage().contains("cluster_min_healthy_percentages[\"half\"].value: 120"), pct.getMessage());
        }
    }
}
