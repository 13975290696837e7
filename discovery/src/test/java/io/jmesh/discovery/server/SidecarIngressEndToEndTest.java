package io.jmesh.discovery.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jmesh.proxy.server.ProxyServer;
import io.jmesh.proxy.testing.Curl;
import io.jmesh.proxy.testing.Poll;
import io.jmesh.proxy.testing.TestBackend;
import io.jmesh.proxy.testing.TestCertificates;
import io.jmesh.proxy.xds.AdsBootstrap;
import io.jmesh.proxy.xds.ListenerBinding;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Sidecar {@code ingress} listeners end to end: {@code jmesh discovery} with a Sidecar selecting a workload, whose
 * ingress listeners (captureMode NONE, bound on 127.0.0.1) forward to a real backend's {@code defaultEndpoint}; a
 * real sidecar following discovery binds them, and curl calls through them: plaintext HTTP on one, TLS terminated
 * with the listener's own certificate files ({@code tls: SIMPLE}) on the other (mesh mTLS is disabled: this proxy
 * has no node agent).
 */
class SidecarIngressEndToEndTest {

    private static final String NODE = "sidecar~127.0.0.31~reviews-1.default~default.svc.cluster.local";

    @TempDir
    Path dir;

    private final List<AutoCloseable> closing = new ArrayList<>();

    @AfterEach
    void close() throws Exception {
        for (int i = closing.size() - 1; i >= 0; i--) {
            closing.get(i).close();
        }
    }

    @Test
    void ingressListenersForwardToTheirDefaultEndpoint() throws Exception {
        TestBackend app = TestBackend.start("app");
        closing.add(app);
        TestCertificates ca = TestCertificates.create(dir.resolve("ca"));
        TestCertificates.Issued cert = ca.issue("reviews", null);
        TestDiscovery d = TestDiscovery.start(java.nio.file.Files.createDirectories(dir.resolve("config")), "sidecar.yaml", """
                apiVersion: networking.istio.io/v1
                kind: Sidecar
                metadata: {name: reviews, namespace: default}
                spec:
                  workloadSelector: {labels: {app: reviews}}
                  ingress:
                  - port: {number: 9080, protocol: HTTP, name: http}
                    bind: 127.0.0.1
                    captureMode: NONE
                    defaultEndpoint: 127.0.0.1:%1$d
                  - port: {number: 9443, protocol: HTTP, name: https}
                    bind: 127.0.0.1
                    captureMode: NONE
                    defaultEndpoint: 127.0.0.1:%1$d
                    tls: {mode: SIMPLE, serverCertificate: %2$s, privateKey: %3$s}
                ---
                apiVersion: security.istio.io/v1
                kind: PeerAuthentication
                metadata: {name: default, namespace: istio-system}
                spec: {mtls: {mode: DISABLE}}
                """.formatted(app.port(), cert.certificateChain(), cert.privateKey()));
        closing.add(d);
        ProxyServer p = ProxyServer.start(AdsBootstrap.forDiscovery("127.0.0.1", d.server.grpcAddress().getPort(),
                NODE, Map.of(), Map.of("app", "reviews"), 0), 1,
                new ListenerBinding("127.0.0.1", Map.of(9080, 0, 9443, 0)));
        closing.add(p::close);
        Poll.until(() -> p.listenerAddresses().containsKey("127.0.0.1_9080")
                && p.listenerAddresses().containsKey("127.0.0.1_9443"), "the ingress listeners are bound",
                java.time.Duration.ofSeconds(30));

        int plain = p.listenerAddresses().get("127.0.0.1_9080").getPort();
        Curl.Result r = Curl.run("http://127.0.0.1:" + plain + "/hello");
        assertEquals(200, r.status, r.toString());
        assertEquals("app", r.headers.get("x-backend"));
        assertTrue(r.body.contains("uri=/hello"), r.body);

        int tls = p.listenerAddresses().get("127.0.0.1_9443").getPort();
        Curl.Result s = Curl.run("--cacert", ca.caCertificate().toString(), "https://127.0.0.1:" + tls + "/secure");
        assertEquals(200, s.status, s.toString());
        assertEquals("app", s.headers.get("x-backend"));
        assertEquals(2, app.requests.get(), "both requests reached the application");
    }
}
