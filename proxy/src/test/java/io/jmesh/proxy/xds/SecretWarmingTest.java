package io.jmesh.proxy.xds;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import com.google.protobuf.Any;
import com.google.protobuf.Message;

import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.core.v3.DataSource;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.Secret;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.TlsCertificate;
import io.jmesh.proxy.config.ConfigException;
import io.jmesh.proxy.config.EnvoyTypes;
import io.jmesh.proxy.internal.Transports;
import io.jmesh.proxy.telemetry.Stats;
import io.jmesh.proxy.testing.Poll;
import io.jmesh.proxy.testing.TestBackend;
import io.jmesh.proxy.testing.TestCertificates;
import io.jmesh.proxy.testing.TlsHttpClient;
import io.jmesh.proxy.tls.DefaultSecretManager;
import io.jmesh.proxy.upstream.ClusterManager;
import io.netty.channel.EventLoopGroup;

/**
 * An LDS listener and a CDS cluster whose TLS secrets come over ADS warm until the secrets arrive: the listener
 * is not bound, the new cluster set is not serving; then both go live and a TLS request goes through.
 */
class SecretWarmingTest {

    private final EventLoopGroup workers = Transports.newGroup(1, "secret-warming-test");
    private final ScheduledThreadPoolExecutor xds = new ScheduledThreadPoolExecutor(1);
    private final Stats stats = new Stats();
    private volatile ClusterManager clusters;
    private DynamicConfigManager dcm;
    private TestBackend backend;

    @TempDir
    Path dir;

    @BeforeEach
    void setUp() throws Exception {
        backend = TestBackend.start("backend");
        SdsSubscriptions sds = new SdsSubscriptions(AdsBootstrap.forDiscovery("127.0.0.1", 15010,
                "sidecar~127.0.0.1~a.default~default.svc.cluster.local", Map.of(), Map.of(), 0), xds);
        DefaultSecretManager secrets = DefaultSecretManager.create(List.of(), sds);
        sds.manager(secrets);
        clusters = ClusterManager.create(List.of(), workers, stats);
        dcm = new DynamicConfigManager(workers, stats, List.of(), () -> clusters, c -> clusters = c,
                ListenerBinding.AS_CONFIGURED, xds, 1_000, secrets, sds);
    }

    @AfterEach
    void tearDown() throws Exception {
        xds.submit(dcm::closeAll).get();
        xds.shutdown();
        xds.awaitTermination(5, TimeUnit.SECONDS);
        clusters.close();
        workers.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
        backend.close();
    }

    private static <B extends Message.Builder> Any any(String yaml, B builder) throws ConfigException {
        return Any.pack(EnvoyTypes.PARSER.parse(yaml, builder).build());
    }

    private void push(String type, Any... resources) throws Exception {
        try {
            xds.submit(() -> {
                dcm.onResources(type, "1", List.of(resources));
                return null;
            }).get();
        } catch (ExecutionException e) {
            throw e.getCause() instanceof Exception ex ? ex : e;
        }
    }

    @Test
    void listenerAndClusterWarmUntilTheirSecretsArrive() throws Exception {
        TestCertificates ca = TestCertificates.create(dir.resolve("ca"));
        TestCertificates.Issued server = ca.issue("server", null);
        // A TLS cluster to the backend: its CA comes by SDS; the backend is plaintext, so the cluster is only
        // inspected, not used.
        push(DynamicConfigManager.CLUSTER_TYPE, any("""
                name: secure
                type: STATIC
                load_assignment:
                  cluster_name: secure
                  endpoints: [{lb_endpoints: [{endpoint: {address: {socket_address: {address: 127.0.0.1, port_value: %d}}}}]}]
                transport_socket:
                  name: envoy.transport_sockets.tls
                  typed_config:
                    "@type": type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext
                    common_tls_context:
                      validation_context_sds_secret_config: {name: ROOTCA, sds_config: {ads: {}}}
                """.formatted(backend.port()), Cluster.newBuilder()), any("""
                name: plain
                type: STATIC
                load_assignment:
                  cluster_name: plain
                  endpoints: [{lb_endpoints: [{endpoint: {address: {socket_address: {address: 127.0.0.1, port_value: %d}}}}]}]
                """.formatted(backend.port()), Cluster.newBuilder()));
        assertNull(clusters.get("secure"), "the cluster set warms until ROOTCA arrives");
        assertNull(clusters.get("plain"), "the whole new cluster set warms");
        push(DynamicConfigManager.LISTENER_TYPE, any("""
                name: https
                address: {socket_address: {address: 127.0.0.1, port_value: 0}}
                filter_chains:
                - transport_socket:
                    name: envoy.transport_sockets.tls
                    typed_config:
                      "@type": type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext
                      common_tls_context:
                        tls_certificate_sds_secret_configs: [{name: default, sds_config: {ads: {}}}]
                  filters:
                  - name: envoy.filters.network.http_connection_manager
                    typed_config:
                      "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
                      stat_prefix: https
                      route_config: {virtual_hosts: [{name: all, domains: ["*"], routes: [{match: {prefix: /}, route: {cluster: plain}}]}]}
                      http_filters: [{name: envoy.filters.http.router}]
                """, Listener.newBuilder()));
        assertFalse(dcm.listenerAddresses().containsKey("https"), "not bound before its secret");

        push(SdsSubscriptions.SECRET_TYPE, Any.pack(Secret.newBuilder().setName("ROOTCA")
                .setValidationContext(io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.CertificateValidationContext
                        .newBuilder().setTrustedCa(DataSource.newBuilder().setInlineString(ca.caPem()))).build()));
        Poll.until(() -> clusters.get("secure") != null, "the clusters serve once ROOTCA is here");
        assertFalse(dcm.listenerAddresses().containsKey("https"), "the listener still waits for its own secret");

        push(SdsSubscriptions.SECRET_TYPE, Any.pack(Secret.newBuilder().setName("default")
                .setTlsCertificate(TlsCertificate.newBuilder()
                        .setCertificateChain(DataSource.newBuilder().setInlineString(Files.readString(server.certificateChain())))
                        .setPrivateKey(DataSource.newBuilder().setInlineString(Files.readString(server.privateKey()))))
                .build()));
        Poll.until(() -> dcm.listenerAddresses().containsKey("https"), "the listener binds once its secret is here");
        try (TlsHttpClient c = TlsHttpClient.connect(dcm.listenerAddresses().get("https").getPort(), ca.caX509())) {
            assertEquals(200, c.get("/").status());
            assertEquals(server.certificate().getSerialNumber(), c.serverSerial());
        }
    }
}
