package io.jmesh.discovery.security;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import io.envoyproxy.envoy.config.bootstrap.v3.Bootstrap;
import io.envoyproxy.envoy.config.core.v3.DataSource;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.CertificateValidationContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.Secret;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.TlsCertificate;
import io.jmesh.discovery.DiscoveryOptions;
import io.jmesh.discovery.DiscoveryServer;
import io.jmesh.proxy.server.ProxyServer;
import io.jmesh.proxy.testing.Curl;
import io.jmesh.proxy.testing.ScriptedXdsServer;
import io.jmesh.proxy.testing.TestCertificates;
import io.jmesh.proxy.xds.AdsBootstrap;
import io.jmesh.proxy.xds.ListenerBinding;
import io.jmesh.proxy.xds.SdsSubscriptions;

/**
 * A small mesh for the mutual TLS tests: a throw-away mesh CA, {@code jmesh discovery} on a config directory
 * (and optionally a credentials directory), and jmesh sidecars or gateways following it, each with Istio's
 * {@code sds-grpc} cluster reaching its own SDS server on a Unix socket that serves {@code default} (a workload
 * certificate with the SPIFFE ID of its service account) and {@code ROOTCA} (the mesh CA), as the node agent
 * would. Everything it starts is closed by {@link #close()}.
 */
final class MeshTlsFixture implements AutoCloseable {

    final Path dir;
    final Path configDir;
    final TestCertificates ca;
    DiscoveryServer discovery;
    private final List<AutoCloseable> closeables = new ArrayList<>();

    MeshTlsFixture(Path dir) throws Exception {
        this.dir = dir;
        this.configDir = Files.createDirectories(dir.resolve("config"));
        this.ca = TestCertificates.create(dir.resolve("mesh-ca"));
    }

    /** Istio YAML: a mesh-wide PeerAuthentication DISABLE, for the tests that are not about mutual TLS. */
    static final String MTLS_DISABLED = """
            apiVersion: security.istio.io/v1
            kind: PeerAuthentication
            metadata: {name: default, namespace: istio-system}
            spec: {mtls: {mode: DISABLE}}
            ---
            """;

    /**
     * Istio YAML: the ServiceEntry {@code reviews.default.svc.cluster.local} (port 9080 {@code http}, selecting
     * {@code app=reviews}) and its WorkloadEntry {@code reviews-v1} at {@code workloadIp} with port {@code appPort}.
     * Ends with a document separator, so more documents can follow.
     */
    static String reviews(String workloadIp, int appPort) {
        return """
                apiVersion: networking.istio.io/v1
                kind: ServiceEntry
                metadata: {name: reviews, namespace: default}
                spec:
                  hosts: [reviews.default.svc.cluster.local]
                  location: MESH_INTERNAL
                  resolution: STATIC
                  ports: [{number: 9080, name: http, protocol: HTTP}]
                  workloadSelector: {labels: {app: reviews}}
                ---
                apiVersion: networking.istio.io/v1
                kind: WorkloadEntry
                metadata: {name: reviews-v1, namespace: default}
                spec:
                  address: %s
                  ports: {http: %d}
                  labels: {app: reviews}
                ---
                """.formatted(workloadIp, appPort);
    }

    /** GETs {@code path} of {@code proxy}'s admin interface; asserts 200 and returns the body. */
    static String admin(ProxyServer proxy, String path) throws Exception {
        Curl.Result r = Curl.run("http://127.0.0.1:" + proxy.adminAddress().getPort() + path);
        assertEquals(200, r.status, r.toString());
        return r.body;
    }

    /** Replaces {@code name} in the config directory atomically, as a config management tool would. */
    void write(String name, String yaml) throws Exception {
        Path tmp = configDir.resolve("." + name + ".tmp");
        Files.writeString(tmp, yaml);
        Files.move(tmp, configDir.resolve(name), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    }

    /** Starts discovery (20 ms debounce) on the config directory and {@code credentialsDir} (may be null). */
    DiscoveryServer startDiscovery(Path credentialsDir) throws Exception {
        return startDiscovery(credentialsDir, null);
    }

    /** Starts discovery as {@link #startDiscovery(Path)} does, with {@code meshConfig} YAML (null for none). */
    DiscoveryServer startDiscovery(Path credentialsDir, String meshConfig) throws Exception {
        Path meshFile = null;
        if (meshConfig != null) {
            meshFile = Files.writeString(dir.resolve("mesh-config.yaml"), meshConfig);
        }
        discovery = DiscoveryServer.start(new DiscoveryOptions(configDir, new InetSocketAddress("127.0.0.1", 0),
                new InetSocketAddress("127.0.0.1", 0), meshFile, Duration.ofMillis(20)).withCredentialsDir(credentialsDir));
        return discovery;
    }

    /**
     * Starts a proxy with node id {@code nodeId} and {@code labels}, whose workload certificate carries
     * {@code spiffe://cluster.local/ns/default/sa/<serviceAccount>}.
     */
    ProxyServer proxy(String nodeId, Map<String, String> labels, String serviceAccount, ListenerBinding binding)
            throws Exception {
        TestCertificates.Issued cert = ca.issue(serviceAccount + "-" + closeables.size(),
                "spiffe://cluster.local/ns/default/sa/" + serviceAccount);
        Path sock = dir.resolve("sds-" + closeables.size() + ".sock");
        ScriptedXdsServer sds = ScriptedXdsServer.uds(sock);
        closeables.add(sds);
        sds.set(SdsSubscriptions.SECRET_TYPE, "1",
                Secret.newBuilder().setName("default").setTlsCertificate(TlsCertificate.newBuilder()
                        .setCertificateChain(inline(Files.readString(cert.certificateChain())))
                        .setPrivateKey(inline(Files.readString(cert.privateKey())))).build(),
                Secret.newBuilder().setName("ROOTCA").setValidationContext(CertificateValidationContext.newBuilder()
                        .setTrustedCa(inline(ca.caPem()))).build());
        Bootstrap b = AdsBootstrap.withSdsCluster(AdsBootstrap.forDiscovery("127.0.0.1",
                discovery.grpcAddress().getPort(), nodeId, Map.of(), labels, 0), sock);
        ProxyServer proxy = ProxyServer.start(b, 1, binding);
        closeables.add(proxy);
        return proxy;
    }

    private static DataSource inline(String pem) {
        return DataSource.newBuilder().setInlineString(pem).build();
    }

    /** Registers something to close (in reverse order) with the fixture. */
    <T extends AutoCloseable> T closeLater(T c) {
        closeables.add(c);
        return c;
    }

    @Override
    public void close() throws Exception {
        for (int i = closeables.size() - 1; i >= 0; i--) {
            closeables.get(i).close();
        }
        if (discovery != null) {
            discovery.close();
        }
    }
}
