package io.jmesh.discovery.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.jmesh.discovery.xds.TypeUrls;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Push scoping over a real ADS stream: a change sends only the types whose content it changed.
 * Unlike istiod, whose state-of-the-world full push resends every type a change may touch, jmesh
 * compares content versions and sends nothing for a type whose content is unchanged; a proxy whose
 * config did not change at all gets no response.
 *
 * <p>"Nothing was sent" is observed without a clock: each case ends with a change that does send,
 * and the responses that arrived up to it are exactly the expected ones, in order.
 */
class PushScopeTest {

    private static final String REVIEWS = "outbound|9080||reviews.default.svc.cluster.local";
    private static final String RATINGS = "outbound|9080||ratings.default.svc.cluster.local";

    @TempDir
    Path dir;
    private TestDiscovery test;

    @BeforeEach
    void setUp() throws Exception {
        test = TestDiscovery.start(dir, "mesh.yaml", mesh("10.0.0.2", 90));
    }

    @AfterEach
    void tearDown() throws Exception {
        test.close();
    }

    @Test
    void endpointChangeSendsEdsOnlyAndVirtualServiceChangeRdsOnly() throws Exception {
        Client full = new Client("10.0.0.9", "productpage-1");
        full.subscribe(TypeUrls.CLUSTER);
        full.subscribe(TypeUrls.ENDPOINT, REVIEWS, RATINGS);
        full.subscribe(TypeUrls.LISTENER);
        full.subscribe(TypeUrls.ROUTE, "9080");
        // A proxy that only follows clusters and endpoints.
        Client clustersOnly = new Client("10.0.0.8", "details-1");
        clustersOnly.subscribe(TypeUrls.CLUSTER);
        clustersOnly.subscribe(TypeUrls.ENDPOINT, REVIEWS, RATINGS);

        // A VirtualService change: RDS with the new weight; no CDS, EDS or LDS (the HTTP listener
        // takes its routes by RDS, so its content is unchanged). The other proxy gets nothing.
        test.write("mesh.yaml", mesh("10.0.0.2", 50));
        DiscoveryResponse rds = full.takeAndAck();
        assertEquals(TypeUrls.ROUTE, rds.getTypeUrl());
        assertTrue(rds.getResources(0).unpack(RouteConfiguration.class).toString().contains("value: 50"),
                "the new weight");

        // An endpoint change: EDS only, to both, with the new address; nothing else.
        test.write("mesh.yaml", mesh("10.0.0.4", 50));
        for (Client c : List.of(full, clustersOnly)) {
            DiscoveryResponse eds = c.takeAndAck();
            assertEquals(TypeUrls.ENDPOINT, eds.getTypeUrl());
            assertTrue(addresses(eds).contains("10.0.0.4"), addresses(eds).toString());
        }

        // A change that touches every type ends each sequence: nothing else arrived before it.
        test.write("mesh.yaml", mesh("10.0.0.4", 50) + TestDiscovery.serviceEntry("details", "{address: 10.0.0.8}"));
        assertEquals(TypeUrls.CLUSTER, full.takeAndAck().getTypeUrl());
        assertEquals(TypeUrls.CLUSTER, clustersOnly.takeAndAck().getTypeUrl());
        assertEquals(List.of(TypeUrls.ROUTE, TypeUrls.ENDPOINT, TypeUrls.CLUSTER), full.received.subList(4, 7));
        assertEquals(List.of(TypeUrls.ENDPOINT, TypeUrls.CLUSTER), clustersOnly.received.subList(2, 4));
    }

    private static List<String> addresses(DiscoveryResponse eds) throws Exception {
        List<String> out = new ArrayList<>();
        for (var a : eds.getResourcesList()) {
            ClusterLoadAssignment cla = a.unpack(ClusterLoadAssignment.class);
            cla.getEndpointsList().forEach(l -> l.getLbEndpointsList().forEach(
                    e -> out.add(e.getEndpoint().getAddress().getSocketAddress().getAddress())));
        }
        return out;
    }

    /** A sidecar on one SotW stream that ACKs what it takes and records the type of each response. */
    private final class Client {
        final XdsClientStream<DiscoveryRequest, DiscoveryResponse> stream = test.sotw();
        final Node node;
        final List<String> received = new ArrayList<>();
        boolean first = true;

        Client(String ip, String pod) {
            node = Node.newBuilder().setId("sidecar~" + ip + "~" + pod + ".default~default.svc.cluster.local")
                    .setMetadata(Struct.newBuilder().putFields("NAMESPACE",
                            Value.newBuilder().setStringValue("default").build()))
                    .build();
        }

        void subscribe(String type, String... names) throws InterruptedException {
            DiscoveryRequest.Builder r = DiscoveryRequest.newBuilder().setTypeUrl(type).addAllResourceNames(List.of(names));
            if (first) {
                r.setNode(node);
                first = false;
            }
            stream.send(r.build());
            assertEquals(type, takeAndAck().getTypeUrl());
        }

        DiscoveryResponse takeAndAck() throws InterruptedException {
            DiscoveryResponse r = stream.take();
            received.add(r.getTypeUrl());
            stream.send(DiscoveryRequest.newBuilder().setTypeUrl(r.getTypeUrl()).setVersionInfo(r.getVersionInfo())
                    .setResponseNonce(r.getNonce()).addAllResourceNames(names(r.getTypeUrl())).build());
            return r;
        }

        private List<String> names(String type) {
            return switch (type) {
                case TypeUrls.ENDPOINT -> List.of(REVIEWS, RATINGS);
                case TypeUrls.ROUTE -> List.of("9080");
                default -> List.of();
            };
        }
    }

    private static String mesh(String reviewsV2Address, int v1Weight) {
        return TestDiscovery.serviceEntry("reviews", "{address: 10.0.0.1, labels: {version: v1}}",
                "{address: " + reviewsV2Address + ", labels: {version: v2}}")
                + TestDiscovery.serviceEntry("ratings", "{address: 10.0.0.3}") + """
                apiVersion: networking.istio.io/v1
                kind: DestinationRule
                metadata: {name: reviews, namespace: default}
                spec:
                  host: reviews
                  subsets: [{name: v1, labels: {version: v1}}, {name: v2, labels: {version: v2}}]
                ---
                apiVersion: networking.istio.io/v1
                kind: VirtualService
                metadata: {name: reviews, namespace: default}
                spec:
                  hosts: [reviews]
                  http:
                  - route:
                    - {destination: {host: reviews, subset: v1}, weight: %d}
                    - {destination: {host: reviews, subset: v2}, weight: %d}
                ---
                """.formatted(v1Weight, 100 - v1Weight);
    }
}
