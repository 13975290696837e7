package io.jmesh.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import com.sun.net.httpserver.HttpServer;

import io.jmesh.proxy.testing.Curl;
import io.jmesh.proxy.testing.TestBackend;

/**
 * End to end, Istio's "External authorization" task: a CUSTOM AuthorizationPolicy names a MeshConfig
 * {@code envoyExtAuthzHttp} provider, discovery gives the sidecar of {@code httpbin.foo} the RBAC shadow rules and
 * the ext_authz filter, and the sidecar asks a real HTTP authorization server (the JDK's, on port 0 of 127.0.0.1,
 * registered by a ServiceEntry) only about the requests the policy matches: those of {@code x-user: alice} go on,
 * the others get the server's own 403 answer.
 */
class ExtAuthzFollowsDiscoveryTest {

    private static final String INBOUND = "127.0.0.22";

    @TempDir
    Path dir;

    @TempDir
    Path meshDir;

    @Test
    void customPolicyAsksTheProviderOnlyAboutTheRequestsItMatches() throws Exception {
        List<String> checked = new CopyOnWriteArrayList<>();
        HttpServer authz = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        authz.createContext("/", exchange -> {
            String user = exchange.getRequestHeaders().getFirst("x-user");
            checked.add(exchange.getRequestMethod() + " " + exchange.getRequestURI() + " user=" + user);
            byte[] body = "denied by ext authz".getBytes(StandardCharsets.UTF_8);
            if ("alice".equals(user)) {
                exchange.getResponseHeaders().add("x-authz-user", "alice");
                exchange.sendResponseHeaders(200, -1);
            } else {
                exchange.getResponseHeaders().add("x-ext-reason", "not alice");
                exchange.sendResponseHeaders(403, body.length);
                exchange.getResponseBody().write(body);
            }
            exchange.close();
        });
        authz.start();
        try (TestBackend http = TestBackend.start("httpbin")) {
            Path mesh = meshDir.resolve("mesh.yaml");
            Files.writeString(mesh, """
                    extensionProviders:
                    - name: sample-ext-authz-http
                      envoyExtAuthzHttp:
                        service: foo/ext-authz
                        port: 8000
                        timeout: 5s
                        pathPrefix: /check
                        includeRequestHeadersInCheck: [x-user]
                        headersToUpstreamOnAllow: [x-authz-user]
                        headersToDownstreamOnDeny: [x-ext-reason]
                    """);
            Files.writeString(dir.resolve("mesh.yaml"), SidecarWithDiscovery.httpbinConfig(INBOUND, http.port(), 0) + """
                    apiVersion: networking.istio.io/v1
                    kind: ServiceEntry
                    metadata: {name: ext-authz, namespace: foo}
                    spec:
                      hosts: [ext-authz.foo.svc.cluster.local]
                      location: MESH_INTERNAL
                      resolution: STATIC
                      ports: [{number: 8000, name: http, protocol: HTTP}]
                      endpoints: [{address: 127.0.0.1, ports: {http: %d}}]
                    ---
                    apiVersion: security.istio.io/v1
                    kind: AuthorizationPolicy
                    metadata: {name: ext-authz, namespace: foo}
                    spec:
                      selector: {matchLabels: {app: httpbin}}
                      action: CUSTOM
                      provider: {name: sample-ext-authz-http}
                      rules: [{to: [{operation: {paths: ["/headers"]}}]}]
                    """.formatted(authz.getAddress().getPort()));
            try (SidecarWithDiscovery sidecar = SidecarWithDiscovery.httpbin(dir, mesh, INBOUND)) {
                String base = sidecar.inboundBase(INBOUND, http.port());

                Curl.Result open = Curl.run(base + "/ip");
                assertEquals(200, open.status, open.toString());
                assertEquals(List.of(), checked, "a request the policy does not match is not checked");

                Curl.Result denied = Curl.run("-H", "x-user: bob", base + "/headers");
                assertEquals(List.of(403, "denied by ext authz", "not alice"),
                        List.of(denied.status, denied.body, String.valueOf(denied.header("x-ext-reason"))));

                Curl.Result allowed = Curl.run("-H", "x-user: alice", base + "/headers");
                assertEquals(200, allowed.status, allowed.toString());
                assertEquals(new ArrayList<>(List.of("GET /check/headers user=bob", "GET /check/headers user=alice")),
                        new ArrayList<>(checked));
            }
        } finally {
            authz.stop(0);
        }
    }
}
