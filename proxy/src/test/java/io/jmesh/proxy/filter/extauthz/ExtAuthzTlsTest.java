package io.jmesh.proxy.filter.extauthz;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsServer;

import io.grpc.ServerCredentials;
import io.grpc.TlsServerCredentials;
import io.jmesh.proxy.testing.AccessLogFiles;
import io.jmesh.proxy.testing.Bootstraps;
import io.jmesh.proxy.testing.Curl;
import io.jmesh.proxy.testing.ProxyFixture;
import io.jmesh.proxy.testing.TestBackend;
import io.jmesh.proxy.testing.TestCertificates;

/**
 * {@code envoy.filters.http.ext_authz} to an authorization service that only speaks TLS (what Istio sends for an
 * {@code envoyExtAuthzHttp}/{@code envoyExtAuthzGrpc} provider whose service has a DestinationRule with {@code tls}):
 * the check goes through the cluster's {@code transport_socket}. A real JDK {@code HttpsServer} and a real gRPC-Java
 * server with TLS, certificates from {@link TestCertificates}; allowed and denied through TLS, and a server certificate
 * the cluster does not trust gives {@code status_on_error} (403, {@code ext_authz_error}) counted as an error.
 */
class ExtAuthzTlsTest {

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

    /** A JDK HTTPS authorization service: 200 for {@code authorization: Bearer good}, else 403 "go away". */
    private static HttpsServer httpsAuthz(SSLContext tls, BlockingQueue<String> asked) throws Exception {
        HttpsServer server = HttpsServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        server.setHttpsConfigurator(new HttpsConfigurator(tls));
        server.createContext("/", exchange -> {
            String auth = exchange.getRequestHeaders().getFirst("authorization");
            asked.add(exchange.getRequestMethod() + " " + exchange.getRequestURI() + " auth=" + auth);
            byte[] body;
            if ("Bearer good".equals(auth)) {
                exchange.getResponseHeaders().add("x-ext-authz-user", "alice");
                body = new byte[0];
                exchange.sendResponseHeaders(200, -1);
            } else {
                body = "go away".getBytes(StandardCharsets.UTF_8);
                exchange.sendResponseHeaders(403, body.length);
            }
            try (OutputStream out = exchange.getResponseBody()) {
                out.write(body);
            }
        });
        server.start();
        return server;
    }

    private static String httpService(String statusOnError) {
        return ExtAuthzFilterTest.extAuthz("transport_api_version: V3, http_service: { path_prefix: /check, server_uri:"
                + " { uri: \"http://authz.example\", cluster: authz, timeout: 10s }, authorization_response:"
                + " { allowed_upstream_headers: { patterns: [{ exact: x-ext-authz-user }] } } }" + statusOnError);
    }

    @Test
    void httpServiceOverTlsAllowsAndDenies(@TempDir Path dir) throws Exception {
        TestCertificates ca = TestCertificates.create(dir.resolve("ca"));
        BlockingQueue<String> asked = new LinkedBlockingQueue<>();
        HttpsServer server = httpsAuthz(serverContext(ca.issue("authz", null, List.of("authz.example")), ca), asked);
        try (TestBackend backend = TestBackend.start("b");
             ProxyFixture proxy = Bootstraps.http()
                     .httpFilter(ExtAuthzFilterTest.EXT_AUTHZ, httpService(""))
                     .route("/", "backend").cluster("backend", backend.port())
                     .cluster("authz", server.getAddress().getPort())
                     .upstreamTls("authz", "authz.example", ca.caCertificate())
                     .start(1)) {
            Curl.Result ok = Curl.run("-H", "authorization: Bearer good", proxy.url("/api?x=1"));
            assertEquals(200, ok.status, ok.toString());
            assertTrue(ok.body.contains("header x-ext-authz-user=alice"), ok.body);
            assertEquals("GET /check/api?x=1 auth=Bearer good", asked.poll(10, TimeUnit.SECONDS));

            Curl.Result denied = Curl.run("-H", "authorization: Bearer bad", proxy.url("/api"));
            assertEquals(403, denied.status, denied.toString());
            assertEquals("go away", denied.body);
            assertEquals("GET /check/api auth=Bearer bad", asked.poll(10, TimeUnit.SECONDS));
            assertEquals(1, proxy.counter("http.ingress.ext_authz.ok"));
            assertEquals(1, proxy.counter("http.ingress.ext_authz.denied"));
            assertEquals(0, proxy.counter("http.ingress.ext_authz.error"));
        } finally {
            server.stop(0);
        }
    }

    @Test
    void untrustedServerCertificateIsAnErrorWith403OrFailureModeAllow(@TempDir Path dir) throws Exception {
        TestCertificates ca = TestCertificates.create(dir.resolve("ca"));
        TestCertificates other = TestCertificates.create(dir.resolve("other"));
        BlockingQueue<String> asked = new LinkedBlockingQueue<>();
        Path log = dir.resolve("access.log");
        HttpsServer server = httpsAuthz(serverContext(ca.issue("authz", null, List.of("authz.example")), ca), asked);
        try (TestBackend backend = TestBackend.start("b");
             ProxyFixture closed = Bootstraps.http()
                     .accessLog(log, "%RESPONSE_CODE% %RESPONSE_FLAGS% %RESPONSE_CODE_DETAILS%")
                     .httpFilter(ExtAuthzFilterTest.EXT_AUTHZ, httpService(""))
                     .route("/", "backend").cluster("backend", backend.port())
                     .cluster("authz", server.getAddress().getPort())
                     .upstreamTls("authz", "authz.example", other.caCertificate())
                     .start(1);
             ProxyFixture open = Bootstraps.http()
                     .httpFilter(ExtAuthzFilterTest.EXT_AUTHZ, httpService(", failure_mode_allow: true,"
                             + " failure_mode_allow_header_add: true"))
                     .route("/", "backend").cluster("backend", backend.port())
                     .cluster("authz", server.getAddress().getPort())
                     .upstreamTls("authz", "authz.example", other.caCertificate())
                     .start(1)) {
            Curl.Result refused = Curl.run("-H", "authorization: Bearer good", closed.url("/api"));
            assertEquals(403, refused.status, refused.toString());
            assertEquals(List.of("403 UAEX ext_authz_error"), AccessLogFiles.awaitLines(log, 1));
            assertEquals(1, closed.counter("http.ingress.ext_authz.error"));
            assertEquals(0, closed.counter("http.ingress.ext_authz.ok"));

            Curl.Result let = Curl.run("-H", "authorization: Bearer good", open.url("/api"));
            assertEquals(200, let.status, let.toString());
            assertTrue(let.body.contains("header x-envoy-auth-failure-mode-allowed=true"), let.body);
            assertEquals(1, open.counter("http.ingress.ext_authz.error"));
            assertEquals(1, open.counter("http.ingress.ext_authz.failure_mode_allowed"));
            assertEquals(null, asked.poll(), "no check request got through an untrusted TLS connection");
        } finally {
            server.stop(0);
        }
    }

    @Test
    void grpcServiceOverTlsAllowsDeniesAndRefusesAnUntrustedServer(@TempDir Path dir) throws Exception {
        TestCertificates ca = TestCertificates.create(dir.resolve("ca"));
        TestCertificates other = TestCertificates.create(dir.resolve("other"));
        TestCertificates.Issued leaf = ca.issue("authz", null, List.of("ext-authz.foo.svc.cluster.local"));
        ServerCredentials tls = TlsServerCredentials.create(leaf.certificateChain().toFile(),
                leaf.privateKey().toFile());
        String filter = ExtAuthzFilterTest.extAuthz("transport_api_version: V3, grpc_service: { envoy_grpc:"
                + " { cluster_name: authz, authority: ext-authz.foo.svc.cluster.local }, timeout: 10s }");
        String tlsContext = "sni: ext-authz.foo.svc.cluster.local, common_tls_context: { alpn_protocols: [h2],"
                + " validation_context: { trusted_ca: { filename: \"%s\" }, match_typed_subject_alt_names:"
                + " [{ san_type: DNS, matcher: { exact: ext-authz.foo.svc.cluster.local } }] } }";
        try (TestAuthorizationServer authz = new TestAuthorizationServer(tls);
             TestBackend backend = TestBackend.start("b");
             ProxyFixture proxy = Bootstraps.http()
                     .httpFilter(ExtAuthzFilterTest.EXT_AUTHZ, filter)
                     .route("/", "backend").cluster("backend", backend.port())
                     .http2Cluster("authz", authz.port())
                     .upstreamTlsContext("authz", String.format(tlsContext, ca.caCertificate()))
                     .start(1);
             ProxyFixture untrusting = Bootstraps.http()
                     .httpFilter(ExtAuthzFilterTest.EXT_AUTHZ, filter)
                     .route("/", "backend").cluster("backend", backend.port())
                     .http2Cluster("authz", authz.port())
                     .upstreamTlsContext("authz", String.format(tlsContext, other.caCertificate()))
                     .start(1)) {
            Curl.Result ok = Curl.run("-H", "x-user: alice", proxy.url("/hello"));
            assertEquals(200, ok.status, ok.toString());
            assertTrue(ok.body.contains("header x-authz-user=alice"), ok.body);
            assertEquals("ok", ok.header("x-authz"));
            assertEquals("/hello", authz.received.poll(10, TimeUnit.SECONDS).getAttributes().getRequest().getHttp()
                    .getPath());

            Curl.Result denied = Curl.run("-H", "x-user: mallory", proxy.url("/hello"));
            assertEquals(401, denied.status, denied.toString());
            assertEquals("denied by test", denied.body);
            assertEquals(1, proxy.counter("http.ingress.ext_authz.ok"));
            assertEquals(1, proxy.counter("http.ingress.ext_authz.denied"));

            Curl.Result refused = Curl.run("-H", "x-user: alice", untrusting.url("/hello"));
            assertEquals(403, refused.status, refused.toString());
            assertEquals(1, untrusting.counter("http.ingress.ext_authz.error"));
            assertEquals("mallory", authz.received.poll(10, TimeUnit.SECONDS).getAttributes().getRequest().getHttp()
                    .getHeadersMap().get("x-user"));
            assertEquals(null, authz.received.poll(), "the untrusting proxy's check never reached the server");
        }
    }
}
