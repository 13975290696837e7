package io.jmesh.proxy.network.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.jmesh.proxy.testing.AccessLogFiles;
import io.jmesh.proxy.testing.Curl;
import io.jmesh.proxy.testing.ProxyFixture;
import io.jmesh.proxy.testing.TestBackend;

/**
 * The connection manager's filter chain through a real proxy and curl: a filter found by the registry through
 * {@code META-INF/services} re-routes after {@code clearRouteCache()} and leaves filter state for the access log;
 * local replies for gRPC requests and through {@code local_reply_config}; the route {@code idle_timeout}.
 */
class HttpFilterChainTest {

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
                      stream_idle_timeout: 0.3s
                      access_log:
                      - name: envoy.access_loggers.file
                        typed_config:
                          "@type": type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog
                          path: "${LOG}"
                          log_format:
                            text_format_source:
                              inline_string: "%RESPONSE_CODE% %RESPONSE_FLAGS% %ROUTE_NAME% %UPSTREAM_CLUSTER% %FILTER_STATE(jmesh.test.set_header:PLAIN)% %RESPONSE_CODE_DETAILS%\\n"
                      local_reply_config:
                        mappers:
                        - filter: { status_code_filter: { comparison: { op: EQ, value: { default_value: 404, runtime_key: lr.404 } } } }
                          status_code: 410
                          body: { inline_string: "gone" }
                          headers_to_add: [ { header: { key: x-mapped, value: "yes" }, append_action: OVERWRITE_IF_EXISTS_OR_ADD } ]
                        body_format: { text_format: "%LOCAL_REPLY_BODY% (%RESPONSE_CODE%)\\n" }
                      route_config:
                        virtual_hosts:
                        - name: all
                          domains: ["*"]
                          routes:
                          - name: canary
                            match: { prefix: /who, headers: [ { name: x-variant, string_match: { exact: canary } } ] }
                            route: { cluster: canary }
                          - name: stable
                            match: { prefix: /who }
                            route: { cluster: stable }
                          - name: idle-off
                            match: { prefix: /slow/ }
                            route: { cluster: stable, prefix_rewrite: /delay/, idle_timeout: 0s, timeout: 5s }
                          - name: idle-short
                            match: { prefix: /delay/ }
                            route: { cluster: stable, idle_timeout: 0.2s, timeout: 0s }
                          - name: broken
                            match: { prefix: /broken }
                            route: { cluster: missing }
                      http_filters:
                      - name: jmesh.test.set_header
                        typed_config:
                          "@type": type.googleapis.com/google.protobuf.Struct
                          value: { header: x-variant, value: canary, clear_route_cache: true }
                      - name: envoy.filters.http.router
              clusters:
              - name: stable
                connect_timeout: 1s
                type: STATIC
                load_assignment:
                  cluster_name: stable
                  endpoints:
                  - lb_endpoints:
                    - endpoint: { address: { socket_address: { address: 127.0.0.1, port_value: ${STABLE} } } }
              - name: canary
                connect_timeout: 1s
                type: STATIC
                load_assignment:
                  cluster_name: canary
                  endpoints:
                  - lb_endpoints:
                    - endpoint: { address: { socket_address: { address: 127.0.0.1, port_value: ${CANARY} } } }
            """;

    @Test
    void filtersRerouteAnswerLocallyAndTimeOut(@TempDir Path dir) throws Exception {
        Path log = dir.resolve("access.log");
        try (TestBackend stable = TestBackend.start("stable");
             TestBackend canary = TestBackend.start("canary");
             ProxyFixture proxy = ProxyFixture.start(CONFIG, Map.of("STABLE", stable.port(), "CANARY", canary.port(),
                     "LOG", log))) {
            // The filter sets x-variant: canary and clears the route cache: the canary route wins.
            Curl.Result who = Curl.run(proxy.url("/who"));
            assertEquals(200, who.status);
            assertEquals(1, canary.requests.get(), who.body);
            assertEquals(0, stable.requests.get());

            // No route: 404, rewritten by the local_reply_config mapper and formatted with body_format.
            Curl.Result gone = Curl.run(proxy.url("/nowhere"));
            assertEquals(410, gone.status);
            assertEquals("gone (410)\n", gone.body);
            assertEquals("yes", gone.header("x-mapped"));

            // No cluster: a plain 503 with the body format only.
            Curl.Result broken = Curl.run(proxy.url("/broken"));
            assertEquals(503, broken.status);
            assertEquals(" (503)\n", broken.body);

            // A gRPC request gets a trailers-only gRPC reply: 503 maps to UNAVAILABLE (14); the formatted body,
            // without its newline, is the percent-encoded grpc-message.
            Curl.Result grpc = Curl.run("-H", "content-type: application/grpc", "-X", "POST", "--data-binary", "",
                    proxy.url("/broken/pkg.Svc/Call"));
            assertEquals(200, grpc.status, grpc.stderr);
            assertEquals("14", grpc.header("grpc-status"));
            assertEquals("%20(503)", grpc.header("grpc-message"));
            assertEquals("application/grpc", grpc.header("content-type"));
            assertEquals("", grpc.body);

            // Route idle_timeout: 0s turns the HCM's 0.3 s stream_idle_timeout off for a 1 s upstream answer ...
            Curl.Result slow = Curl.run(proxy.url("/slow/1000"));
            assertEquals(200, slow.status);
            // ... and 0.2 s replaces it on another route: 504 with flag SI (the request was complete).
            Curl.Result idle = Curl.run(proxy.url("/delay/5000"));
            assertEquals(504, idle.status);
            assertEquals("stream timeout", idle.body.split(" \\(")[0]);
            assertEquals(1, proxy.counter("http.ingress.downstream_rq_idle_timeout"));

            List<String> lines = AccessLogFiles.awaitLines(log, 6);
            assertEquals(List.of(
                    "200 - canary canary x-variant=canary via_upstream",
                    "410 NR - - x-variant=canary route_not_found",
                    "503 NC broken - x-variant=canary cluster_not_found",
                    "200 NC broken - x-variant=canary cluster_not_found",
                    "200 - idle-off stable x-variant=canary via_upstream",
                    "504 SI idle-short stable x-variant=canary stream_idle_timeout"), lines);
            assertTrue(stable.requests.get() >= 1);
        }
    }
}
