package io.jmesh.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.math.BigInteger;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Base64;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.jmesh.proxy.testing.Bootstraps;
import io.jmesh.proxy.testing.Curl;
import io.jmesh.proxy.testing.Poll;
import io.jmesh.proxy.testing.ProxyFixture;
import io.jmesh.proxy.testing.TestBackend;
import io.jmesh.proxy.testing.TlsHttpClient;
import io.jmesh.security.agent.AgentOptions;
import io.jmesh.security.agent.FakeAgentScheduler;
import io.jmesh.security.agent.IstioCaClient;
import io.jmesh.security.agent.NodeAgent;
import io.jmesh.security.testing.TestMeshCa;

/**
 * A real {@code ProxyServer} whose TLS listener takes its certificate ({@code default}) from the node agent's SDS
 * over the Unix socket, through Istio's {@code sds-grpc} cluster; the agent gets it from the real CA over TLS.
 * curl sees the issued certificate; a rotation (driven by the agent's fake clock) reaches new handshakes while a
 * keep-alive connection made before it stays open and served.
 */
class NodeAgentSdsProxyTest {

    @TempDir
    Path dir;

    private TestMeshCa ca;
    private FakeAgentScheduler clock;
    private NodeAgent agent;
    private TestBackend backend;
    private ProxyFixture proxy;

    @BeforeEach
    void setUp() throws Exception {
        ca = TestMeshCa.start(dir.resolve("ca"), "default", "reviews");
        clock = new FakeAgentScheduler();
        Path socket = dir.resolve("var/run/secrets/workload-spiffe-uds/socket");
        agent = NodeAgent.start(AgentOptions.builder().namespace("default").serviceAccount("reviews")
                                        .certTtl(Duration.ofHours(1)).build(),
                                IstioCaClient.create(ca.address(), ca.rootFile(), ca.tokenFile()), socket, clock);
        backend = TestBackend.start("reviews");
        proxy = Bootstraps.http()
                .listener("https")
                .statPrefix("https")
                .downstreamTlsContext("common_tls_context: { tls_certificate_sds_secret_configs: [{ name: default, "
                        + "sds_config: { api_config_source: { api_type: GRPC, transport_api_version: V3, "
                        + "grpc_services: [{ envoy_grpc: { cluster_name: sds-grpc } }] }, "
                        + "resource_api_version: V3 } }] }")
                .route("/", "backend")
                .cluster("backend", backend.port())
                .pipeCluster("sds-grpc", socket)
                .bootstrap("node", "{ id: \"sidecar~127.0.0.1~reviews-v1.default~default.svc.cluster.local\" }")
                .start(2);
        Poll.until(() -> proxy.server().listenerAddresses().containsKey("https"),
                   "the listener binds once the agent's certificate came");
    }

    @AfterEach
    void tearDown() throws Exception {
        if (proxy != null) {
            proxy.close();
        }
        if (backend != null) {
            backend.close();
        }
        agent.close();
        ca.close();
    }

    private BigInteger currentSerial() {
        return agent.secrets().current().leaf().getSerialNumber();
    }

    /** curl (OpenSSL) prints the certificate the proxy served; it must be the agent's current one. */
    private void assertCurlSeesTheCurrentCertificate() throws Exception {
        // The workload certificate names only a SPIFFE ID (no DNS/IP SAN), so curl cannot check the host name:
        // -k, and the certificate itself is compared; the chain to the mesh root is checked by TlsHttpClient.
        Curl.Result r = Curl.run("-k", "-w", "%{stderr}%{certs}", "https://127.0.0.1:" + proxy.port("https") + "/");
        assertEquals(200, r.status, r.toString());
        String served = r.stderr.replaceAll("\\s", "");
        String issued = Base64.getEncoder().encodeToString(agent.secrets().current().leaf().getEncoded());
        assertTrue(served.contains(issued), "curl saw the issued certificate: " + r.stderr);
        assertTrue(r.stderr.contains("URI:spiffe://cluster.local/ns/default/sa/reviews"), r.stderr);
    }

    @Test
    void curlIsServedWithTheCertificateTheAgentGotFromTheCa() throws Exception {
        assertCurlSeesTheCurrentCertificate();
        try (TlsHttpClient c = TlsHttpClient.connect(proxy.port("https"), ca.root())) {
            assertEquals(200, c.get("/").status());
            assertEquals(currentSerial(), c.serverSerial(), "the chain checks out against the mesh root");
        }
    }

    @Test
    void rotationReachesNewHandshakesWithoutClosingAKeptConnection() throws Exception {
        BigInteger first = currentSerial();
        try (TlsHttpClient kept = TlsHttpClient.connect(proxy.port("https"), ca.root())) {
            assertEquals(200, kept.get("/").status());
            assertEquals(first, kept.serverSerial());

            clock.forwardTo(agent.secrets().nextAttempt());
            Poll.until(() -> agent.secrets().current().version() == 2, "the agent rotates at the grace point");
            BigInteger second = currentSerial();
            assertNotEquals(first, second);
            Poll.until(() -> {
                try (TlsHttpClient c = TlsHttpClient.connect(proxy.port("https"), ca.root())) {
                    return c.serverSerial().equals(second) && c.get("/").status() == 200;
                } catch (Exception e) {
                    return false;
                }
            }, "a new handshake gets the rotated certificate");
            assertCurlSeesTheCurrentCertificate();

            assertEquals(200, kept.get("/").status(), "the kept connection is still served");
            assertEquals(first, kept.serverSerial(), "and keeps its handshake");
            assertTrue(kept.isOpen());
        }
    }
}
