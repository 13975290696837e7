package io.jmesh.proxy.tls;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.math.BigInteger;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.envoyproxy.envoy.config.core.v3.DataSource;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.Secret;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.TlsCertificate;
import io.jmesh.proxy.testing.Bootstraps;
import io.jmesh.proxy.testing.Poll;
import io.jmesh.proxy.testing.ProxyFixture;
import io.jmesh.proxy.testing.ScriptedXdsServer;
import io.jmesh.proxy.testing.TestBackend;
import io.jmesh.proxy.testing.TestCertificates;
import io.jmesh.proxy.testing.TlsHttpClient;

/**
 * A listener's certificate rotates without draining: by rewriting the files of a watched directory, by an SDS push
 * over ADS, and by an SDS push from a server on a Unix domain socket (as Istio's agent serves it). While a client
 * holds a keep-alive connection and other clients keep connecting, no request fails, new handshakes see the new
 * certificate, and the old connection stays open with the old one. A listener whose secret has not arrived is not
 * bound until it does.
 */
class SecretRotationTest {

    private static final String SECRET_TYPE = "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret";

    private static final String NODE =
            "{ id: \"sidecar~127.0.0.1~server.default~default.svc.cluster.local\", cluster: server.default }";

    @TempDir
    Path dir;

    private TestBackend backend;
    private TestCertificates ca;
    private TestCertificates.Issued v1;
    private TestCertificates.Issued v2;
    private ProxyFixture proxy;

    @BeforeAll
    static void fastPolling() {
        System.setProperty(DefaultSecretManager.POLL_PROPERTY, "50");
    }

    @BeforeEach
    void setUp() throws Exception {
        backend = TestBackend.start("backend");
        ca = TestCertificates.create(dir.resolve("ca"));
        v1 = ca.issue("v1", "spiffe://cluster.local/ns/default/sa/server");
        v2 = ca.issue("v2", "spiffe://cluster.local/ns/default/sa/server");
    }

    @AfterEach
    void tearDown() {
        if (proxy != null) {
            proxy.close();
        }
        backend.close();
    }

    private static Secret secret(TestCertificates.Issued cert) throws Exception {
        return Secret.newBuilder().setName("server-cert").setTlsCertificate(TlsCertificate.newBuilder()
                .setCertificateChain(DataSource.newBuilder().setInlineString(Files.readString(cert.certificateChain())))
                .setPrivateKey(DataSource.newBuilder().setInlineString(Files.readString(cert.privateKey())))).build();
    }

    private BigInteger serial(TestCertificates.Issued cert) {
        return cert.certificate().getSerialNumber();
    }

    /**
     * Holds one connection, keeps opening new ones on another thread, runs {@code rotate}, and checks what a user
     * sees: every request answered 200, new handshakes get {@code next}, the held connection still works with
     * {@code previous}.
     */
    private void assertRotatesWithoutDraining(int port, TestCertificates.Issued previous, TestCertificates.Issued next,
                                              ThrowingRunnable rotate) throws Exception {
        try (TlsHttpClient kept = TlsHttpClient.connect(port, ca.caX509())) {
            assertEquals(200, kept.get("/").status());
            assertEquals(serial(previous), kept.serverSerial());
            List<String> failures = Collections.synchronizedList(new ArrayList<>());
            AtomicBoolean sawNext = new AtomicBoolean();
            AtomicBoolean stop = new AtomicBoolean();
            AtomicInteger served = new AtomicInteger();
            Thread clients = new Thread(() -> {
                while (!stop.get()) {
                    try (TlsHttpClient c = TlsHttpClient.connect(port, ca.caX509())) {
                        TlsHttpClient.Response r = c.get("/");
                        if (r.status() != 200) {
                            failures.add("status " + r.status());
                        }
                        served.incrementAndGet();
                        if (c.serverSerial().equals(serial(next))) {
                            sawNext.set(true);
                        }
                    } catch (Exception e) {
                        failures.add(e.toString());
                    }
                }
            }, "new-clients");
            clients.start();
            Poll.until(() -> served.get() > 3, "new clients served before the rotation");
            rotate.run();
            Poll.until(sawNext::get, "a new handshake sees the rotated certificate");
            assertEquals(200, kept.get("/").status(), "the held connection works after the rotation");
            stop.set(true);
            clients.join(10_000);
            assertEquals(List.of(), failures, "requests that failed during the rotation");
            assertEquals(serial(previous), kept.serverSerial(), "the held connection keeps its handshake");
            assertEquals(200, kept.get("/").status());
            assertTrue(kept.isOpen());
        }
    }

    interface ThrowingRunnable {
        void run() throws Exception;
    }

    /** A listener {@code https} whose certificate {@code server-cert} comes from {@code sdsConfig}, before the backend. */
    private Bootstraps config(String sdsConfig) {
        return Bootstraps.http()
                .listener("https")
                .statPrefix("https")
                .downstreamTlsContext("common_tls_context: { tls_certificate_sds_secret_configs: "
                        + "[{ name: server-cert, sds_config: " + sdsConfig + " }] }")
                .route("/", "backend")
                .cluster("backend", backend.port());
    }

    @Test
    void rewritingTheFilesOfAWatchedDirectoryRotatesForNewConnections() throws Exception {
        Path certs = Files.createDirectories(dir.resolve("certs"));
        Files.copy(v1.certificateChain(), certs.resolve("cert.pem"));
        Files.copy(v1.privateKey(), certs.resolve("key.pem"));
        Path sds = dir.resolve("sds.yaml");
        Files.writeString(sds, """
                resources:
                - "@type": type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret
                  name: server-cert
                  tls_certificate:
                    certificate_chain: { filename: "%s" }
                    private_key: { filename: "%s" }
                    watched_directory: { path: "%s" }
                """.formatted(certs.resolve("cert.pem"), certs.resolve("key.pem"), certs));
        proxy = config("{ path_config_source: { path: \"" + sds + "\", watched_directory: { path: \"" + dir + "\" } } }")
                .start(2);
        assertRotatesWithoutDraining(proxy.port(), v1, v2, () -> {
            // As Kubernetes and cert-manager do: write aside, then move into place.
            Files.copy(v2.privateKey(), certs.resolve("key.tmp"));
            Files.copy(v2.certificateChain(), certs.resolve("cert.tmp"));
            Files.move(certs.resolve("key.tmp"), certs.resolve("key.pem"), StandardCopyOption.REPLACE_EXISTING,
                       StandardCopyOption.ATOMIC_MOVE);
            Files.move(certs.resolve("cert.tmp"), certs.resolve("cert.pem"), StandardCopyOption.REPLACE_EXISTING,
                       StandardCopyOption.ATOMIC_MOVE);
        });
    }

    @Test
    void anSdsPushOverAdsRotatesAndTheListenerWaitsForTheFirstSecret() throws Exception {
        try (ScriptedXdsServer xds = ScriptedXdsServer.tcp()) {
            proxy = config("{ ads: {}, resource_api_version: V3 }")
                    .http2Cluster("xds-grpc", xds.port())
                    .bootstrap("dynamic_resources", "{ ads_config: { api_type: GRPC, transport_api_version: V3,"
                            + " grpc_services: [{ envoy_grpc: { cluster_name: xds-grpc } }] } }")
                    .bootstrap("node", NODE)
                    .start(2);
            Poll.until(() -> xds.asked(SECRET_TYPE, "server-cert"), "the proxy asks ADS for its secret");
            assertFalse(proxy.server().listenerAddresses().containsKey("https"),
                        "a listener without its secret is warming, not bound");
            xds.set(SECRET_TYPE, "1", secret(v1));
            Poll.until(() -> proxy.server().listenerAddresses().containsKey("https"), "the listener binds");
            assertRotatesWithoutDraining(proxy.port("https"), v1, v2, () -> xds.set(SECRET_TYPE, "2", secret(v2)));
        }
    }

    @Test
    void anSdsPushFromAUnixDomainSocketServerRotates() throws Exception {
        Path socket = dir.resolve("SDS");
        try (ScriptedXdsServer sds = ScriptedXdsServer.uds(socket)) {
            proxy = config("{ api_config_source: { api_type: GRPC, transport_api_version: V3, grpc_services: "
                           + "[{ envoy_grpc: { cluster_name: sds-grpc } }] }, initial_fetch_timeout: 0s, "
                           + "resource_api_version: V3 }")
                    .pipeCluster("sds-grpc", socket)
                    .bootstrap("node", NODE)
                    .start(2);
            Poll.until(() -> sds.asked(SECRET_TYPE, "server-cert"), "the proxy asks the SDS server for its secret");
            assertFalse(proxy.server().listenerAddresses().containsKey("https"),
                        "a listener without its secret is warming, not bound");
            assertEquals("sidecar~127.0.0.1~server.default~default.svc.cluster.local",
                         sds.requests.get(0).getNode().getId(), "the node goes to the SDS server");
            sds.set(SECRET_TYPE, "1", secret(v1));
            Poll.until(() -> proxy.server().listenerAddresses().containsKey("https"), "the listener binds");
            assertRotatesWithoutDraining(proxy.port("https"), v1, v2, () -> sds.set(SECRET_TYPE, "2", secret(v2)));
        }
    }
}
