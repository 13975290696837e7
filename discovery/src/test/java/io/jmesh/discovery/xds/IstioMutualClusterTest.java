package io.jmesh.discovery.xds;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import com.google.protobuf.Any;
import com.google.protobuf.Message;

import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.jmesh.proxy.testing.Poll;
import io.jmesh.proxy.testing.ScriptedXdsServer;
import io.envoyproxy.envoy.config.core.v3.DataSource;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.CertificateValidationContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.Secret;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.TlsCertificate;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext;
import io.jmesh.discovery.config.ConfigParser;
import io.jmesh.discovery.config.MeshConfig;
import io.jmesh.discovery.model.MeshSnapshot;
import io.jmesh.proxy.internal.Transports;
import io.jmesh.proxy.telemetry.Stats;
import io.jmesh.proxy.tls.DefaultSecretManager;
import io.jmesh.proxy.upstream.ClusterManager;
import io.jmesh.proxy.upstream.UpstreamCluster;
import io.jmesh.proxy.xds.AdsBootstrap;
import io.jmesh.proxy.xds.DynamicConfigManager;
import io.jmesh.proxy.xds.ListenerBinding;
import io.jmesh.proxy.xds.SdsSubscriptions;
import io.netty.channel.EventLoopGroup;

/**
 * The cluster {@code jmesh discovery} generates for a DestinationRule with {@code tls.mode: ISTIO_MUTUAL}
 * ({@code default} and {@code ROOTCA} over SDS from Istio's {@code sds-grpc} cluster, here a real SDS server on a
 * Unix socket; ALPN {@code istio-peer-exchange}, {@code istio}) is accepted by the jmesh sidecar's xDS side
 * (it was NACKed: "SDS is not supported here"), warms until both secrets arrive, and then serves with a TLS
 * context built from them.
 */
class IstioMutualClusterTest {

    private static final String CLUSTER = "outbound|9080||reviews.default.svc.cluster.local";
    private static final String NODE = "sidecar~10.1.0.10~productpage-v1-1.default~default.svc.cluster.local";

    @TempDir
    Path dir;

    private final EventLoopGroup workers = Transports.newGroup(1, "istio-mutual-test");
    private final ScheduledThreadPoolExecutor xds = new ScheduledThreadPoolExecutor(1);
    private volatile ClusterManager clusters;

    private ScriptedXdsServer sdsServer;

    @AfterEach
    void tearDown() throws Exception {
        if (sdsServer != null) {
            sdsServer.close();
        }
        xds.shutdown();
        xds.awaitTermination(5, TimeUnit.SECONDS);
        if (clusters != null) {
            clusters.close();
        }
        workers.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
    }

    private Map<String, Map<String, Message>> generate() throws Exception {
        Path yaml = dir.resolve("mesh.yaml");
        Files.writeString(yaml, """
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
                spec: {address: 127.0.0.1, labels: {app: reviews, version: v1}}
                ---
                apiVersion: networking.istio.io/v1
                kind: DestinationRule
                metadata: {name: reviews, namespace: default}
                spec:
                  host: reviews
                  trafficPolicy:
                    tls: {mode: ISTIO_MUTUAL}
                """);
        MeshSnapshot snapshot = TestSnapshots.of(1, ConfigParser.parse(yaml), new MeshConfig(null, null, null, null));
        ProxyNode proxy = ProxyNode.of(Node.newBuilder().setId(NODE).build());
        return XdsGenerator.generateAll(proxy, snapshot);
    }

    private void push(DynamicConfigManager dcm, String type, List<Any> resources) throws Exception {
        try {
            xds.submit(() -> {
                dcm.onResources(type, "1", resources);
                return null;
            }).get();
        } catch (ExecutionException e) {
            throw e.getCause() instanceof Exception ex ? ex : e;
        }
    }

    private static List<Any> pack(Map<String, Message> resources) {
        List<Any> out = new ArrayList<>();
        resources.values().forEach(m -> out.add(Any.pack(m)));
        return out;
    }

    private static DataSource file(String name) throws Exception {
        return DataSource.newBuilder().setInlineString(Files.readString(Path.of("src/test/resources/tls", name))).build();
    }

    @Test
    void istioMutualClusterIsAcceptedAndWarmsUntilDefaultAndRootcaArrive() throws Exception {
        Map<String, Map<String, Message>> generated = generate();
        Cluster c = (Cluster) generated.get(TypeUrls.CLUSTER).get(CLUSTER);
        assertNotNull(c, "the outbound cluster of reviews");
        UpstreamTlsContext tls = c.getTransportSocket().getTypedConfig().unpack(UpstreamTlsContext.class);
        assertEquals("default", tls.getCommonTlsContext().getTlsCertificateSdsSecretConfigs(0).getName());

        // The node agent's SDS server, on a Unix socket as Istio's agent serves it, behind the sds-grpc cluster.
        sdsServer = ScriptedXdsServer.uds(dir.resolve("sds.sock"));
        Stats stats = new Stats();
        SdsSubscriptions sds = new SdsSubscriptions(AdsBootstrap.withSdsCluster(AdsBootstrap.forDiscovery("127.0.0.1",
                15010, NODE, Map.of(), Map.of(), 0), dir.resolve("sds.sock")), xds);
        DefaultSecretManager secrets = DefaultSecretManager.create(List.of(), sds);
        sds.manager(secrets);
        clusters = ClusterManager.create(List.of(), workers, stats);
        DynamicConfigManager dcm = new DynamicConfigManager(workers, stats, List.of(), () -> clusters,
                cm -> clusters = cm, ListenerBinding.AS_CONFIGURED, xds, 1_000, secrets, sds);

        // Accepted (no NACK), endpoints in, but not serving: its secrets have not come.
        push(dcm, TypeUrls.CLUSTER, pack(generated.get(TypeUrls.CLUSTER)));
        push(dcm, TypeUrls.ENDPOINT, pack(generated.get(TypeUrls.ENDPOINT)));
        assertNull(clusters.get(CLUSTER), "the ISTIO_MUTUAL cluster warms until its secrets arrive");

        Poll.until(() -> sdsServer.asked(SdsSubscriptions.SECRET_TYPE, "default")
                && sdsServer.asked(SdsSubscriptions.SECRET_TYPE, "ROOTCA"), "default and ROOTCA asked of sds-grpc");
        Secret workload = Secret.newBuilder().setName("default")
                .setTlsCertificate(TlsCertificate.newBuilder().setCertificateChain(file("workload.pem"))
                        .setPrivateKey(file("workload-key.pem"))).build();
        sdsServer.set(SdsSubscriptions.SECRET_TYPE, "1", workload);
        Poll.until(() -> sdsServer.requests.stream().anyMatch(r -> r.getVersionInfo().equals("1")),
                "the proxy ACKs default");
        assertNull(clusters.get(CLUSTER), "still warming: ROOTCA has not come");

        sdsServer.set(SdsSubscriptions.SECRET_TYPE, "2", workload, Secret.newBuilder().setName("ROOTCA")
                .setValidationContext(CertificateValidationContext.newBuilder().setTrustedCa(file("workload.pem")))
                .build());
        Poll.until(() -> clusters.get(CLUSTER) != null, "the cluster serves once default and ROOTCA are here");
        UpstreamCluster active = clusters.get(CLUSTER);
        assertTrue(active.tlsReady().isDone());
        assertNotNull(active.sslContext(), "a TLS context built from the secrets");
        assertEquals(1, active.hosts().size());
    }
}
