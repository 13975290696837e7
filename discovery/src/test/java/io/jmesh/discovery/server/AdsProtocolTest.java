package io.jmesh.discovery.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.Any;
import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import com.google.rpc.Status;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.service.discovery.v3.DeltaDiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DeltaDiscoveryResponse;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.envoyproxy.envoy.service.discovery.v3.Resource;
import io.grpc.StatusRuntimeException;
import io.jmesh.discovery.DiscoveryServer;
import io.jmesh.discovery.xds.TypeUrls;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The ADS protocol against a real discovery server with a raw xDS client: SotW and delta. */
class AdsProtocolTest {

    private static final String REVIEWS = "outbound|9080||reviews.default.svc.cluster.local";
    private static final Node SIDECAR = Node.newBuilder()
            .setId("sidecar~10.0.0.9~productpage-1.default~default.svc.cluster.local")
            .setMetadata(Struct.newBuilder().putFields("NAMESPACE", Value.newBuilder().setStringValue("default").build()))
            .build();

    @TempDir
    Path dir;
    private TestDiscovery test;
    private DiscoveryServer discovery;

    @BeforeEach
    void setUp() throws Exception {
        test = TestDiscovery.start(dir, "services.yaml", services(""));
        discovery = test.server;
    }

    @AfterEach
    void tearDown() throws Exception {
        test.close();
    }

    @Test
    void sotwAckNackAndPushOnChange() throws Exception {
        XdsClientStream<DiscoveryRequest, DiscoveryResponse> s = sotw();
        s.send(DiscoveryRequest.newBuilder().setNode(SIDECAR).setTypeUrl(TypeUrls.CLUSTER).build());
        DiscoveryResponse first = s.take();
        assertEquals(TypeUrls.CLUSTER, first.getTypeUrl());
        Set<String> names = clusterNames(first.getResourcesList());
        assertTrue(names.containsAll(Set.of(REVIEWS, "BlackHoleCluster", "PassthroughCluster")), names.toString());

        // A stale nonce is ignored; the right one ACKs.
        s.send(DiscoveryRequest.newBuilder().setTypeUrl(TypeUrls.CLUSTER).setResponseNonce("stale")
                .setVersionInfo("bogus").build());
        s.send(DiscoveryRequest.newBuilder().setTypeUrl(TypeUrls.CLUSTER).setResponseNonce(first.getNonce())
                .setVersionInfo(first.getVersionInfo()).build());
        await(() -> "SYNCED".equals(status().types().get("cds").state()));
        assertEquals(first.getVersionInfo(), status().types().get("cds").ackedVersion());

        // A config change pushes a new version with the new subset cluster.
        test.write("services.yaml", services("""
                apiVersion: networking.istio.io/v1
                kind: DestinationRule
                metadata: {name: reviews, namespace: default}
                spec:
                  host: reviews
                  subsets: [{name: v2, labels: {version: v2}}]
                """));
        DiscoveryResponse second = s.take();
        assertNotEquals(first.getVersionInfo(), second.getVersionInfo());
        assertNotEquals(first.getNonce(), second.getNonce());
        assertTrue(clusterNames(second.getResourcesList()).contains("outbound|9080|v2|reviews.default.svc.cluster.local"));
        assertEquals("STALE", status().types().get("cds").state());

        // NACK (Envoy sends its last good version and the error): recorded with its message, counted,
        // nothing resent.
        s.send(DiscoveryRequest.newBuilder().setTypeUrl(TypeUrls.CLUSTER).setResponseNonce(second.getNonce())
                .setVersionInfo(first.getVersionInfo())
                .setErrorDetail(Status.newBuilder().setMessage("clusters[0].lb_policy: 9 (expected: known)")).build());
        await(() -> discovery.metrics().rejects(TypeUrls.CLUSTER) == 1);
        ProxyStatus.TypeStatus cds = status().types().get("cds");
        assertEquals("NACKED", cds.state());
        assertEquals(second.getVersionInfo(), cds.nackedVersion());
        assertEquals(first.getVersionInfo(), cds.ackedVersion());
        assertEquals("clusters[0].lb_policy: 9 (expected: known)", cds.lastNackMessage());
        assertTrue(discovery.metrics().renderPrometheus().contains("pilot_xds_cds_reject 1\n"));

        // EDS by name: only the names asked for.
        s.send(DiscoveryRequest.newBuilder().setTypeUrl(TypeUrls.ENDPOINT).addResourceNames(REVIEWS).build());
        DiscoveryResponse eds = s.take();
        assertEquals(1, eds.getResourcesCount());
        ClusterLoadAssignment cla = eds.getResources(0).unpack(ClusterLoadAssignment.class);
        assertEquals(REVIEWS, cla.getClusterName());
        assertEquals("us-west", cla.getEndpoints(0).getLocality().getRegion());
        assertEquals(2, cla.getEndpointsList().stream().mapToInt(l -> l.getLbEndpointsCount()).sum());
        s.close();
    }

    @Test
    void deltaSendsOnlyChangedAndRemovedResources() throws Exception {
        XdsClientStream<DeltaDiscoveryRequest, DeltaDiscoveryResponse> s = delta();
        s.send(DeltaDiscoveryRequest.newBuilder().setNode(SIDECAR).setTypeUrl(TypeUrls.CLUSTER).build());
        DeltaDiscoveryResponse first = s.take();
        Set<String> all = first.getResourcesList().stream().map(Resource::getName).collect(Collectors.toSet());
        assertTrue(all.contains(REVIEWS) && all.contains("outbound|9080||ratings.default.svc.cluster.local"), all.toString());
        s.send(DeltaDiscoveryRequest.newBuilder().setTypeUrl(TypeUrls.CLUSTER).setResponseNonce(first.getNonce()).build());

        // Change reviews' policy and drop ratings: only reviews comes back, ratings is removed.
        test.write("services.yaml", services("""
                apiVersion: networking.istio.io/v1
                kind: DestinationRule
                metadata: {name: reviews, namespace: default}
                spec:
                  host: reviews
                  trafficPolicy: {loadBalancer: {simple: ROUND_ROBIN}}
                """).replace("ratings", "gone-ratings").replace("gone-ratings.default.svc.cluster.local",
                "gone-ratings.default.svc.cluster.local"));
        DeltaDiscoveryResponse second = s.take();
        Set<String> changed = second.getResourcesList().stream().map(Resource::getName).collect(Collectors.toSet());
        assertEquals(Set.of(REVIEWS, "outbound|9080||gone-ratings.default.svc.cluster.local"), changed);
        assertEquals(List.of("outbound|9080||ratings.default.svc.cluster.local"), second.getRemovedResourcesList());
        Cluster reviews = second.getResourcesList().stream().filter(r -> r.getName().equals(REVIEWS)).findFirst()
                .orElseThrow().getResource().unpack(Cluster.class);
        assertEquals(Cluster.LbPolicy.ROUND_ROBIN, reviews.getLbPolicy());
        assertTrue(status().delta());
        s.close();
    }

    @Test
    void reconnectingClientsGetTheSameVersionsAndDeltaSkipsWhatTheyHold() throws Exception {
        XdsClientStream<DiscoveryRequest, DiscoveryResponse> s1 = sotw();
        s1.send(DiscoveryRequest.newBuilder().setNode(SIDECAR).setTypeUrl(TypeUrls.LISTENER).build());
        DiscoveryResponse before = s1.take();
        s1.close();
        await(() -> discovery.ads().statuses().isEmpty());

        // Envoy reconnects with its last version: a full response again, with the same content version.
        XdsClientStream<DiscoveryRequest, DiscoveryResponse> s2 = sotw();
        s2.send(DiscoveryRequest.newBuilder().setNode(SIDECAR).setTypeUrl(TypeUrls.LISTENER)
                .setVersionInfo(before.getVersionInfo()).build());
        DiscoveryResponse after = s2.take();
        assertEquals(before.getVersionInfo(), after.getVersionInfo());
        assertEquals(before.getResourcesList(), after.getResourcesList());
        s2.close();

        // A delta client that already holds reviews at the current version is sent only the rest.
        XdsClientStream<DeltaDiscoveryRequest, DeltaDiscoveryResponse> d1 = delta();
        d1.send(DeltaDiscoveryRequest.newBuilder().setNode(SIDECAR).setTypeUrl(TypeUrls.CLUSTER).build());
        DeltaDiscoveryResponse full = d1.take();
        String reviewsVersion = full.getResourcesList().stream().filter(r -> r.getName().equals(REVIEWS))
                .findFirst().orElseThrow().getVersion();
        d1.close();
        XdsClientStream<DeltaDiscoveryRequest, DeltaDiscoveryResponse> d2 = delta();
        d2.send(DeltaDiscoveryRequest.newBuilder().setNode(SIDECAR).setTypeUrl(TypeUrls.CLUSTER)
                .putInitialResourceVersions(REVIEWS, reviewsVersion)
                .putInitialResourceVersions("outbound|1|gone|old.example.com", "x").build());
        DeltaDiscoveryResponse resumed = d2.take();
        Set<String> names = resumed.getResourcesList().stream().map(Resource::getName).collect(Collectors.toSet());
        assertFalse(names.contains(REVIEWS), names.toString());
        assertEquals(full.getResourcesCount() - 1, resumed.getResourcesCount());
        assertEquals(List.of("outbound|1|gone|old.example.com"), resumed.getRemovedResourcesList());
        d2.close();
    }

    @Test
    void aStreamWithoutAValidNodeIsRefused() throws Exception {
        XdsClientStream<DiscoveryRequest, DiscoveryResponse> s = sotw();
        s.send(DiscoveryRequest.newBuilder().setNode(Node.newBuilder().setId("not-istio")).setTypeUrl(TypeUrls.CLUSTER)
                .build());
        Throwable t = s.error();
        assertEquals(io.grpc.Status.Code.INVALID_ARGUMENT, ((StatusRuntimeException) t).getStatus().getCode());
        assertTrue(t.getMessage().contains("node.id: not-istio (expected: sidecar~IP~"), t.getMessage());
    }

    private ProxyStatus status() {
        List<ProxyStatus> all = discovery.ads().statuses();
        assertEquals(1, all.size());
        return all.get(0);
    }

    private static Set<String> clusterNames(List<Any> resources) throws Exception {
        java.util.Set<String> out = new java.util.TreeSet<>();
        for (Any a : resources) {
            out.add(a.unpack(Cluster.class).getName());
        }
        return out;
    }

    private static String services(String extra) {
        return TestDiscovery.serviceEntry("reviews", "{address: 10.0.0.1, labels: {version: v1}, locality: us-west/a}",
                "{address: 10.0.0.2, labels: {version: v2}, locality: us-west/b}")
                + TestDiscovery.serviceEntry("ratings", "{address: 10.0.0.3}") + extra;
    }


    private static void await(BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (!condition.getAsBoolean()) {
            assertTrue(System.nanoTime() < deadline, "condition not met within 30 s");
            Thread.sleep(10);
        }
    }

    private XdsClientStream<DiscoveryRequest, DiscoveryResponse> sotw() {
        return test.sotw();
    }

    private XdsClientStream<DeltaDiscoveryRequest, DeltaDiscoveryResponse> delta() {
        return test.delta();
    }
}
