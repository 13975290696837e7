package io.jmesh.proxy.tls;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Files;
import java.nio.file.Path;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.envoyproxy.envoy.config.core.v3.DataSource;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.CertificateValidationContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.Secret;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.TlsCertificate;
import io.jmesh.proxy.testing.Bootstraps;
import io.jmesh.proxy.testing.Curl;
import io.jmesh.proxy.testing.Poll;
import io.jmesh.proxy.testing.ProxyFixture;
import io.jmesh.proxy.testing.ScriptedXdsServer;
import io.jmesh.proxy.testing.TestBackend;
import io.jmesh.proxy.testing.TestCertificates;

/**
 * Mutual TLS between two jmesh proxies whose certificates and root come by SDS from agents on Unix domain
 * sockets, with Istio's secret names ({@code default}, {@code ROOTCA}) and {@code combined_validation_context}:
 * each side checks the other's SPIFFE URI SAN. The client side's cluster sends nothing before its secrets
 * arrive; a peer whose identity does not match is refused on new connections.
 */
class MutualTlsBySdsTest {

    private static final String SECRET_TYPE = "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret";
    private static final String CLIENT_ID = "spiffe://cluster.local/ns/default/sa/client";
    private static final String SERVER_ID = "spiffe://cluster.local/ns/default/sa/server";

    private static final String SDS = """
            { api_config_source: { api_type: GRPC, transport_api_version: V3,
              grpc_services: [{ envoy_grpc: { cluster_name: sds-grpc } }] }, resource_api_version: V3 }""";

    /** The fields of a TLS context: certificate {@code default} and root {@code ROOTCA} by SDS, the peer's SAN. */
    private static String tlsContext(String peerId) {
        String sds = SDS.replace("\n", " ");
        return "common_tls_context: { tls_certificate_sds_secret_configs: [{ name: default, sds_config: " + sds + " }],"
                + " combined_validation_context: { default_validation_context: { match_typed_subject_alt_names:"
                + " [{ san_type: URI, matcher: { exact: \"" + peerId + "\" } }] },"
                + " validation_context_sds_secret_config: { name: ROOTCA, sds_config: " + sds + " } } }";
    }

    /** The server side: mTLS in, plaintext to the backend. */
    private Bootstraps serverSide() {
        return Bootstraps.http()
                .bootstrap("node", "{ id: \"sidecar~127.0.0.2~server.default~default.svc.cluster.local\", cluster: server.default }")
                .listener("inbound")
                .statPrefix("inbound")
                .downstreamTlsContext("require_client_certificate: true, " + tlsContext(CLIENT_ID))
                .route("/", "backend")
                .cluster("backend", backend.port())
                .pipeCluster("sds-grpc", dir.resolve("server-SDS"));
    }

    /** The client side: plaintext in, mTLS to the server side at serverPort, one request a connection. */
    private Bootstraps clientSide(int serverPort) {
        return Bootstraps.http()
                .bootstrap("node", "{ id: \"sidecar~127.0.0.1~client.default~default.svc.cluster.local\", cluster: client.default }")
                .listener("outbound")
                .statPrefix("outbound")
                .route("/", "server")
                .cluster("server", serverPort)
                .clusterOption("server", "connect_timeout", "2s")
                .clusterOption("server", "max_requests_per_connection", "1")
                .upstreamTlsContext("server", tlsContext(SERVER_ID))
                .pipeCluster("sds-grpc", dir.resolve("client-SDS"));
    }

    @TempDir
    Path dir;

    private TestBackend backend;
    private TestCertificates ca;
    private ProxyFixture server;
    private ProxyFixture client;
    private ScriptedXdsServer serverAgent;
    private ScriptedXdsServer clientAgent;

    @BeforeAll
    static void fastPolling() {
        System.setProperty(DefaultSecretManager.POLL_PROPERTY, "50");
    }

    @BeforeEach
    void setUp() throws Exception {
        backend = TestBackend.start("backend");
        ca = TestCertificates.create(dir.resolve("ca"));
        serverAgent = ScriptedXdsServer.uds(dir.resolve("server-SDS"));
        clientAgent = ScriptedXdsServer.uds(dir.resolve("client-SDS"));
    }

    @AfterEach
    void tearDown() throws Exception {
        if (client != null) {
            client.close();
        }
        if (server != null) {
            server.close();
        }
        serverAgent.close();
        clientAgent.close();
        backend.close();
    }

    private Secret workload(String name, String spiffe) throws Exception {
        TestCertificates.Issued cert = ca.issue(name, spiffe);
        return Secret.newBuilder().setName("default").setTlsCertificate(TlsCertificate.newBuilder()
                .setCertificateChain(DataSource.newBuilder().setInlineString(Files.readString(cert.certificateChain())))
                .setPrivateKey(DataSource.newBuilder().setInlineString(Files.readString(cert.privateKey())))).build();
    }

    private Secret root() {
        return Secret.newBuilder().setName("ROOTCA").setValidationContext(CertificateValidationContext.newBuilder()
                .setTrustedCa(DataSource.newBuilder().setInlineString(ca.caPem()))).build();
    }

    private Curl.Result get() throws Exception {
        return Curl.run("http://127.0.0.1:" + client.port("outbound") + "/");
    }

    @Test
    void mutualTlsWithSpiffeIdentitiesFromSds() throws Exception {
        server = serverSide().start(2);
        serverAgent.set(SECRET_TYPE, "1", workload("server", SERVER_ID), root());
        Poll.until(() -> server.server().listenerAddresses().containsKey("inbound"), "the inbound listener binds");
        int serverPort = server.port("inbound");

        client = clientSide(serverPort).start(2);
        Poll.until(() -> clientAgent.asked(SECRET_TYPE, "default") && clientAgent.asked(SECRET_TYPE, "ROOTCA"),
                   "the client side asks its agent for default and ROOTCA");

        // No secret yet: the cluster makes no connection.
        assertEquals(503, get().status);
        assertEquals(0L, server.counter("listener.127.0.0.1_" + serverPort + ".downstream_cx_total"),
                     "nothing was sent to the server side without the client's secrets");

        clientAgent.set(SECRET_TYPE, "1", workload("client", CLIENT_ID), root());
        Poll.until(() -> {
            try {
                return get().status == 200;
            } catch (Exception e) {
                return false;
            }
        }, "a request through both proxies once the client's secrets arrive");
        Curl.Result ok = get();
        assertEquals(200, ok.status, ok.toString());

        // The server side now presents an identity the client does not expect: new connections are refused.
        serverAgent.set(SECRET_TYPE, "2", workload("impostor", "spiffe://cluster.local/ns/default/sa/other"), root());
        Poll.until(() -> {
            try {
                return get().status == 503;
            } catch (Exception e) {
                return false;
            }
        }, "the client refuses a server whose SPIFFE ID does not match");

        // Back to the right server identity; then the client presents the wrong one and the server refuses it.
        serverAgent.set(SECRET_TYPE, "3", workload("server2", SERVER_ID), root());
        Poll.until(() -> {
            try {
                return get().status == 200;
            } catch (Exception e) {
                return false;
            }
        }, "the server's identity is right again");
        clientAgent.set(SECRET_TYPE, "2", workload("intruder", "spiffe://cluster.local/ns/default/sa/intruder"), root());
        Poll.until(() -> {
            try {
                return get().status == 503;
            } catch (Exception e) {
                return false;
            }
        }, "the server refuses a client whose SPIFFE ID does not match");
    }
}
