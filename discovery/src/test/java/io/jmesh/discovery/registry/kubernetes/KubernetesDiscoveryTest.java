package io.jmesh.discovery.registry.kubernetes;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.fabric8.kubernetes.client.KubernetesClient;
import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.jmesh.discovery.DiscoveryOptions;
import io.jmesh.discovery.DiscoveryServer;
import io.jmesh.discovery.config.ConfigError;
import io.jmesh.discovery.config.kubernetes.KubernetesConfigStore;
import io.jmesh.discovery.xds.TypeUrls;
import io.jmesh.proxy.testing.Poll;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code jmesh discovery} on a Kubernetes cluster, end to end: discovery with the Kubernetes registry and
 * config store reads a {@link FakeApiServer} (fabric8's mock API server in CRUD mode: a fake, since no real
 * API server can run here) with the real fabric8 client and informers, and a sidecar's ADS stream sees what
 * the cluster holds. Changes are awaited with {@link Poll} (10 s), never timed.
 */
@Tag("kubernetes")
class KubernetesDiscoveryTest {

    private static final String REVIEWS = "outbound|9080||reviews.default.svc.cluster.local";

    @TempDir
    Path dir;
    private FakeApiServer api;
    private final List<AutoCloseable> closeLast = new ArrayList<>();

    @BeforeEach
    void startApi() throws Exception {
        api = new FakeApiServer();
    }

    @AfterEach
    void stop() throws Exception {
        for (int i = closeLast.size() - 1; i >= 0; i--) {
            closeLast.get(i).close();
        }
        api.close();
    }

    /** A discovery replica with its own client of the API server, and a channel to its xDS port. */
    private ManagedChannel discovery() throws Exception {
        KubernetesClient client = api.newClient();
        closeLast.add(client);
        DiscoveryServer server = DiscoveryServer.start(new DiscoveryOptions(dir, new InetSocketAddress("127.0.0.1", 0),
                        new InetSocketAddress("127.0.0.1", 0), null, Duration.ofMillis(20)),
                List.of(new KubernetesServiceRegistry(client, KubernetesServiceRegistry.DEFAULT_DOMAIN)),
                List.of(new KubernetesConfigStore(client)));
        closeLast.add(server);
        lastServer = server;
        ManagedChannel channel = NettyChannelBuilder.forAddress("127.0.0.1", server.grpcAddress().getPort())
                .usePlaintext().build();
        closeLast.add(() -> channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS));
        return channel;
    }

    private DiscoveryServer lastServer;

    private AdsClient sidecar(ManagedChannel channel, String namespace) {
        AdsClient c = AdsClient.connect(channel, namespace, "sleep-1");
        closeLast.add(c);
        return c;
    }

    private void reviews(String... endpoints) {
        api.slice("default", "reviews", List.of("http:10080"), endpoints);
    }

    @Test
    void servicesAndPodsReachAConnectedProxy() throws Exception {
        api.service("default", "reviews", "10.96.0.10", "http:9080");
        api.pod("default", "reviews-v1", "10.1.0.1", null, "reviews", Map.of("app", "reviews", "version", "v1"));
        reviews("reviews-v1=10.1.0.1");
        ManagedChannel channel = discovery();
        AdsClient proxy = sidecar(channel, "default");
        proxy.subscribe(TypeUrls.CLUSTER);
        Poll.until(() -> proxy.latest(TypeUrls.CLUSTER) != null, "first CDS response");
        // Discovery served only after it synced: the very first push already has the cluster's service.
        assertTrue(proxy.clusters().contains(REVIEWS), () -> "first CDS: " + proxy.clusters());
        proxy.subscribe(TypeUrls.ENDPOINT, REVIEWS);
        Poll.until(() -> proxy.endpoints(REVIEWS).equals(Set.of("10.1.0.1:10080")), "v1's endpoint");

        // A new pod becomes an endpoint.
        api.pod("default", "reviews-v2", "10.1.0.2", null, "reviews", Map.of("app", "reviews", "version", "v2"));
        reviews("reviews-v1=10.1.0.1", "reviews-v2=10.1.0.2");
        Poll.until(() -> proxy.endpoints(REVIEWS).equals(Set.of("10.1.0.1:10080", "10.1.0.2:10080")), "v2 added");

        // A pod that is no longer ready leaves, then a deleted pod's endpoint is gone for good.
        reviews("reviews-v1=10.1.0.1!", "reviews-v2=10.1.0.2");
        Poll.until(() -> proxy.endpoints(REVIEWS).equals(Set.of("10.1.0.2:10080")), "v1 not ready");
        api.client.pods().inNamespace("default").withName("reviews-v1").delete();
        reviews("reviews-v2=10.1.0.2");
        Poll.until(() -> proxy.endpoints(REVIEWS).equals(Set.of("10.1.0.2:10080")), "v1 deleted");

        // A new service becomes a cluster; a deleted one goes.
        api.service("default", "ratings", "10.96.0.11", "http:9080");
        Poll.until(() -> proxy.clusters().contains("outbound|9080||ratings.default.svc.cluster.local"), "ratings");
        api.client.services().inNamespace("default").withName("reviews").delete();
        Poll.until(() -> !proxy.clusters().contains(REVIEWS), "reviews deleted");
        assertTrue(proxy.clusters().contains("outbound|9080||ratings.default.svc.cluster.local"));
    }

    @Test
    void istioObjectsFromTheApiServerAreValidatedAsFilesAre() throws Exception {
        api.service("default", "reviews", "10.96.0.10", "http:9080");
        api.pod("default", "reviews-v1", "10.1.0.1", null, "reviews", Map.of("app", "reviews", "version", "v1"));
        api.pod("default", "reviews-v2", "10.1.0.2", null, "reviews", Map.of("app", "reviews", "version", "v2"));
        reviews("reviews-v1=10.1.0.1", "reviews-v2=10.1.0.2");
        ManagedChannel channel = discovery();
        AdsClient proxy = sidecar(channel, "default");
        proxy.subscribe(TypeUrls.CLUSTER);
        Poll.until(() -> proxy.clusters().contains(REVIEWS), "reviews");

        api.istio("""
                apiVersion: networking.istio.io/v1
                kind: DestinationRule
                metadata: {name: reviews, namespace: default}
                spec:
                  host: reviews.default.svc.cluster.local
                  subsets:
                  - {name: v1, labels: {version: v1}}
                """);
        String v1 = "outbound|9080|v1|reviews.default.svc.cluster.local";
        Poll.until(() -> proxy.clusters().contains(v1), "subset v1's cluster");
        proxy.subscribe(TypeUrls.ENDPOINT, v1);
        Poll.until(() -> proxy.endpoints(v1).equals(Set.of("10.1.0.1:10080")), "only v1's pod in subset v1");

        // A bad object is rejected with its API path and the field, as a bad file is; the good one stays.
        api.istio("""
                apiVersion: networking.istio.io/v1
                kind: DestinationRule
                metadata: {name: bad, namespace: default}
                spec:
                  host: ratings.default.svc.cluster.local
                  trafficPolicy: {loadBalancer: {simple: FASTEST}}
                """);
        Poll.until(() -> !lastServer.snapshot().config().errors().isEmpty(), "bad DestinationRule rejected");
        ConfigError error = lastServer.snapshot().config().errors().get(0);
        assertEquals("DestinationRule/default/bad", error.key());
        assertEquals("kubernetes/apis/networking.istio.io/v1/namespaces/default/destinationrules/bad:1",
                error.source().toString());
        assertTrue(error.reason().startsWith("spec.trafficPolicy.loadBalancer.simple: FASTEST (expected: one of"),
                error.reason());
        assertTrue(proxy.clusters().contains(v1));

        // Deleting the DestinationRule removes its subsets.
        api.deleteIstio("DestinationRule", "default", "reviews");
        Poll.until(() -> !proxy.clusters().contains(v1), "subset gone");
    }

    @Test
    void anApiObjectWithTheKeyOfAFilesIsRejectedNamingTheFile() throws Exception {
        api.service("default", "reviews", "10.96.0.10", "http:9080");
        Path file = dir.resolve("reviews.yaml");
        Files.writeString(file, """
                apiVersion: networking.istio.io/v1
                kind: DestinationRule
                metadata: {name: reviews, namespace: default}
                spec:
                  host: reviews.default.svc.cluster.local
                  subsets:
                  - {name: v1, labels: {version: v1}}
                """);
        api.istio("""
                apiVersion: networking.istio.io/v1
                kind: DestinationRule
                metadata: {name: reviews, namespace: default}
                spec:
                  host: reviews.default.svc.cluster.local
                  subsets:
                  - {name: v2, labels: {version: v2}}
                """);
        ManagedChannel channel = discovery();
        // start() returned once the store synced: the first snapshot already has the file's object and the
        // API server's rejected, naming the file.
        List<ConfigError> errors = lastServer.snapshot().config().errors();
        assertEquals(1, errors.size(), errors::toString);
        assertEquals("DestinationRule/default/reviews", errors.get(0).key());
        assertEquals("kubernetes/apis/networking.istio.io/v1/namespaces/default/destinationrules/reviews:1",
                errors.get(0).source().toString());
        assertEquals("metadata.name: reviews (expected: unique per kind and namespace; first defined at " + file
                + ":1)", errors.get(0).reason());
        AdsClient proxy = sidecar(channel, "default");
        proxy.subscribe(TypeUrls.CLUSTER);
        Poll.until(() -> proxy.clusters().contains(REVIEWS), "reviews");
        assertTrue(proxy.clusters().contains("outbound|9080|v1|reviews.default.svc.cluster.local"),
                proxy.clusters()::toString);
        assertFalse(proxy.clusters().contains("outbound|9080|v2|reviews.default.svc.cluster.local"),
                proxy.clusters()::toString);
    }

    @Test
    void aNamespacesSidecarScopesOnlyItsOwnProxies() throws Exception {
        api.service("team-a", "orders", "10.96.1.1", "http:8080");
        api.service("team-b", "billing", "10.96.2.1", "http:8080");
        String orders = "outbound|8080||orders.team-a.svc.cluster.local";
        String billing = "outbound|8080||billing.team-b.svc.cluster.local";
        api.istio("""
                apiVersion: networking.istio.io/v1
                kind: Sidecar
                metadata: {name: default, namespace: team-a}
                spec:
                  egress:
                  - hosts: ["./*"]
                """);
        ManagedChannel channel = discovery();
        AdsClient a = sidecar(channel, "team-a");
        AdsClient b = sidecar(channel, "team-b");
        a.subscribe(TypeUrls.CLUSTER);
        b.subscribe(TypeUrls.CLUSTER);
        Poll.until(() -> b.clusters().containsAll(Set.of(orders, billing)), "team-b sees both namespaces");
        Poll.until(() -> a.clusters().contains(orders), "team-a sees its own service");
        assertFalse(a.clusters().contains(billing), () -> "team-a's Sidecar hides team-b: " + a.clusters());

        api.deleteIstio("Sidecar", "team-a", "default");
        Poll.until(() -> a.clusters().contains(billing), "team-a sees team-b once its Sidecar is gone");
    }

    @Test
    void replicasSideBySideAndARestartResyncsFromTheApiServer() throws Exception {
        api.service("default", "reviews", "10.96.0.10", "http:9080");
        api.pod("default", "reviews-v1", "10.1.0.1", null, "reviews", Map.of("app", "reviews"));
        reviews("reviews-v1=10.1.0.1");
        ManagedChannel first = discovery();
        DiscoveryServer firstServer = lastServer;
        ManagedChannel second = discovery();
        AdsClient p1 = sidecar(first, "default");
        AdsClient p2 = sidecar(second, "default");
        p1.subscribe(TypeUrls.CLUSTER);
        p2.subscribe(TypeUrls.CLUSTER);
        Poll.until(() -> p1.clusters().contains(REVIEWS) && p2.clusters().equals(p1.clusters()),
                "both replicas serve the same clusters");

        // The first replica goes away; the cluster changes meanwhile; a new replica reads it all again.
        p1.close();
        firstServer.close();
        api.client.services().inNamespace("default").withName("reviews").delete();
        api.service("default", "ratings", "10.96.0.11", "http:9080");
        Poll.until(() -> p2.clusters().contains("outbound|9080||ratings.default.svc.cluster.local")
                && !p2.clusters().contains(REVIEWS), "the remaining replica follows");
        ManagedChannel third = discovery();
        AdsClient p3 = sidecar(third, "default");
        p3.subscribe(TypeUrls.CLUSTER);
        Poll.until(() -> p3.latest(TypeUrls.CLUSTER) != null, "first CDS from the new replica");
        assertTrue(p3.clusters().contains("outbound|9080||ratings.default.svc.cluster.local"), p3.clusters()::toString);
        assertFalse(p3.clusters().contains(REVIEWS), p3.clusters()::toString);
        assertTrue(Files.isDirectory(dir));
    }
}
