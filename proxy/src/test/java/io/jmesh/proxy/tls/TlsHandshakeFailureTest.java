package io.jmesh.proxy.tls;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import javax.net.ssl.SSLHandshakeException;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.SSLSocketFactory;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.jmesh.proxy.testing.Curl;
import io.jmesh.proxy.testing.Poll;
import io.jmesh.proxy.testing.ProxyFixture;
import io.jmesh.proxy.testing.TestBackend;
import io.jmesh.proxy.testing.TestCertificates;

/**
 * Failed TLS handshakes on a listener and to an upstream are counted in Envoy's {@code ssl.*} stats and cost no
 * warning each: N bad handshakes (plain HTTP to the TLS port, clients that do not trust the certificate, clients
 * without or with the wrong certificate under mTLS) give counters equal to N and at most a few log lines.
 */
class TlsHandshakeFailureTest {

    private static final int N = 30;
    /** What the proxy may log for all the failed handshakes of one test together (it used to be ~30 lines each). */
    private static final int MAX_LOG_LINES = 10;

    /** A TLS listener (as in TlsProxyTest). */
    static final String CONFIG = """
            static_resources:
              listeners:
              - name: https
                address: { socket_address: { address: 127.0.0.1, port_value: 0 } }
                filter_chains:
                - transport_socket:
                    name: envoy.transport_sockets.tls
                    typed_config:
                      "@type": type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext
                      common_tls_context:
                        alpn_protocols: ["h2", "http/1.1"]
                        tls_certificates:
                        - certificate_chain: { filename: "${CERT}" }
                          private_key: { filename: "${KEY}" }
                  filters:
                  - name: envoy.filters.network.http_connection_manager
                    typed_config:
                      "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
                      stat_prefix: https
                      route_config:
                        virtual_hosts:
                        - name: all
                          domains: ["*"]
                          routes:
                          - match: { prefix: / }
                            route: { cluster: backend }
                      http_filters:
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

    /** A plaintext listener whose cluster speaks TLS to ${TLS_PORT}, trusting ${CA} (as in TlsProxyTest). */
    static final String UPSTREAM_TLS = """
            static_resources:
              listeners:
              - name: edge
                address: { socket_address: { address: 127.0.0.1, port_value: 0 } }
                filter_chains:
                - filters:
                  - name: envoy.filters.network.http_connection_manager
                    typed_config:
                      "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
                      stat_prefix: edge
                      route_config:
                        virtual_hosts:
                        - name: all
                          domains: ["*"]
                          routes:
                          - match: { prefix: / }
                            route: { cluster: secure_upstream }
                      http_filters:
                      - name: envoy.filters.http.router
              clusters:
              - name: secure_upstream
                connect_timeout: 1s
                type: STATIC
                typed_extension_protocol_options:
                  envoy.extensions.upstreams.http.v3.HttpProtocolOptions:
                    "@type": type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions
                    explicit_http_config: { http2_protocol_options: {} }
                transport_socket:
                  name: envoy.transport_sockets.tls
                  typed_config:
                    "@type": type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext
                    sni: localhost
                    common_tls_context:
                      validation_context:
                        trusted_ca: { filename: "${CA}" }
                load_assignment:
                  cluster_name: secure_upstream
                  endpoints:
                  - lb_endpoints:
                    - endpoint: { address: { socket_address: { address: 127.0.0.1, port_value: ${TLS_PORT} } } }
            """;

    static final String MTLS = """
            static_resources:
              listeners:
              - name: mtls
                address: { socket_address: { address: 127.0.0.1, port_value: 0 } }
                filter_chains:
                - transport_socket:
                    name: envoy.transport_sockets.tls
                    typed_config:
                      "@type": type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext
                      require_client_certificate: true
                      common_tls_context:
                        alpn_protocols: ["h2", "http/1.1"]
                        tls_certificates:
                        - certificate_chain: { filename: "${CERT}" }
                          private_key: { filename: "${KEY}" }
                        validation_context:
                          trusted_ca: { filename: "${CA}" }
                          match_typed_subject_alt_names:
                          - san_type: URI
                            matcher: { exact: "spiffe://cluster.local/ns/default/sa/allowed" }
                  filters:
                  - name: envoy.filters.network.http_connection_manager
                    typed_config:
                      "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
                      stat_prefix: mtls
                      route_config:
                        virtual_hosts:
                        - name: all
                          domains: ["*"]
                          routes:
                          - match: { prefix: / }
                            route: { cluster: backend }
                      http_filters:
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

    /** Counts the lines written to System.err (where slf4j-simple logs, from any thread) while it is installed. */
    static final class ErrCapture implements AutoCloseable {
        private final PrintStream original = System.err;
        private final ByteArrayOutputStream bytes = new ByteArrayOutputStream();

        ErrCapture() {
            System.setErr(new PrintStream(new OutputStream() {
                @Override
                public synchronized void write(int b) {
                    bytes.write(b);
                    original.write(b);
                }

                @Override
                public synchronized void write(byte[] b, int off, int len) {
                    bytes.write(b, off, len);
                    original.write(b, off, len);
                }
            }, true, StandardCharsets.UTF_8));
        }

        List<String> lines() {
            synchronized (bytes) {
                String s = bytes.toString(StandardCharsets.UTF_8);
                return s.isEmpty() ? List.of() : s.lines().toList();
            }
        }

        @Override
        public void close() {
            System.setErr(original);
        }
    }

    /** Listener stats are named after the configured address ({@code port_value: 0} here), as downstream_cx_total. */
    private static String prefix(ProxyFixture proxy) {
        return "listener.127.0.0.1_0.ssl.";
    }

    private static void plainHttp(int port) throws Exception {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress("127.0.0.1", port), 5000);
            s.setSoTimeout(10_000);
            s.getOutputStream().write("GET / HTTP/1.1\r\nHost: x\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            InputStream in = s.getInputStream();
            while (in.read() >= 0) {
                // until the proxy closes
            }
        }
    }

    /** A client with the JDK's default trust store, which does not hold the test CA. */
    private static void untrustingClient(int port) throws Exception {
        try (SSLSocket s = (SSLSocket) SSLSocketFactory.getDefault().createSocket("127.0.0.1", port)) {
            s.setSoTimeout(10_000);
            assertThrows(SSLHandshakeException.class, s::startHandshake);
        }
    }

    @Test
    void badHandshakesAreCountedNotLogged(@TempDir Path dir) throws Exception {
        TestCertificates ca = TestCertificates.create(dir);
        TestCertificates.Issued leaf = ca.issue("proxy", null, List.of("localhost"));
        try (TestBackend backend = TestBackend.start("tls-backend");
             ProxyFixture proxy = ProxyFixture.start(CONFIG, Map.of("CERT", leaf.certificateChain(),
                     "KEY", leaf.privateKey(), "BACKEND", backend.port()))) {
            String p = prefix(proxy);
            List<String> logged;
            try (ErrCapture err = new ErrCapture()) {
                for (int i = 0; i < N; i++) {
                    plainHttp(proxy.port());
                    untrustingClient(proxy.port());
                }
                Poll.until(() -> proxy.counter(p + "connection_error") == 2 * N, "connection_error = " + 2 * N);
                logged = err.lines();
            }
            assertEquals(2 * N, proxy.counter(p + "connection_error"));
            assertEquals(0, proxy.counter(p + "handshake"));
            assertEquals(0, backend.requests.get());
            assertTrue(logged.size() <= MAX_LOG_LINES, logged.size() + " lines logged for " + 2 * N
                    + " bad handshakes:\n" + String.join("\n", logged.subList(0, Math.min(40, logged.size()))));

            Curl.Result ok = Curl.run("--http1.1", "--resolve", "localhost:" + proxy.port() + ":127.0.0.1",
                    "--cacert", ca.caCertificate().toString(), "https://localhost:" + proxy.port() + "/ok");
            assertEquals(200, ok.status, ok.toString());
            assertEquals(1, proxy.counter(p + "handshake"));
            assertEquals(1, proxy.counter(p + "no_certificate"));
            assertEquals(1, proxy.counter(p + "versions.TLSv1.3"));
            assertEquals(1, proxy.server().stats().counterValues().entrySet().stream()
                    .filter(e -> e.getKey().startsWith(p + "ciphers.")).mapToLong(Map.Entry::getValue).sum());
            assertEquals(2 * N, proxy.counter(p + "connection_error"));
        }
    }

    @Test
    void clientCertificateFailuresAreClassified(@TempDir Path dir) throws Exception {
        TestCertificates ca = TestCertificates.create(dir);
        TestCertificates.Issued leaf = ca.issue("proxy", null, List.of("localhost"));
        TestCertificates.Issued allowed = ca.issue("allowed", "spiffe://cluster.local/ns/default/sa/allowed");
        TestCertificates.Issued otherSa = ca.issue("other", "spiffe://cluster.local/ns/default/sa/other");
        TestCertificates.Issued stranger = TestCertificates.create(dir.resolve("other-ca"))
                .issue("stranger", "spiffe://cluster.local/ns/default/sa/allowed");
        int n = 3;
        try (TestBackend backend = TestBackend.start("mtls-backend");
             ProxyFixture proxy = ProxyFixture.start(MTLS, Map.of("CERT", leaf.certificateChain(),
                     "KEY", leaf.privateKey(), "CA", ca.caCertificate(), "BACKEND", backend.port()))) {
            String p = prefix(proxy);
            String url = "https://localhost:" + proxy.port() + "/";
            String resolve = "localhost:" + proxy.port() + ":127.0.0.1";
            List<String> logged;
            try (ErrCapture err = new ErrCapture()) {
                for (int i = 0; i < n; i++) {
                    Curl.Result none = Curl.run("--resolve", resolve, "--cacert", ca.caCertificate().toString(), url);
                    assertNotEquals(200, none.status, none.toString());
                    Curl.Result wrongCa = Curl.run("--resolve", resolve, "--cacert", ca.caCertificate().toString(),
                            "--cert", stranger.certificateChain().toString(), "--key", stranger.privateKey().toString(),
                            url);
                    assertNotEquals(200, wrongCa.status, wrongCa.toString());
                    Curl.Result wrongSan = Curl.run("--resolve", resolve, "--cacert", ca.caCertificate().toString(),
                            "--cert", otherSa.certificateChain().toString(), "--key", otherSa.privateKey().toString(),
                            url);
                    assertNotEquals(200, wrongSan.status, wrongSan.toString());
                }
                Poll.until(() -> proxy.counter(p + "connection_error") == 3 * n, "connection_error = " + 3 * n);
                logged = err.lines();
            }
            assertEquals(n, proxy.counter(p + "fail_verify_no_cert"));
            assertEquals(n, proxy.counter(p + "fail_verify_error"));
            assertEquals(n, proxy.counter(p + "fail_verify_san"));
            assertEquals(0, backend.requests.get());
            assertTrue(logged.size() <= MAX_LOG_LINES, logged.size() + " lines logged:\n"
                    + String.join("\n", logged.subList(0, Math.min(40, logged.size()))));

            Curl.Result ok = Curl.run("--resolve", resolve, "--cacert", ca.caCertificate().toString(),
                    "--cert", allowed.certificateChain().toString(), "--key", allowed.privateKey().toString(), url);
            assertEquals(200, ok.status, ok.toString());
            assertEquals(1, proxy.counter(p + "handshake"));
            assertEquals(0, proxy.counter(p + "no_certificate"));
        }
    }

    /** An upstream whose certificate the cluster does not trust: counted per connection in the cluster's stats. */
    @Test
    void upstreamHandshakeFailuresAreCountedPerCluster(@TempDir Path dir) throws Exception {
        TestCertificates ca = TestCertificates.create(dir);
        TestCertificates.Issued stranger = TestCertificates.create(dir.resolve("other"))
                .issue("stranger", null, List.of("localhost"));
        TestCertificates.Issued trusted = ca.issue("trusted", null, List.of("localhost"));
        try (TestBackend backend = TestBackend.start("unreachable");
             ProxyFixture terminating = ProxyFixture.start(CONFIG, Map.of("CERT",
                     stranger.certificateChain(), "KEY", stranger.privateKey(), "BACKEND", backend.port()));
             ProxyFixture edge = ProxyFixture.start(UPSTREAM_TLS, Map.of("CA", ca.caCertificate(),
                     "TLS_PORT", terminating.port()))) {
            int n = 3;
            for (int i = 0; i < n; i++) {
                Curl.Result r = Curl.run(edge.url("/untrusted"));
                assertEquals(503, r.status, r.toString());
            }
            String c = "cluster.secure_upstream.";
            long attempts = edge.counter(c + "upstream_cx_total");
            assertTrue(attempts >= n, "upstream connections: " + attempts);
            Poll.until(() -> edge.counter(c + "ssl.connection_error") == attempts, "ssl.connection_error = " + attempts);
            assertEquals(attempts, edge.counter(c + "ssl.fail_verify_error"));
            assertEquals(0, edge.counter(c + "ssl.handshake"));
            // The terminating proxy sees each failure a moment after the edge does.
            Poll.until(() -> terminating.counter(prefix(terminating) + "connection_error") == attempts,
                    "terminating connection_error = " + attempts);
            assertEquals(0, backend.requests.get());
        }
        try (TestBackend backend = TestBackend.start("behind-tls");
             ProxyFixture terminating = ProxyFixture.start(CONFIG, Map.of("CERT",
                     trusted.certificateChain(), "KEY", trusted.privateKey(), "BACKEND", backend.port()));
             ProxyFixture edge = ProxyFixture.start(UPSTREAM_TLS, Map.of("CA", ca.caCertificate(),
                     "TLS_PORT", terminating.port()))) {
            Curl.Result r = Curl.run(edge.url("/trusted"));
            assertEquals(200, r.status, r.toString());
            assertEquals(1, edge.counter("cluster.secure_upstream.ssl.handshake"));
            assertEquals(1, edge.counter("cluster.secure_upstream.ssl.versions.TLSv1.3"));
            assertEquals(0, edge.counter("cluster.secure_upstream.ssl.connection_error"));
        }
    }
}
