package io.jmesh.proxy.filter.cors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;


import org.junit.jupiter.api.Test;

import io.jmesh.proxy.testing.Bootstraps;
import io.jmesh.proxy.testing.Curl;
import io.jmesh.proxy.testing.ProxyFixture;
import io.jmesh.proxy.testing.TestBackend;

/** {@code envoy.filters.http.cors} through a real proxy: preflights, actual requests, invalid origins. */
class CorsFilterTest {

    private static final String CORS = "envoy.filters.http.cors";

    /** The CORS filter with a policy on {@code /api}, one turned off on {@code /off}, and none elsewhere. */
    static Bootstraps config(int backend) {
        return Bootstraps.http()
                .optionalHttpFilter(CORS, Bootstraps.typed("envoy.extensions.filters.http.cors.v3.Cors", ""))
                .route("/api", "backend", CORS, policy("""
                        allow_origin_string_match: [ { exact: "https://app.example" }, { suffix: ".trusted.example" } ],
                        allow_methods: "GET,POST", allow_headers: "content-type,x-custom", expose_headers: "x-backend",
                        max_age: "600", allow_credentials: true"""))
                .route("/off", "backend", CORS, policy("""
                        allow_origin_string_match: [ { exact: "https://app.example" } ],
                        filter_enabled: { default_value: { numerator: 0 }, runtime_key: cors.off }"""))
                .route("/", "backend")
                .cluster("backend", backend);
    }

    private static String policy(String fields) {
        return Bootstraps.typed("envoy.extensions.filters.http.cors.v3.CorsPolicy", fields.replace("\n", " "));
    }

    @Test
    void preflightActualAndInvalidOrigin() throws Exception {
        try (TestBackend backend = TestBackend.start("b");
             ProxyFixture proxy = config(backend.port()).start(2)) {
            Curl.Result pre = Curl.run("-X", "OPTIONS", "-H", "Origin: https://app.example",
                    "-H", "Access-Control-Request-Method: POST", proxy.url("/api/items"));
            assertEquals(200, pre.status);
            assertEquals("https://app.example", pre.header("access-control-allow-origin"));
            assertEquals("GET,POST", pre.header("access-control-allow-methods"));
            assertEquals("content-type,x-custom", pre.header("access-control-allow-headers"));
            assertEquals("600", pre.header("access-control-max-age"));
            assertEquals("true", pre.header("access-control-allow-credentials"));
            assertNull(pre.header("access-control-expose-headers"));
            assertNull(backend.byPath.get("/api/items"), "a preflight is answered by the proxy");

            Curl.Result actual = Curl.run("-H", "Origin: https://x.trusted.example", proxy.url("/api/items"));
            assertEquals(200, actual.status);
            assertTrue(actual.body.contains("backend=b"), actual.body);
            assertEquals("https://x.trusted.example", actual.header("access-control-allow-origin"));
            assertEquals("x-backend", actual.header("access-control-expose-headers"));
            assertEquals("true", actual.header("access-control-allow-credentials"));
            assertNull(actual.header("access-control-allow-methods"));

            Curl.Result invalid = Curl.run("-X", "OPTIONS", "-H", "Origin: https://evil.example",
                    "-H", "Access-Control-Request-Method: POST", proxy.url("/api/items"));
            assertEquals(200, invalid.status);
            assertTrue(invalid.body.contains("method=OPTIONS"), "a non-matching preflight goes upstream: " + invalid.body);
            assertNull(invalid.header("access-control-allow-origin"));

            Curl.Result noPolicy = Curl.run("-H", "Origin: https://app.example", proxy.url("/plain"));
            assertNull(noPolicy.header("access-control-allow-origin"));
            Curl.Result disabled = Curl.run("-H", "Origin: https://app.example", proxy.url("/off"));
            assertNull(disabled.header("access-control-allow-origin"), "filter_enabled 0% turns the policy off");
            assertFalse(Curl.run(proxy.url("/api/x")).headers.containsKey("access-control-allow-origin"),
                    "no Origin, no CORS");

            assertEquals(2, proxy.counter("http.ingress.cors.origin_valid"));
            assertEquals(1, proxy.counter("http.ingress.cors.origin_invalid"));
        }
    }
}
