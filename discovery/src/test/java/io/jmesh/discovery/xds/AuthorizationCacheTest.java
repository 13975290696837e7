package io.jmesh.discovery.xds;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.jmesh.discovery.config.ConfigParser;
import io.jmesh.discovery.config.MeshConfig;
import io.jmesh.discovery.model.MeshSnapshot;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * AuthorizationPolicies and the generation cache and push scope: two sidecars of one namespace and port shape but
 * other labels get their own listeners once a policy selects by label, and a policy change pushes LDS only.
 */
class AuthorizationCacheTest {

    private static final String MESH = """
            apiVersion: networking.istio.io/v1
            kind: ServiceEntry
            metadata: {name: web, namespace: foo}
            spec:
              hosts: [web.foo.svc.cluster.local]
              location: MESH_INTERNAL
              resolution: STATIC
              ports: [{number: 8000, name: http, protocol: HTTP}]
              endpoints:
              - {address: 10.0.0.1, labels: {app: a}}
              - {address: 10.0.0.2, labels: {app: b}}
            ---
            """;

    private static final String POLICY = """
            apiVersion: security.istio.io/v1
            kind: AuthorizationPolicy
            metadata: {name: deny-a, namespace: foo}
            spec:
              selector: {matchLabels: {app: a}}
              action: DENY
              rules: [{}]
            ---
            """;

    private static MeshSnapshot snapshot(String yaml, long version) {
        return TestSnapshots.of(version, ConfigParser.parse(null, yaml), MeshConfig.DEFAULT);
    }

    private static ProxyNode sidecar(String ip, String app) throws Exception {
        Struct labels = Struct.newBuilder().putFields("app", Value.newBuilder().setStringValue(app).build()).build();
        return ProxyNode.of(Node.newBuilder().setId("sidecar~" + ip + "~" + app + "-1.foo~foo.svc.cluster.local")
                .setMetadata(Struct.newBuilder().putFields("LABELS", Value.newBuilder().setStructValue(labels).build()))
                .build());
    }

    @Test
    void sidecarsThatPoliciesTellApartDoNotShareListeners() throws Exception {
        MeshSnapshot s = snapshot(MESH + POLICY, 1);
        XdsCache cache = new XdsCache();
        ProxyNode a = sidecar("10.0.0.1", "a");
        ProxyNode b = sidecar("10.0.0.2", "b");
        XdsCache.Generated forA = cache.get(TypeUrls.LISTENER, a, s);
        XdsCache.Generated forB = cache.get(TypeUrls.LISTENER, b, s);
        assertEquals(XdsGenerator.generate(TypeUrls.LISTENER, a, s).keySet(), forA.resources().keySet());
        assertNotEquals(forA.version(), forB.version(), "a has the DENY filter, b has not");
        java.util.Map<String, String> versions = new java.util.TreeMap<>();
        XdsGenerator.generate(TypeUrls.LISTENER, b, s).forEach((name, m) -> versions.put(name, Versions.of(m)));
        assertEquals(Versions.ofSet(versions), forB.version());
    }

    @Test
    void aPolicyChangePushesListenersOnly() {
        MeshSnapshot before = snapshot(MESH, 1);
        MeshSnapshot after = snapshot(MESH + POLICY, 2);
        assertEquals(new XdsCache.Scope(Set.of(TypeUrls.LISTENER), Set.of()), XdsCache.Scope.between(before, after));
    }
}
