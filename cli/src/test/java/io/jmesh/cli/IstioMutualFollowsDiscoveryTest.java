package io.jmesh.cli;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.jmesh.discovery.DiscoveryOptions;
import io.jmesh.discovery.DiscoveryServer;
import io.jmesh.proxy.server.ProxyServer;
import io.jmesh.proxy.testing.Poll;
import io.jmesh.proxy.xds.AdsBootstrap;
import io.jmesh.proxy.xds.ListenerBinding;

/**
 * End to end over ADS: {@code jmesh discovery} turns a DestinationRule with {@code tls.mode: ISTIO_MUTUAL} into a
 * cluster whose certificate ({@code default}) and root ({@code ROOTCA}) come by SDS; the jmesh sidecar ACKs it
 * (it used to NACK it: "SDS is not supported here") and shows both secrets as awaited in its
 * {@code /config_dump}. (That the cluster is not routable until they come, and goes live when they do, is
 * covered by {@code discovery}'s {@code IstioMutualClusterTest} and the proxy's {@code SecretWarmingTest}:
 * here the 15 s initial fetch timeout would make that assertion depend on the machine's speed.)
 */
class IstioMutualFollowsDiscoveryTest {

    private static final String NODE = "sidecar~10.0.0.1~client.default~default.svc.cluster.local";
    private static final String CLUSTER = "outbound|9080||reviews.default.svc.cluster.local";

    @TempDir
    Path dir;

    private DiscoveryServer discovery;
    private ProxyServer proxy;

    @AfterEach
    void stop() {
        if (proxy != null) {
            proxy.close();
        }
        if (discovery != null) {
            discovery.close();
        }
    }

    private String get(int port, String path) throws Exception {
        return HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
                .build(), HttpResponse.BodyHandlers.ofString()).body();
    }

    @Test
    void istioMutualClusterIsAckedAndWarmsForItsSecrets() throws Exception {
        Files.writeString(dir.resolve("mesh.yaml"), """
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
        discovery = DiscoveryServer.start(new DiscoveryOptions(dir, new InetSocketAddress("127.0.0.1", 0),
                new InetSocketAddress("127.0.0.1", 0), null, DiscoveryOptions.DEFAULT_DEBOUNCE));
        // Istio's sds-grpc cluster (the node agent's socket; nothing serves it here: the secrets stay awaited).
        io.envoyproxy.envoy.config.bootstrap.v3.Bootstrap.Builder bootstrap = AdsBootstrap.forDiscovery("127.0.0.1",
                discovery.grpcAddress().getPort(), NODE, Map.of(), Map.of("app", "client"), 0).toBuilder();
        bootstrap.getStaticResourcesBuilder().addClusters(io.envoyproxy.envoy.config.cluster.v3.Cluster.newBuilder()
                .setName("sds-grpc").setType(io.envoyproxy.envoy.config.cluster.v3.Cluster.DiscoveryType.STATIC)
                .setLoadAssignment(io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment.newBuilder()
                        .setClusterName("sds-grpc")
                        .addEndpoints(io.envoyproxy.envoy.config.endpoint.v3.LocalityLbEndpoints.newBuilder()
                                .addLbEndpoints(io.envoyproxy.envoy.config.endpoint.v3.LbEndpoint.newBuilder()
                                        .setEndpoint(io.envoyproxy.envoy.config.endpoint.v3.Endpoint.newBuilder()
                                                .setAddress(io.envoyproxy.envoy.config.core.v3.Address.newBuilder()
                                                        .setPipe(io.envoyproxy.envoy.config.core.v3.Pipe.newBuilder()
                                                                .setPath(dir.resolve("sds.sock").toString()))))))));
        proxy = ProxyServer.start(bootstrap.build(), 1, new ListenerBinding("127.0.0.1", Map.of(9080, 0)));
        int monitoring = discovery.monitoringAddress().getPort();
        Poll.until(() -> {
            try {
                String s = get(monitoring, "/debug/syncz").replace(" ", "");
                return s.contains("\"cluster_state\":\"SYNCED\"");
            } catch (Exception e) {
                return false;
            }
        }, "CDS with the ISTIO_MUTUAL cluster ACKed by the sidecar");
        String syncz = get(monitoring, "/debug/syncz");
        assertFalse(syncz.contains("NACKED"), syncz);
        Poll.until(() -> proxy.dynamicConfig().dumpClusters().containsKey(CLUSTER), "the cluster accepted");
        String dump = get(proxy.adminAddress().getPort(), "/config_dump");
        assertTrue(dump.contains("\"dynamic_warming_secrets\""), dump);
        assertTrue(dump.contains("\"ROOTCA\"") && dump.contains("\"default\""), dump);
    }
}
