package io.jmesh.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsServer;

import io.jmesh.proxy.testing.Curl;
import io.jmesh.proxy.testing.Poll;
import io.jmesh.proxy.testing.TestBackend;
import io.jmesh.proxy.testing.TestCertificates;

/**
 * End to end, a CUSTOM policy whose {@code envoyExtAuthzHttp} provider's service only speaks HTTPS: its
 * DestinationRule says {@code tls: {mode: SIMPLE, caCertificates, sni}}, so (as istiod, which reaches the provider
 * through the service's outbound cluster) discovery gives that cluster the rule's {@code UpstreamTlsContext} and the
 * sidecar checks requests over TLS with a real JDK {@code HttpsServer}: alice allowed, bob denied with the server's
 * answer. When the rule names a CA that did not sign the server's certificate, the check fails and the sidecar answers
 * 403 (Envoy's {@code status_on_error} default; the provider does not fail open).
 */
class ExtAuthzOverTlsFollowsDiscoveryTest {

    private static final String INBOUND = "127.0.0.23";
    private static final String AUTHZ_HOST = "ext-authz.foo.svc.cluster.local";

    @TempDir
    Path dir;

    @TempDir
    Path meshDir;

    @TempDir
    Path certs;

    private static SSLContext serverContext(TestCertificates.Issued leaf, TestCertificates ca) throws Exception {
        KeyStore ks = KeyStore.getInstance("PKCS12");
        ks.load(null, null);
        ks.setKeyEntry("leaf", leaf.key(), new char[0], new Certificate[] {leaf.certificate(), ca.caX509()});
        KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
        kmf.init(ks, new char[0]);
        SSLContext ctx = SSLContext.getInstance("TLS");
        ctx.init(kmf.getKeyManagers(), null, null);
        return ctx;
    }

    private static String config(int httpbinPort, int authzPort, Path ca) {
        return SidecarWithDiscovery.httpbinConfig(INBOUND, httpbinPort, 0) + """
                apiVersion: networking.istio.io/v1
                kind: ServiceEntry
                metadata: {name: ext-authz, namespace: foo}
                spec:
                  hosts: [%s]
                  location: MESH_INTERNAL
                  resolution: STATIC
                  ports: [{number: 8443, name: https, protocol: HTTPS}]
                  endpoints: [{address: 127.0.0.1, ports: {https: %d}}]
                ---
                apiVersion: networking.istio.io/v1
                kind: DestinationRule
                metadata: {name: ext-authz, namespace: foo}
                spec:
                  host: %s
                  trafficPolicy:
                    tls: {mode: SIMPLE, caCertificates: "%s", sni: %s}
                ---
                apiVersion: security.istio.io/v1
                kind: AuthorizationPolicy
                metadata: {name: ext-authz, namespace: foo}
                spec:
                  selector: {matchLabels: {app: httpbin}}
                  action: CUSTOM
                  provider: {name: sample-ext-authz-https}
                  rules: [{to: [{operation: {paths: ["/headers"]}}]}]
                """.formatted(AUTHZ_HOST, authzPort, AUTHZ_HOST, ca, AUTHZ_HOST);
    }

    @Test
    void customPolicyChecksOverTheTlsOfTheProvidersDestinationRule() throws Exception {
        TestCertificates ca = TestCertificates.create(certs.resolve("ca"));
        TestCertificates other = TestCertificates.create(certs.resolve("other"));
        List<String> checked = new CopyOnWriteArrayList<>();
        HttpsServer authz = HttpsServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        authz.setHttpsConfigurator(new HttpsConfigurator(serverContext(ca.issue("ext-authz", null,
                List.of(AUTHZ_HOST)), ca)));
        authz.createContext("/", exchange -> {
            String user = exchange.getRequestHeaders().getFirst("x-user");
            checked.add(exchange.getRequestMethod() + " " + exchange.getRequestURI() + " user=" + user);
            byte[] body = "denied by ext authz".getBytes(StandardCharsets.UTF_8);
            if ("alice".equals(user)) {
                exchange.sendResponseHeaders(200, -1);
            } else {
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
                    - name: sample-ext-authz-https
                      envoyExtAuthzHttp:
                        service: foo/ext-authz
                        port: 8443
                        timeout: 5s
                        pathPrefix: /check
                        includeRequestHeadersInCheck: [x-user]
                    """);
            Path file = dir.resolve("mesh.yaml");
            Files.writeString(file, config(http.port(), authz.getAddress().getPort(), ca.caCertificate()));
            try (SidecarWithDiscovery sidecar = SidecarWithDiscovery.httpbin(dir, mesh, INBOUND)) {
                String base = sidecar.inboundBase(INBOUND, http.port());

                Curl.Result denied = Curl.run("-H", "x-user: bob", base + "/headers");
                assertEquals(List.of(403, "denied by ext authz"), List.of(denied.status, denied.body),
                        denied.toString());
                Curl.Result allowed = Curl.run("-H", "x-user: alice", base + "/headers");
                assertEquals(200, allowed.status, allowed.toString());
                assertEquals(List.of("GET /check/headers user=bob", "GET /check/headers user=alice"),
                        List.copyOf(checked));

                // The rule now trusts a CA that did not sign the server's certificate: the TLS handshake fails.
                Files.writeString(file, config(http.port(), authz.getAddress().getPort(), other.caCertificate()));
                Poll.until(() -> {
                    try {
                        return Curl.run("-H", "x-user: alice", base + "/headers").status == 403;
                    } catch (Exception e) {
                        throw new IllegalStateException(e);
                    }
                }, "alice refused once the provider's certificate is not trusted");
                int before = checked.size();
                Curl.Result refused = Curl.run("-H", "x-user: alice", base + "/headers");
                assertEquals(List.of(403, ""), List.of(refused.status, refused.body), refused.toString());
                assertEquals(before, checked.size(), "no check reached the server over an untrusted connection");
            }
        } finally {
            authz.stop(0);
        }
    }
}
