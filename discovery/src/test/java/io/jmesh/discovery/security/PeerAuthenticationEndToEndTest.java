package io.jmesh.discovery.security;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.util.Map;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.jmesh.proxy.server.ProxyServer;
import io.jmesh.proxy.testing.Curl;
import io.jmesh.proxy.testing.Poll;
import io.jmesh.proxy.testing.TestBackend;
import io.jmesh.proxy.testing.TestCertificates;
import io.jmesh.proxy.xds.ListenerBinding;

/**
 * End to end with real sidecars following {@code jmesh discovery}: the reviews workload (a real HTTP server on
 * 127.0.0.1) behind its sidecar, whose inbound port is bound on the workload's own loopback address
 * {@code 127.0.0.61} ("local mode", {@link ListenerBinding}), and a productpage sidecar calling it through its
 * outbound listener. Certificates come from a throw-away mesh CA over SDS ({@code sds-grpc}); clients are curl.
 * <ul>
 *   <li>STRICT: curl in plaintext to the inbound port gets nothing; curl with a mesh certificate gets 200; so
 *       does the productpage sidecar (auto mTLS: ISTIO_MUTUAL, the reviews SPIFFE identity checked).</li>
 *   <li>PERMISSIVE: plaintext and the client sidecar's mTLS both get 200, the latter as a TLS handshake on the
 *       server sidecar's listener.</li>
 *   <li>DISABLE: plaintext only; the client sidecar sends plaintext (auto mTLS honours the destination).</li>
 * </ul>
 * The server sidecar's access log (MeshConfig {@code accessLogFormat}) shows the caller's SPIFFE ID.
 */
class PeerAuthenticationEndToEndTest {

    private static final String WORKLOAD_IP = "127.0.0.61";
    private static final String REVIEWS_NODE = "sidecar~" + WORKLOAD_IP + "~reviews-v1-1.default~default.svc.cluster.local";
    private static final String CLIENT_NODE = "sidecar~127.0.0.62~productpage-1.default~default.svc.cluster.local";
    private static final String HOST = "reviews.default.svc.cluster.local";

    @TempDir
    Path dir;

    private MeshTlsFixture mesh;
    private TestBackend backend;
    private ProxyServer server;
    private ProxyServer client;
    private Path accessLog;

    @BeforeEach
    void start() throws Exception {
        mesh = new MeshTlsFixture(dir);
        backend = mesh.closeLater(TestBackend.start("reviews"));
        mesh.write("services.yaml", """
                apiVersion: networking.istio.io/v1
                kind: ServiceEntry
                metadata: {name: reviews, namespace: default}
                spec:
                  hosts: [%1$s]
                  location: MESH_INTERNAL
                  resolution: STATIC
                  ports: [{number: 9080, name: http, protocol: HTTP}]
                  workloadSelector: {labels: {app: reviews}}
                ---
                apiVersion: networking.istio.io/v1
                kind: WorkloadEntry
                metadata: {name: reviews-v1, namespace: default}
                spec:
                  address: %2$s
                  ports: {http: %3$d}
                  serviceAccount: reviews
                  labels: {app: reviews, security.istio.io/tlsMode: istio}
                """.formatted(HOST, WORKLOAD_IP, backend.port()));
        mesh.write("peer-authentication.yaml", mode("STRICT"));
        accessLog = dir.resolve("access.log");
        mesh.startDiscovery(null, """
                accessLogFile: %s
                accessLogFormat: "%%DOWNSTREAM_PEER_URI_SAN%% %%RESPONSE_CODE%%"
                """.formatted(accessLog));
        server = mesh.proxy(REVIEWS_NODE, Map.of("app", "reviews"), "reviews",
                new ListenerBinding("127.0.0.1", Map.of(), WORKLOAD_IP));
        client = mesh.proxy(CLIENT_NODE, Map.of("app", "productpage"), "productpage",
                new ListenerBinding("127.0.0.1", Map.of(9080, 0)));
    }

    @AfterEach
    void stop() throws Exception {
        mesh.close();
    }

    private static String mode(String mode) {
        return """
                apiVersion: security.istio.io/v1
                kind: PeerAuthentication
                metadata: {name: default, namespace: istio-system}
                spec: {mtls: {mode: %s}}
                """.formatted(mode);
    }

    private String inboundUrl(String scheme) {
        return scheme + "://" + WORKLOAD_IP + ":" + backend.port() + "/hello";
    }

    private Curl.Result plaintext() throws Exception {
        return Curl.run("--http1.1", inboundUrl("http"));
    }

    private Curl.Result throughClientSidecar() throws Exception {
        InetSocketAddress out = client.listenerAddresses().get("0.0.0.0_9080");
        return out == null ? null : Curl.run("-H", "Host: " + HOST, "http://127.0.0.1:" + out.getPort() + "/hello");
    }

    /** The status of {@link #plaintext()}, or -1 when curl could not run (for {@link Poll}). */
    private int plaintextStatus() {
        try {
            return plaintext().status;
        } catch (Exception e) {
            return -1;
        }
    }

    /** The status of {@link #throughClientSidecar()}, 0 before its listener exists, -1 when curl could not run. */
    private int clientSidecarStatus() {
        try {
            Curl.Result r = throughClientSidecar();
            return r == null ? 0 : r.status;
        } catch (Exception e) {
            return -1;
        }
    }

    private long serverHandshakes() {
        return server.stats().counterValues().getOrDefault(
                "listener." + WORKLOAD_IP + "_" + backend.port() + ".ssl.handshake", 0L);
    }

    /** Waits until the access log (the server sidecar's inbound HCM writes the peer's SPIFFE ID) has {@code line}. */
    private void awaitPeerLogged(String line) throws Exception {
        Poll.until(() -> {
            try {
                return java.nio.file.Files.exists(accessLog)
                        && java.nio.file.Files.readAllLines(accessLog).contains(line);
            } catch (java.io.IOException e) {
                return false;
            }
        }, "access log line '" + line + "'");
    }

    private void awaitInbound() throws Exception {
        Poll.until(() -> server.listenerAddresses().containsKey(WORKLOAD_IP + "_" + backend.port()),
                "the inbound listener of the reviews workload");
    }

    @Test
    void strictRefusesPlaintextAndServesMeshCertificates() throws Exception {
        awaitInbound();
        Poll.until(() -> clientSidecarStatus() == 200, "productpage's sidecar reaches reviews over mTLS");
        assertTrue(serverHandshakes() > 0, "the call came over TLS");
        awaitPeerLogged("spiffe://cluster.local/ns/default/sa/productpage 200");

        Curl.Result plain = plaintext();
        assertEquals(0, plain.status, plain.toString());
        assertNotEquals(0, plain.exitCode, plain.toString());

        TestCertificates.Issued meshCert = mesh.ca.issue("curl-client", "spiffe://cluster.local/ns/default/sa/curl");
        Curl.Result mtls = Curl.run("--http1.1", "--cacert", mesh.ca.caCertificate().toString(),
                "--cert", meshCert.certificateChain().toString(), "--key", meshCert.privateKey().toString(),
                "--resolve", "localhost:" + backend.port() + ":" + WORKLOAD_IP,
                "https://localhost:" + backend.port() + "/hello");
        assertEquals(200, mtls.status, mtls.toString());

        Curl.Result noCert = Curl.run("--http1.1", "--cacert", mesh.ca.caCertificate().toString(),
                "--resolve", "localhost:" + backend.port() + ":" + WORKLOAD_IP,
                "https://localhost:" + backend.port() + "/hello");
        assertNotEquals(200, noCert.status, "a client certificate is required: " + noCert);
    }

    @Test
    void permissiveTakesPlaintextAndMutualTls() throws Exception {
        mesh.write("peer-authentication.yaml", mode("PERMISSIVE"));
        awaitInbound();
        Poll.until(() -> plaintextStatus() == 200, "plaintext accepted once PERMISSIVE is pushed");
        long before = serverHandshakes();
        Poll.until(() -> clientSidecarStatus() == 200, "productpage's sidecar reaches reviews");
        assertTrue(serverHandshakes() > before, "the sidecar's call came over mTLS");
        awaitPeerLogged("spiffe://cluster.local/ns/default/sa/productpage 200");
    }

    @Test
    void autoMtlsChoosesPerEndpoint() throws Exception {
        // A second reviews endpoint without a sidecar: the client sidecar must reach it in plaintext and the
        // sidecar one over mTLS (transport_socket_matches on the endpoints' tlsMode metadata).
        TestBackend legacy = mesh.closeLater(TestBackend.start("reviews-legacy"));
        mesh.write("legacy.yaml", """
                apiVersion: networking.istio.io/v1
                kind: WorkloadEntry
                metadata: {name: reviews-legacy, namespace: default}
                spec:
                  address: 127.0.0.1
                  ports: {http: %d}
                  labels: {app: reviews}
                """.formatted(legacy.port()));
        awaitInbound();
        Poll.until(() -> clientSidecarStatus() == 200 && backend.requests.get() > 0 && legacy.requests.get() > 0,
                "calls through productpage's sidecar reach both endpoints");
        // The sidecar endpoint is STRICT (plaintext would be refused) and the legacy one speaks plaintext only
        // (mTLS would fail): every call succeeding means each got its own transport socket.
        int failures = 0;
        for (int i = 0; i < 10; i++) {
            failures += clientSidecarStatus() == 200 ? 0 : 1;
        }
        assertEquals(0, failures, "every call succeeds, whichever endpoint serves it");
    }

    @Test
    void disableServesPlaintextOnly() throws Exception {
        mesh.write("peer-authentication.yaml", mode("DISABLE"));
        awaitInbound();
        Poll.until(() -> plaintextStatus() == 200, "plaintext accepted once DISABLE is pushed");
        long before = serverHandshakes();
        Poll.until(() -> clientSidecarStatus() == 200, "productpage's sidecar reaches reviews in plaintext (auto mTLS honours DISABLE)");
        assertEquals(before, serverHandshakes(), "no TLS on the server sidecar");
    }
}
