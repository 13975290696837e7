package io.jmesh.proxy.listener;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.jmesh.proxy.testing.Bootstraps;
import io.jmesh.proxy.testing.Curl;
import io.jmesh.proxy.testing.ProxyFixture;
import io.jmesh.proxy.testing.TestBackend;
import io.jmesh.proxy.testing.TestCertificates;

/**
 * One listener, several filter chains chosen as Envoy chooses them: by SNI (exact before wildcard), by
 * transport protocol (TLS or plaintext on the same port), and the default chain when nothing matches.
 */
class FilterChainMatchTest {

    /** One filter chain as JSON (a subset of YAML, so the bootstrap loader reads it). */
    /** An HTTP chain routing to {@code cluster} (also its stat prefix), with TLS on {@code cert} unless null. */
    static Bootstraps httpChain(String cluster, int port, TestCertificates.Issued cert) {
        Bootstraps chain = Bootstraps.http().statPrefix(cluster).route("/", cluster).cluster(cluster, port);
        return cert == null ? chain : chain.downstreamTls(cert.certificateChain(), cert.privateKey(), "h2", "http/1.1");
    }

    @Test
    void chainsChosenBySniTransportAndDefault(@TempDir Path dir) throws Exception {
        TestCertificates ca = TestCertificates.create(dir);
        TestCertificates.Issued a = ca.issue("a", null, List.of("a.mesh.example"));
        TestCertificates.Issued wild = ca.issue("wild", null, List.of("*.mesh.example"));
        try (TestBackend ba = TestBackend.start("exact-a");
             TestBackend bw = TestBackend.start("wildcard");
             TestBackend bp = TestBackend.start("plaintext")) {
            Bootstraps config = Bootstraps.multiChain("multi")
                    .filterChain("{ server_names: [\"*.mesh.example\"], transport_protocol: tls }",
                            httpChain("wildcard", bw.port(), wild))
                    .filterChain("{ server_names: [a.mesh.example], transport_protocol: tls }",
                            httpChain("exact_a", ba.port(), a))
                    .filterChain("{ transport_protocol: raw_buffer }", httpChain("plaintext", bp.port(), null));
            try (ProxyFixture proxy = config.start(2)) {
                int port = proxy.port();
                String caFile = ca.caCertificate().toString();
                Curl.Result exact = Curl.run("--resolve", "a.mesh.example:" + port + ":127.0.0.1", "--cacert", caFile,
                        "https://a.mesh.example:" + port + "/x");
                assertEquals(200, exact.status, exact.toString());
                assertTrue(exact.body.contains("backend=exact-a"), exact.body);
                Curl.Result other = Curl.run("--http2", "--resolve", "b.mesh.example:" + port + ":127.0.0.1", "--cacert", caFile,
                        "https://b.mesh.example:" + port + "/y");
                assertEquals(200, other.status, other.toString());
                assertEquals("HTTP/2", other.httpVersion);
                assertTrue(other.body.contains("backend=wildcard"), other.body);
                Curl.Result plain = Curl.run("http://127.0.0.1:" + port + "/z");
                assertEquals(200, plain.status, plain.toString());
                assertTrue(plain.body.contains("backend=plaintext"), plain.body);
                Curl.Result noSni = Curl.run("-k", "https://127.0.0.1:" + port + "/none");
                assertTrue(noSni.exitCode != 0, "TLS without a matching SNI and no default chain is closed: " + noSni);
            }
        }
    }
}
