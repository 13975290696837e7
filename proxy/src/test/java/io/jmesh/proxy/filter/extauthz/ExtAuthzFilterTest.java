package io.jmesh.proxy.filter.extauthz;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import com.sun.net.httpserver.HttpServer;

import io.envoyproxy.envoy.service.auth.v3.CheckRequest;
import io.jmesh.proxy.config.ConfigException;
import io.jmesh.proxy.testing.AccessLogFiles;
import io.jmesh.proxy.testing.Bootstraps;
import io.jmesh.proxy.testing.Curl;
import io.jmesh.proxy.testing.ProxyFixture;
import io.jmesh.proxy.testing.TestBackend;

/**
 * {@code envoy.filters.http.ext_authz} through a real proxy with curl, against a real gRPC Authorization server and a
 * real HTTP server (the JDK's): allow with headers both ways, deny with the service's answer, the service failing
 * with and without {@code failure_mode_allow}, the request body, per-route disabling, and config errors.
 */
class ExtAuthzFilterTest {

    static final String EXT_AUTHZ = "envoy.filters.http.ext_authz";

    static String extAuthz(String fields) {
        return Bootstraps.typed("envoy.extensions.filters.http.ext_authz.v3.ExtAuthz", fields);
    }

    private static int closedPort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    @Test
    void grpcServiceAllowsAndDeniesWithItsOwnHeadersAndBody(@TempDir Path dir) throws Exception {
        Path log = dir.resolve("access.log");
        try (TestAuthorizationServer authz = new TestAuthorizationServer();
             TestBackend backend = TestBackend.start("b");
             ProxyFixture proxy = Bootstraps.http()
                     .accessLog(log, "%RESPONSE_CODE% %RESPONSE_FLAGS% %RESPONSE_CODE_DETAILS%"
                             + " %DYNAMIC_METADATA(envoy.filters.http.ext_authz:user)%")
                     .httpFilter(EXT_AUTHZ, extAuthz("transport_api_version: V3, grpc_service: { envoy_grpc:"
                             + " { cluster_name: authz }, timeout: 10s }"))
                     .route("/off", "backend", EXT_AUTHZ, Bootstraps.typed(
                             "envoy.extensions.filters.http.ext_authz.v3.ExtAuthzPerRoute", "disabled: true"))
                     .route("/", "backend", EXT_AUTHZ, Bootstraps.typed(
                             "envoy.extensions.filters.http.ext_authz.v3.ExtAuthzPerRoute",
                             "check_settings: { context_extensions: { virtual_host: local } }"))
                     .cluster("backend", backend.port())
                     .http2Cluster("authz", authz.port())
                     .start(2)) {
            Curl.Result ok = Curl.run("-H", "x-user: alice", proxy.url("/hello?q=1"));
            assertEquals(200, ok.status, ok.toString());
            assertEquals("ok", ok.header("x-authz"));
            assertTrue(ok.body.contains("header x-authz-user=alice"), ok.body);
            assertFalse(ok.body.contains("header x-user="), "headers_to_remove took x-user away: " + ok.body);
            CheckRequest seen = authz.received.poll(10, TimeUnit.SECONDS);
            var http = seen.getAttributes().getRequest().getHttp();
            assertEquals("GET", http.getMethod());
            assertEquals("/hello?q=1", http.getPath());
            assertEquals("alice", http.getHeadersMap().get("x-user"));
            assertEquals("local", seen.getAttributes().getContextExtensionsMap().get("virtual_host"));
            assertEquals("127.0.0.1", seen.getAttributes().getSource().getAddress().getSocketAddress().getAddress());

            Curl.Result denied = Curl.run("-H", "x-user: mallory", proxy.url("/hello"));
            assertEquals(401, denied.status);
            assertEquals("denied by test", denied.body);
            assertEquals("Bearer", denied.header("www-authenticate"));
            assertEquals(200, Curl.run(proxy.url("/off")).status, "ext_authz disabled on this route");
            assertEquals(List.of("200 - via_upstream alice", "401 UAEX ext_authz_denied -", "200 - via_upstream -"),
                    AccessLogFiles.awaitLines(log, 3));
            assertEquals(1, proxy.counter("http.ingress.ext_authz.ok"));
            assertEquals(1, proxy.counter("http.ingress.ext_authz.denied"));
            assertEquals(1, authz.received.size(), "only the denied request is left: the disabled route never asked");
        }
    }

    @Test
    void serviceErrorsDenyWithStatusOnErrorOrPassWithFailureModeAllow(@TempDir Path dir) throws Exception {
        int down = closedPort();
        try (TestAuthorizationServer authz = new TestAuthorizationServer();
             TestBackend backend = TestBackend.start("b");
             ProxyFixture closed = Bootstraps.http()
                     .httpFilter(EXT_AUTHZ, extAuthz("grpc_service: { envoy_grpc: { cluster_name: authz } },"
                             + " status_on_error: { code: ServiceUnavailable }"))
                     .route("/", "backend").cluster("backend", backend.port()).http2Cluster("authz", down).start(1);
             ProxyFixture open = Bootstraps.http()
                     .httpFilter(EXT_AUTHZ, extAuthz("grpc_service: { envoy_grpc: { cluster_name: authz },"
                             + " timeout: 0.3s }, failure_mode_allow: true, failure_mode_allow_header_add: true"))
                     .route("/", "backend").cluster("backend", backend.port()).http2Cluster("authz", authz.port())
                     .start(1)) {
            Curl.Result refused = Curl.run(closed.url("/"));
            assertEquals(503, refused.status);
            assertEquals(1, closed.counter("http.ingress.ext_authz.error"));
            Curl.Result timedOut = Curl.run("-H", "x-hang: 1", open.url("/"));
            assertEquals(200, timedOut.status, "failure_mode_allow lets the request through");
            assertTrue(timedOut.body.contains("header x-envoy-auth-failure-mode-allowed=true"), timedOut.body);
            assertEquals(1, open.counter("http.ingress.ext_authz.error"));
            assertEquals(1, open.counter("http.ingress.ext_authz.failure_mode_allowed"));
        }
    }

    @Test
    void requestBodyIsSentWhenAsked() throws Exception {
        try (TestAuthorizationServer authz = new TestAuthorizationServer();
             TestBackend backend = TestBackend.start("b");
             ProxyFixture proxy = Bootstraps.http()
                     .httpFilter(EXT_AUTHZ, extAuthz("grpc_service: { envoy_grpc: { cluster_name: authz },"
                             + " timeout: 10s }, with_request_body: { max_request_bytes: 8, allow_partial_message: true }"))
                     .route("/", "backend").cluster("backend", backend.port()).http2Cluster("authz", authz.port())
                     .start(1)) {
            Curl.Result r = Curl.run("-H", "x-user: alice", "-d", "0123456789abcdef", proxy.url("/post"));
            assertEquals(200, r.status, r.toString());
            assertTrue(r.body.contains("body-bytes=16"), "the whole body still reaches the upstream: " + r.body);
            var http = authz.received.poll(10, TimeUnit.SECONDS).getAttributes().getRequest().getHttp();
            assertEquals("01234567", http.getBody());
            assertEquals(16, http.getSize());
        }
    }

    @Test
    void httpServiceAllowsOn200AndDeniesWithItsAnswer() throws Exception {
        BlockingQueue<String> asked = new LinkedBlockingQueue<>();
        HttpServer server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        server.createContext("/", exchange -> {
            String auth = exchange.getRequestHeaders().getFirst("authorization");
            asked.add(exchange.getRequestMethod() + " " + exchange.getRequestURI() + " auth=" + auth
                    + " x-custom-id=" + exchange.getRequestHeaders().getFirst("x-custom-id")
                    + " x-header-1=" + exchange.getRequestHeaders().getFirst("x-header-1")
                    + " x-other=" + exchange.getRequestHeaders().getFirst("x-other"));
            byte[] body;
            if ("Bearer good".equals(auth)) {
                exchange.getResponseHeaders().add("x-prefix-user", "alice");
                exchange.getResponseHeaders().add("x-not-forwarded", "1");
                body = new byte[0];
                exchange.sendResponseHeaders(200, -1);
            } else {
                body = "go away".getBytes(StandardCharsets.UTF_8);
                exchange.getResponseHeaders().add("x-prefix-reason", "bad token");
                exchange.sendResponseHeaders(403, body.length);
            }
            try (OutputStream out = exchange.getResponseBody()) {
                out.write(body);
            }
        });
        server.start();
        // The config istiod writes for an envoyExtAuthzHttp provider (custom-http-provider-out2.yaml).
        String config = "allowed_headers: { patterns: [{ exact: x-custom-id, ignore_case: true }] },"
                + " failure_mode_allow: false, http_service: { path_prefix: /check, server_uri: { uri:"
                + " \"http://authz.example\", cluster: authz, timeout: 10s }, authorization_request: { headers_to_add:"
                + " [{ key: x-header-1, value: value-1 }] }, authorization_response: { allowed_upstream_headers:"
                + " { patterns: [{ prefix: x-prefix-, ignore_case: true }] }, allowed_client_headers: { patterns:"
                + " [{ prefix: x-prefix-, ignore_case: true }] } } }, status_on_error: { code: Forbidden },"
                + " transport_api_version: V3";
        try (TestBackend backend = TestBackend.start("b");
             ProxyFixture proxy = Bootstraps.http()
                     .httpFilter(EXT_AUTHZ, extAuthz(config))
                     .route("/", "backend").cluster("backend", backend.port())
                     .cluster("authz", server.getAddress().getPort())
                     .start(1)) {
            Curl.Result ok = Curl.run("-H", "authorization: Bearer good", "-H", "x-custom-id: 7", "-H", "x-other: 1",
                    proxy.url("/api?x=1"));
            assertEquals(200, ok.status, ok.toString());
            assertTrue(ok.body.contains("header x-prefix-user=alice"), ok.body);
            assertFalse(ok.body.contains("x-not-forwarded"), ok.body);
            assertEquals("GET /check/api?x=1 auth=Bearer good x-custom-id=7 x-header-1=value-1 x-other=null",
                    asked.poll(10, TimeUnit.SECONDS));
            Curl.Result denied = Curl.run("-H", "authorization: Bearer bad", proxy.url("/api"));
            assertEquals(403, denied.status);
            assertEquals("go away", denied.body);
            assertEquals("bad token", denied.header("x-prefix-reason"));
            assertEquals(1, proxy.counter("http.ingress.ext_authz.ok"));
            assertEquals(1, proxy.counter("http.ingress.ext_authz.denied"));
        } finally {
            server.stop(0);
        }
    }

    @Test
    void istioCustomPolicyChecksOnlyWhatTheShadowRbacRulesSelect() throws Exception {
        // What istiod writes for a CUSTOM AuthorizationPolicy: RBAC shadow rules naming the selected requests,
        // then ext_authz enabled by the shadow result's effective policy id.
        try (TestAuthorizationServer authz = new TestAuthorizationServer();
             TestBackend backend = TestBackend.start("b");
             ProxyFixture proxy = Bootstraps.http()
                     .httpFilter("envoy.filters.http.rbac", Bootstraps.typed("envoy.extensions.filters.http.rbac.v3.RBAC",
                             "shadow_rules_stat_prefix: istio_ext_authz_, shadow_rules: { action: DENY, policies: {"
                             + " \"istio-ext-authz-ns[default]-policy[ext]-rule[0]\": { permissions: [{ url_path: { path:"
                             + " { prefix: /protected } } }], principals: [{ any: true }] } } }"))
                     .httpFilter(EXT_AUTHZ, extAuthz("grpc_service: { envoy_grpc: { cluster_name: authz }, timeout: 10s },"
                             + " filter_enabled_metadata: { filter: envoy.filters.http.rbac, path: [{ key:"
                             + " istio_ext_authz_shadow_effective_policy_id }], value: { string_match: { prefix:"
                             + " istio-ext-authz } } }"))
                     .route("/", "backend").cluster("backend", backend.port()).http2Cluster("authz", authz.port())
                     .start(1)) {
            assertEquals(200, Curl.run(proxy.url("/public")).status, "not selected: no check");
            assertEquals(401, Curl.run(proxy.url("/protected/a")).status);
            assertEquals(200, Curl.run("-H", "x-user: alice", proxy.url("/protected/a")).status);
            assertEquals(1, proxy.counter("http.ingress.ext_authz.disabled"));
            assertEquals(2, authz.received.size());
            assertEquals(2, proxy.counter("http.ingress.rbac.istio_ext_authz_shadow_denied"));
            assertEquals(1, proxy.counter("http.ingress.rbac.istio_ext_authz_shadow_allowed"));
        }
    }

    @Test
    void badConfigNamesTheField() {
        ConfigException none = assertThrows(ConfigException.class, () -> Bootstraps.http()
                .httpFilter(EXT_AUTHZ, extAuthz("failure_mode_allow: true"))
                .route("/", "b").cluster("b", 1).start(1).close());
        assertTrue(none.getMessage().endsWith("typed_config.services: null (expected: grpc_service or http_service)"),
                none.getMessage());
        ConfigException google = assertThrows(ConfigException.class, () -> Bootstraps.http()
                .httpFilter(EXT_AUTHZ, extAuthz("grpc_service: { google_grpc: { target_uri: x, stat_prefix: y } }"))
                .route("/", "b").cluster("b", 1).start(1).close());
        assertTrue(google.getMessage().endsWith("typed_config.grpc_service.google_grpc: (expected: envoy_grpc;"
                + " google_grpc is not supported)"), google.getMessage());
        ConfigException body = assertThrows(ConfigException.class, () -> Bootstraps.http()
                .httpFilter(EXT_AUTHZ, extAuthz("grpc_service: { envoy_grpc: { cluster_name: a } },"
                        + " with_request_body: { max_request_bytes: 0 }"))
                .route("/", "b").cluster("b", 1).start(1).close());
        assertTrue(body.getMessage().endsWith("typed_config.with_request_body.max_request_bytes: 0 (expected: > 0)"),
                body.getMessage());
    }
}
