package io.jmesh.proxy.network.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.jmesh.proxy.testing.Curl;
import io.jmesh.proxy.testing.ProxyFixture;
import io.jmesh.proxy.testing.TestBackend;
import io.jmesh.proxy.testing.TestCertificates;

/** TLS termination with a DownstreamTlsContext from files: ALPN picks HTTP/2 or HTTP/1.1; curl verifies the chain. */
class TlsProxyTest {

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

    /** Two proxies in a row: the edge speaks HTTP/2 over verified TLS (UpstreamTlsContext) to the TLS-terminating one. */
    @Test
    void upstreamTlsWithVerification(@TempDir Path dir) throws Exception {
        TestCertificates ca = TestCertificates.create(dir);
        TestCertificates.Issued leaf = ca.issue("proxy", null, java.util.List.of("localhost"));
        try (TestBackend backend = TestBackend.start("behind-tls");
             ProxyFixture terminating = ProxyFixture.start(CONFIG, Map.of("CERT", leaf.certificateChain(),
                     "KEY", leaf.privateKey(), "BACKEND", backend.port()));
             ProxyFixture edge = ProxyFixture.start(UPSTREAM_TLS, Map.of("CA", ca.caCertificate(),
                     "TLS_PORT", terminating.port()))) {
            Curl.Result r = Curl.run(edge.url("/via-tls"));
            assertEquals(200, r.status, r.toString());
            assertTrue(r.body.contains("backend=behind-tls"), r.body);
            assertEquals(1, terminating.server().stats().counterValues().get("http.https.downstream_cx_http2_total"));
        }
        TestCertificates other = TestCertificates.create(dir.resolve("other"));
        TestCertificates.Issued stranger = other.issue("stranger", null, java.util.List.of("localhost"));
        try (TestBackend backend = TestBackend.start("unreachable");
             ProxyFixture terminating = ProxyFixture.start(CONFIG, Map.of("CERT", stranger.certificateChain(),
                     "KEY", stranger.privateKey(), "BACKEND", backend.port()));
             ProxyFixture edge = ProxyFixture.start(UPSTREAM_TLS, Map.of("CA", ca.caCertificate(),
                     "TLS_PORT", terminating.port()))) {
            Curl.Result r = Curl.run(edge.url("/untrusted"));
            assertEquals(503, r.status, "an upstream certificate from an unknown CA is refused: " + r);
            assertEquals(0, backend.requests.get());
        }
    }

    @Test
    void http2AndHttp1OverTls(@TempDir Path dir) throws Exception {
        TestCertificates ca = TestCertificates.create(dir);
        TestCertificates.Issued leaf = ca.issue("proxy", null, java.util.List.of("localhost"));
        try (TestBackend backend = TestBackend.start("tls-backend");
             ProxyFixture proxy = ProxyFixture.start(CONFIG, Map.of("CERT", leaf.certificateChain(),
                     "KEY", leaf.privateKey(), "BACKEND", backend.port()))) {
            String url = "https://localhost:" + proxy.port() + "/secure";
            String resolve = "localhost:" + proxy.port() + ":127.0.0.1";
            Curl.Result h2 = Curl.run("--http2", "--resolve", resolve, "--cacert", ca.caCertificate().toString(), url);
            assertEquals(200, h2.status, h2.toString());
            assertEquals("HTTP/2", h2.httpVersion);
            assertTrue(h2.body.contains("header x-forwarded-proto=https"), h2.body);
            Curl.Result h1 = Curl.run("--http1.1", "--resolve", resolve, "--cacert", ca.caCertificate().toString(), url);
            assertEquals(200, h1.status, h1.toString());
            assertEquals("HTTP/1.1", h1.httpVersion);
            Curl.Result untrusted = Curl.run("--resolve", resolve, url);
            assertEquals(60, untrusted.exitCode, "curl rejects a chain it cannot verify: " + untrusted);
        }
    }
}
