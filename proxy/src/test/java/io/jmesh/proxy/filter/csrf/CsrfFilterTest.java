package io.jmesh.proxy.filter.csrf;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

import io.jmesh.proxy.testing.Bootstraps;
import io.jmesh.proxy.testing.Curl;
import io.jmesh.proxy.testing.ProxyFixture;
import io.jmesh.proxy.testing.TestBackend;

/** {@code envoy.filters.http.csrf} through a real proxy: same-origin and listed origins pass, others get 403. */
class CsrfFilterTest {

    static final String CSRF = "envoy.filters.http.csrf";

    static String policy(String fields) {
        return Bootstraps.typed("envoy.extensions.filters.http.csrf.v3.CsrfPolicy", fields);
    }

    @Test
    void originsAreCheckedOnStateChangingRequests() throws Exception {
        try (TestBackend backend = TestBackend.start("b");
             ProxyFixture proxy = Bootstraps.http()
                     .httpFilter(CSRF, policy("filter_enabled: { default_value: { numerator: 100 } },"
                             + " additional_origins: [ { suffix: \".trusted.example\" } ]"))
                     .route("/shadow", "backend", CSRF, policy("filter_enabled: { default_value: { numerator: 0 } },"
                             + " shadow_enabled: { default_value: { numerator: 100 } }"))
                     .route("/", "backend")
                     .cluster("backend", backend.port())
                     .start(2)) {
            String self = "127.0.0.1:" + proxy.port();
            assertEquals(200, Curl.run("-X", "POST", "-H", "Origin: http://" + self, proxy.url("/a")).status);
            assertEquals(200, Curl.run("--http2-prior-knowledge", "-X", "PUT", "-H", "Referer: http://" + self + "/page",
                    proxy.url("/a")).status, "the Referer's host when there is no Origin");
            assertEquals(200, Curl.run("-X", "DELETE", "-H", "Origin: https://app.trusted.example",
                    proxy.url("/a")).status, "an additional origin");
            assertEquals(200, Curl.run("-H", "Origin: https://evil.example", proxy.url("/a")).status,
                    "GET is not checked");

            Curl.Result evil = Curl.run("-X", "POST", "-H", "Origin: https://evil.example", proxy.url("/a"));
            assertEquals(403, evil.status);
            assertEquals("Invalid origin", evil.body);
            Curl.Result h2 = Curl.run("--http2-prior-knowledge", "-X", "PATCH", "-H", "Origin: https://evil.example",
                    proxy.url("/a"));
            assertEquals(403, h2.status);
            Curl.Result missing = Curl.run("-X", "POST", proxy.url("/a"));
            assertEquals(403, missing.status, "no Origin and no Referer");
            Curl.Result shadow = Curl.run("-X", "POST", "-H", "Origin: https://evil.example", proxy.url("/shadow"));
            assertEquals(200, shadow.status, "shadow mode only counts");
            assertTrue(shadow.body.contains("method=POST"), shadow.body);

            assertEquals(3, proxy.counter("http.ingress.csrf.request_valid"));
            assertEquals(4, proxy.counter("http.ingress.csrf.request_invalid"));
            assertEquals(1, proxy.counter("http.ingress.csrf.missing_source_origin"));
            assertEquals(4, backend.byPath.get("/a").get(), "the GET and the 3 valid requests reached the backend");
        }
    }
}
