package io.jmesh.proxy.filter.cors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;

import org.junit.jupiter.api.Test;

import io.jmesh.proxy.testing.Curl;
import io.jmesh.proxy.testing.ProxyFixture;
import io.jmesh.proxy.testing.TestBackend;

/** {@code envoy.filters.http.cors} through a real proxy: preflights, actual requests, invalid origins. */
class CorsFilterTest {

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
                      route_config:
                        virtual_hosts:
                        - name: all
                          domains: ["*"]
                          routes:
                          - match: { prefix: /api }
                            route: { cluster: backend }
                            typed_per_filter_config:
                              envoy.filters.http.cors:
                                "@type": type.googleapis.com/envoy.extensions.filters.http.cors.v3.CorsPolicy
                                allow_origin_string_match: [ { exact: "https://app.example" }, { suffix: ".trusted.example" } ]
                                allow_methods: "GET,POST"
                                allow_headers: "content-type,x-custom"
                                expose_headers: "x-backend"
                                max_age: "600"
                                allow_credentials: true
                          - match: { prefix: /off }
                            route: { cluster: backend }
                            typed_per_filter_config:
                              envoy.filters.http.cors:
                                "@type": type.googleapis.com/envoy.extensions.filters.http.cors.v3.CorsPolicy
                                allow_origin_string_match: [ { exact: "https://app.example" } ]
                                filter_enabled: { default_value: { numerator: 0 }, runtime_key: cors.off }
                          - match: { prefix: / }
                            route: { cluster: backend }
                      http_filters:
                      - name: envoy.filters.http.cors
                        is_optional: true
                        typed_config:
                          "@type": type.googleapis.com/envoy.extensions.filters.http.cors.v3.Cors
                      - name: envoy.filters.http.router
              clusters:
              - name: backend
                connect_timeout: 1s
                type: STATIC
                load_assignment:
                  cluster_name: backend
                  endpoints:
                  - lb_endpoints:
                    - endpoint: { address: { socket_address: { address: 127.0.0.1, port_value: ${BACKEND} } } }
            """;

    @Test
    void preflightActualAndInvalidOrigin() throws Exception {
        try (TestBackend backend = TestBackend.start("b");
             ProxyFixture proxy = ProxyFixture.start(CONFIG, Map.of("BACKEND", backend.port()))) {
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
