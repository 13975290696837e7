package io.jmesh.discovery.xds;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;

import com.google.protobuf.Any;
import com.google.protobuf.Message;
import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.jmesh.discovery.config.ConfigParser;
import io.jmesh.discovery.config.MeshConfig;
import io.jmesh.discovery.model.MeshSnapshot;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** {@link XdsCache}: same output as {@link XdsGenerator}, shared only between proxies of the same shape. */
class XdsCacheTest {

    private static final Path DIR = Path.of("src/test/resources/golden");

    private static MeshSnapshot snapshot(String file, long version) throws Exception {
        return TestSnapshots.of(version, ConfigParser.parse(DIR.resolve(file)), new MeshConfig(null, null, null, null));
    }

    private static ProxyNode sidecar(String ip, String pod, String ns, String labelKey, String labelValue) throws Exception {
        Struct labels = Struct.newBuilder().putFields(labelKey, Value.newBuilder().setStringValue(labelValue).build()).build();
        return ProxyNode.of(Node.newBuilder().setId("sidecar~" + ip + "~" + pod + "." + ns + "~" + ns + ".svc.cluster.local")
                .setMetadata(Struct.newBuilder().putFields("LABELS", Value.newBuilder().setStructValue(labels).build()))
                .build());
    }

    private static void assertSameAsGenerator(XdsCache.Generated g, ProxyNode proxy, MeshSnapshot snapshot) {
        Map<String, Message> expected = XdsGenerator.generate(g.typeUrl(), proxy, snapshot);
        assertEquals(expected.keySet(), g.resources().keySet(), g.typeUrl());
        expected.forEach((name, m) -> {
            // Packed from the deterministic serialization: equal content, map entries in key order.
            assertEquals(m.getDescriptorForType().getFullName(),
                    g.resources().get(name).getTypeUrl().substring("type.googleapis.com/".length()), name);
            assertEquals(m, unpack(g.resources().get(name), m), name);
            assertEquals(Versions.of(m), g.versions().get(name), name);
        });
        assertEquals(Versions.ofSet(g.versions()), g.version());
    }

    private static Message unpack(Any any, Message prototype) {
        try {
            return prototype.getParserForType().parseFrom(any.getValue());
        } catch (com.google.protobuf.InvalidProtocolBufferException e) {
            throw new AssertionError(e);
        }
    }

    @Test
    void sidecarsOfTheSameShapeShareOneGeneration() throws Exception {
        MeshSnapshot s = snapshot("sidecar-bookinfo.yaml", 1);
        XdsCache cache = new XdsCache();
        // productpage and reviews-v1 run on port 9080 (HTTP): same inbound shape, other labels and IPs.
        ProxyNode productpage = sidecar("10.1.0.10", "productpage-v1-1", "default", "app", "productpage");
        ProxyNode reviews = sidecar("10.1.0.21", "reviews-v1-1", "default", "app", "reviews");
        for (String type : TypeUrls.ALL) {
            XdsCache.Generated first = cache.get(type, productpage, s);
            assertSameAsGenerator(first, productpage, s);
            assertSame(first, cache.get(type, reviews, s), type);
            assertSameAsGenerator(first, reviews, s);
        }
        assertEquals(TypeUrls.ALL.size(), cache.misses());
        assertEquals(TypeUrls.ALL.size(), cache.hits());
        assertEquals(TypeUrls.ALL.size(), cache.size());
    }

    @Test
    void ownWorkloadNamespaceAndSourceLabelsSplitTheShape() throws Exception {
        MeshSnapshot bookinfo = snapshot("sidecar-bookinfo.yaml", 1);
        XdsCache cache = new XdsCache();
        ProxyNode productpage = sidecar("10.1.0.10", "productpage-v1-1", "default", "app", "productpage");
        ProxyNode noWorkload = sidecar("10.9.9.9", "job-1", "default", "app", "productpage");
        // No endpoint of its own: no inbound cluster, so not the same CDS (but the same EDS).
        XdsCache.Generated cds = cache.get(TypeUrls.CLUSTER, productpage, bookinfo);
        XdsCache.Generated cdsNone = cache.get(TypeUrls.CLUSTER, noWorkload, bookinfo);
        assertNotEquals(cds.version(), cdsNone.version());
        assertSameAsGenerator(cdsNone, noWorkload, bookinfo);
        assertSame(cache.get(TypeUrls.ENDPOINT, productpage, bookinfo), cache.get(TypeUrls.ENDPOINT, noWorkload, bookinfo));

        // A VirtualService matching on sourceLabels: routes depend on the proxy's labels.
        MeshSnapshot scoped = snapshot("sidecar-scoped.yaml", 2);
        ProxyNode frontend = sidecar("10.3.0.5", "frontend-1", "web", "app", "frontend");
        ProxyNode other = sidecar("10.3.0.5", "frontend-2", "web", "app", "other");
        XdsCache.Generated routesFrontend = cache.get(TypeUrls.ROUTE, frontend, scoped);
        XdsCache.Generated routesOther = cache.get(TypeUrls.ROUTE, other, scoped);
        assertNotSame(routesFrontend, routesOther);
        assertNotEquals(routesFrontend.version(), routesOther.version());
        assertSameAsGenerator(routesFrontend, frontend, scoped);
        assertSameAsGenerator(routesOther, other, scoped);
        // The newer snapshot dropped the older one's entries.
        assertEquals(2, cache.size());
    }

    @Test
    void anHttp2WorkloadPortAndAnHttp1OneDoNotShareClusters() throws Exception {
        // Same namespace, same port 9080, both HTTP to the inbound listener; the gRPC one's inbound cluster speaks
        // HTTP/2 to the application, the other's HTTP/1.1.
        MeshSnapshot s = TestSnapshots.of(1, ConfigParser.parse(Path.of("mesh.yaml"), """
                apiVersion: networking.istio.io/v1
                kind: ServiceEntry
                metadata: {name: reviews, namespace: default}
                spec:
                  hosts: [reviews.default.svc.cluster.local]
                  location: MESH_INTERNAL
                  resolution: STATIC
                  ports: [{number: 9080, name: http, protocol: HTTP}]
                  endpoints: [{address: 10.0.0.1}]
                ---
                apiVersion: networking.istio.io/v1
                kind: ServiceEntry
                metadata: {name: ratings, namespace: default}
                spec:
                  hosts: [ratings.default.svc.cluster.local]
                  location: MESH_INTERNAL
                  resolution: STATIC
                  ports: [{number: 9080, name: grpc, protocol: GRPC}]
                  endpoints: [{address: 10.0.0.2}]
                """), new MeshConfig(null, null, null, null));
        XdsCache cache = new XdsCache();
        ProxyNode reviews = sidecar("10.0.0.1", "reviews-1", "default", "app", "reviews");
        ProxyNode ratings = sidecar("10.0.0.2", "ratings-1", "default", "app", "ratings");
        XdsCache.Generated cdsReviews = cache.get(TypeUrls.CLUSTER, reviews, s);
        XdsCache.Generated cdsRatings = cache.get(TypeUrls.CLUSTER, ratings, s);
        assertNotSame(cdsReviews, cdsRatings);
        assertSameAsGenerator(cdsReviews, reviews, s);
        assertSameAsGenerator(cdsRatings, ratings, s);
    }

    @Test
    void olderSnapshotIsGeneratedWithoutReplacingTheNewer() throws Exception {
        MeshSnapshot older = snapshot("sidecar-bookinfo.yaml", 1);
        MeshSnapshot newer = snapshot("sidecar-bookinfo.yaml", 2);
        XdsCache cache = new XdsCache();
        ProxyNode productpage = sidecar("10.1.0.10", "productpage-v1-1", "default", "app", "productpage");
        XdsCache.Generated fromNewer = cache.get(TypeUrls.ROUTE, productpage, newer);
        XdsCache.Generated fromOlder = cache.get(TypeUrls.ROUTE, productpage, older);
        assertNotSame(fromNewer, fromOlder);
        assertEquals(fromNewer.version(), fromOlder.version());
        assertSame(fromNewer, cache.get(TypeUrls.ROUTE, productpage, newer));
        assertEquals(1, cache.size());
    }
}
