package io.jmesh.discovery.xds;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.Message;
import com.google.protobuf.Struct;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.jmesh.discovery.config.ConfigParser;
import io.jmesh.discovery.config.MeshConfig;
import io.jmesh.discovery.model.MeshSnapshot;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * {@link XdsCache.Scope}: which xDS types a new snapshot may change, per kind of input, and
 * {@link XdsCache#advance} keeping the entries of the other types.
 */
class XdsCacheScopeTest {

    private static final String REVIEWS = """
            apiVersion: networking.istio.io/v1
            kind: ServiceEntry
            metadata: {name: reviews, namespace: default}
            spec:
              hosts: [reviews.default.svc.cluster.local]
              location: MESH_INTERNAL
              resolution: %s
              ports: [{number: 9080, name: http, protocol: HTTP}]
              endpoints:
              - {address: %s, labels: {version: v1}}
              - {address: 10.0.0.2, labels: {version: v2}}
            ---
            apiVersion: networking.istio.io/v1
            kind: ServiceEntry
            metadata: {name: productpage, namespace: default}
            spec:
              hosts: [productpage.default.svc.cluster.local]
              location: MESH_INTERNAL
              resolution: STATIC
              ports: [{number: 9080, name: http, protocol: HTTP}]
              endpoints: [{address: 10.0.0.9}]
            """;

    private static final String VIRTUAL_SERVICE = """
            ---
            apiVersion: networking.istio.io/v1
            kind: VirtualService
            metadata: {name: reviews, namespace: default}
            spec:
              hosts: [reviews]
              http:
              - timeout: %ds
                route: [{destination: {host: reviews}}]
            """;

    private static final String DESTINATION_RULE = """
            ---
            apiVersion: networking.istio.io/v1
            kind: DestinationRule
            metadata: {name: reviews, namespace: default}
            spec:
              host: reviews
              trafficPolicy: {loadBalancer: {simple: %s}}
            """;

    private static MeshSnapshot snapshot(long version, String yaml) {
        return TestSnapshots.of(version, ConfigParser.parse(Path.of("mesh.yaml"), yaml), new MeshConfig(null, null, null, null));
    }

    private static String mesh(String resolution, String address, int timeout, String lb) {
        return REVIEWS.formatted(resolution, address) + VIRTUAL_SERVICE.formatted(timeout)
                + DESTINATION_RULE.formatted(lb);
    }

    private static ProxyNode productpage() throws Exception {
        return ProxyNode.of(Node.newBuilder().setId("sidecar~10.0.0.9~productpage-1.default~default.svc.cluster.local")
                .setMetadata(Struct.getDefaultInstance()).build());
    }

    @Test
    void virtualServiceChangeTouchesListenersAndRoutesOnly() {
        MeshSnapshot a = snapshot(1, mesh("STATIC", "10.0.0.1", 5, "ROUND_ROBIN"));
        MeshSnapshot b = snapshot(2, mesh("STATIC", "10.0.0.1", 7, "ROUND_ROBIN"));
        XdsCache.Scope scope = XdsCache.Scope.between(a, b);
        assertEquals(Set.of(TypeUrls.LISTENER, TypeUrls.ROUTE), scope.types());
        assertEquals(Set.of(), scope.workloadIps());
    }

    @Test
    void endpointChangeTouchesEndpointsAndTheInboundConfigAtThoseAddresses() {
        MeshSnapshot a = snapshot(1, mesh("STATIC", "10.0.0.1", 5, "ROUND_ROBIN"));
        MeshSnapshot b = snapshot(2, mesh("STATIC", "10.0.0.3", 5, "ROUND_ROBIN"));
        XdsCache.Scope scope = XdsCache.Scope.between(a, b);
        assertEquals(Set.of(TypeUrls.ENDPOINT), scope.types());
        assertEquals(Set.of("10.0.0.1", "10.0.0.3"), scope.workloadIps());
        assertTrue(scope.affects(TypeUrls.CLUSTER, "10.0.0.3"));
        assertFalse(scope.affects(TypeUrls.CLUSTER, "10.0.0.9"));
        assertFalse(scope.affects(TypeUrls.ROUTE, "10.0.0.3"));
    }

    @Test
    void endpointChangeOfADnsServiceTouchesClustersToo() {
        MeshSnapshot a = snapshot(1, mesh("DNS", "reviews-1.example.com", 5, "ROUND_ROBIN"));
        MeshSnapshot b = snapshot(2, mesh("DNS", "reviews-3.example.com", 5, "ROUND_ROBIN"));
        assertEquals(Set.of(TypeUrls.CLUSTER, TypeUrls.ENDPOINT), XdsCache.Scope.between(a, b).types());
    }

    @Test
    void destinationRuleAndServiceChangesTouchEverything() {
        MeshSnapshot a = snapshot(1, mesh("STATIC", "10.0.0.1", 5, "ROUND_ROBIN"));
        assertEquals(XdsCache.Scope.ALL, XdsCache.Scope.between(a, snapshot(2, mesh("STATIC", "10.0.0.1", 5, "RANDOM"))));
        assertEquals(XdsCache.Scope.ALL, XdsCache.Scope.between(a, snapshot(2, mesh("STATIC", "10.0.0.1", 5, "ROUND_ROBIN")
                .replace("number: 9080, name: http", "number: 9081, name: http"))));
        assertTrue(XdsCache.Scope.between(a, snapshot(2, mesh("STATIC", "10.0.0.1", 5, "ROUND_ROBIN"))).isEmpty());
    }

    @Test
    void advanceKeepsWhatTheChangeDoesNotTouch() throws Exception {
        ProxyNode proxy = productpage();
        MeshSnapshot a = snapshot(1, mesh("STATIC", "10.0.0.1", 5, "ROUND_ROBIN"));
        MeshSnapshot b = snapshot(2, mesh("STATIC", "10.0.0.1", 7, "ROUND_ROBIN"));
        MeshSnapshot c = snapshot(3, mesh("STATIC", "10.0.0.3", 7, "ROUND_ROBIN"));
        XdsCache cache = new XdsCache();
        cache.advance(a);
        Map<String, XdsCache.Generated> before = new java.util.HashMap<>();
        for (String type : TypeUrls.ALL) {
            before.put(type, cache.get(type, proxy, a));
        }
        assertEquals(Set.of(TypeUrls.LISTENER, TypeUrls.ROUTE), cache.advance(b).types());
        assertSame(before.get(TypeUrls.CLUSTER), cache.get(TypeUrls.CLUSTER, proxy, b));
        assertSame(before.get(TypeUrls.ENDPOINT), cache.get(TypeUrls.ENDPOINT, proxy, b));
        XdsCache.Generated rds = cache.get(TypeUrls.ROUTE, proxy, b);
        assertNotSame(before.get(TypeUrls.ROUTE), rds);
        assertFalse(before.get(TypeUrls.ROUTE).version().equals(rds.version()));

        // Endpoints only: EDS is generated again; CDS, LDS and RDS are kept and still what generation gives.
        assertEquals(Set.of(TypeUrls.ENDPOINT), cache.advance(c).types());
        assertSame(rds, cache.get(TypeUrls.ROUTE, proxy, c));
        assertNotSame(before.get(TypeUrls.ENDPOINT), cache.get(TypeUrls.ENDPOINT, proxy, c));
        for (String type : TypeUrls.ALL) {
            Map<String, Message> expected = XdsGenerator.generate(type, proxy, c);
            assertEquals(XdsCache.Generated.of(type, expected).version(), cache.get(type, proxy, c).version(), type);
        }
    }
}
