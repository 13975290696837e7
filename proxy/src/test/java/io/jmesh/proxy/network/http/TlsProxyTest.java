package io.jmesh.proxy.network.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.jmesh.proxy.testing.Bootstraps;
import io.jmesh.proxy.testing.Curl;
import io.jmesh.proxy.testing.ProxyFixture;
import io.jmesh.proxy.testing.TestBackend;
import io.jmesh.proxy.testing.TestCertificates;

/** TLS termination with a DownstreamTlsContext from files: ALPN picks HTTP/2 or HTTP/1.1; curl verifies the chain. */
class TlsProxyTest {

    /** A listener {@code https} terminating TLS (h2 and http/1.1 by ALPN) in front of {@code backend}. */
    static Bootstraps terminating(TestCertificates.Issued cert, int backend) {
        return Bootstraps.http()
                .listener("https")
                .statPrefix("https")
                .downstreamTls(cert.certificateChain(), cert.privateKey(), "h2", "http/1.1")
                .route("/", "backend")
                .cluster("backend", backend);
    }

    /** A listener {@code edge} speaking HTTP/2 over TLS (SNI localhost, verified against {@code ca}) to port tlsPort. */
    static Bootstraps edge(Path ca, int tlsPort) {
        return Bootstraps.http()
                .listener("edge")
                .statPrefix("edge")
                .route("/", "secure_upstream")
                .http2Cluster("secure_upstream", tlsPort)
                .upstreamTls("secure_upstream", "localhost", ca);
    }

    /** Two proxies in a row: the edge speaks HTTP/2 over verified TLS (UpstreamTlsContext) to the TLS-terminating one. */
    @Test
    void upstreamTlsWithVerification(@TempDir Path dir) throws Exception {
        TestCertificates ca = TestCertificates.create(dir);
        TestCertificates.Issued leaf = ca.issue("proxy", null, java.util.List.of("localhost"));
        try (TestBackend backend = TestBackend.start("behind-tls");
             ProxyFixture terminating = terminating(leaf, backend.port()).start(2);
             ProxyFixture edge = edge(ca.caCertificate(), terminating.port()).start(2)) {
            Curl.Result r = Curl.run(edge.url("/via-tls"));
            assertEquals(200, r.status, r.toString());
            assertTrue(r.body.contains("backend=behind-tls"), r.body);
            assertEquals(1, terminating.server().stats().counterValues().get("http.https.downstream_cx_http2_total"));
        }
        TestCertificates other = TestCertificates.create(dir.resolve("other"));
        TestCertificates.Issued stranger = other.issue("stranger", null, java.util.List.of("localhost"));
        try (TestBackend backend = TestBackend.start("unreachable");
             ProxyFixture terminating = terminating(stranger, backend.port()).start(2);
             ProxyFixture edge = edge(ca.caCertificate(), terminating.port()).start(2)) {
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
             ProxyFixture proxy = terminating(leaf, backend.port()).start(2)) {
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
