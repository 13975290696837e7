package io.jmesh.discovery.xds;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.Message;
import com.google.protobuf.Struct;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.config.route.v3.VirtualHost;
import io.jmesh.discovery.config.ConfigParser;
import io.jmesh.discovery.config.MeshConfig;
import io.jmesh.discovery.model.MeshSnapshot;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * {@code exportTo} as Istio reads it: validated on ServiceEntry, VirtualService and DestinationRule, and each
 * applies only in the namespaces it is exported to ({@code .}: its own; a name; {@code *} or unset: all;
 * {@code ~}: none, ServiceEntry only), seen through the clusters and routes each proxy is sent.
 */
class ExportToTest {

    private static final String MESH = """
            apiVersion: networking.istio.io/v1
            kind: ServiceEntry
            metadata: {name: reviews, namespace: shop}
            spec:
              hosts: [reviews.example.com]
              ports: [{number: 9080, name: http, protocol: HTTP}]
              resolution: STATIC
              endpoints: [{address: 10.0.0.1}]
            ---
            apiVersion: networking.istio.io/v1
            kind: DestinationRule
            metadata: {name: reviews-private, namespace: shop}
            spec:
              host: reviews.example.com
              exportTo: [.]
              trafficPolicy: {loadBalancer: {simple: RANDOM}}
            ---
            apiVersion: networking.istio.io/v1
            kind: DestinationRule
            metadata: {name: reviews-for-web, namespace: team}
            spec:
              host: reviews.example.com
              exportTo: [web]
              trafficPolicy: {loadBalancer: {simple: ROUND_ROBIN}}
            """;

    private static Cluster.LbPolicy lbPolicySeenFrom(String namespace) throws Exception {
        MeshSnapshot snapshot = TestSnapshots.of(1, ConfigParser.parse(Path.of("mesh.yaml"), MESH), MeshConfig.DEFAULT);
        ProxyNode proxy = ProxyNode.of(Node.newBuilder()
                .setId("sidecar~10.9.0.1~app-1." + namespace + "~" + namespace + ".svc.cluster.local")
                .setMetadata(Struct.getDefaultInstance()).build());
        Map<String, Message> clusters = XdsGenerator.generate(TypeUrls.CLUSTER, proxy, snapshot);
        Message c = clusters.get("outbound|9080||reviews.example.com");
        assertTrue(c != null, clusters.keySet().toString());
        return ((Cluster) c).getLbPolicy();
    }

    @Test
    void aRuleExportedToItsNamespaceAppliesThereOnly() throws Exception {
        assertEquals(Cluster.LbPolicy.RANDOM, lbPolicySeenFrom("shop"));
        assertEquals(Cluster.LbPolicy.LEAST_REQUEST, lbPolicySeenFrom("default"), "Istio's default, no rule visible");
    }

    @Test
    void aRuleExportedToANamedNamespaceAppliesThere() throws Exception {
        assertEquals(Cluster.LbPolicy.ROUND_ROBIN, lbPolicySeenFrom("web"));
        assertEquals(Cluster.LbPolicy.LEAST_REQUEST, lbPolicySeenFrom("team"), "not exported to its own namespace");
    }

    private static String reason(String kind, String spec) {
        ConfigParser.Result r = ConfigParser.parse(Path.of("t.yaml"), "apiVersion: networking.istio.io/v1\nkind: "
                + kind + "\nmetadata: {name: x, namespace: shop}\nspec:\n" + spec.indent(2));
        return r.errors().isEmpty() ? null : r.errors().get(0).reason();
    }

    @Test
    void exportToIsValidatedAsIstiodDoes() {
        String se = "hosts: [a.example.com]\nexportTo: ";
        assertEquals(null, reason("ServiceEntry", se + "[., web]"));
        assertEquals(null, reason("ServiceEntry", se + "['~']"));
        assertEquals("spec.exportTo[0]: null (expected: a value; quote \"~\" to mean the string)",
                reason("ServiceEntry", se + "[~]"), "YAML reads a bare ~ as null, as Go does");
        assertEquals("spec.exportTo[1]: . (expected: no duplicate entries in exportTo: . and current namespace "
                + "shop)", reason("ServiceEntry", se + "[shop, .]"));
        assertEquals("spec.exportTo: [*, web] (expected: * alone; cannot have both public (*) and non-public exportTo "
                + "values)", reason("ServiceEntry", se + "['*', web]"));
        assertEquals("spec.exportTo: [~, web] (expected: ~ alone; cannot export service entry to no one (~) and "
                + "someone)", reason("ServiceEntry", se + "['~', web]"));
        assertEquals("spec.exportTo[0]: Web_1 (expected: ., * or a valid DNS-1123 label as exportTo entry)",
                reason("ServiceEntry", se + "[Web_1]"));
        assertEquals("spec.exportTo[0]: ~ (expected: ., * or a namespace; ~ is for ServiceEntry only)",
                reason("VirtualService", "hosts: [a]\nhttp: [{route: [{destination: {host: a}}]}]\nexportTo: ['~']"));
        assertEquals("spec.exportTo[1]: web (expected: no duplicate entries in exportTo)",
                reason("DestinationRule", "host: a\nexportTo: [web, web]"));
        assertEquals("spec.exportTo: [web] (expected: the rule's namespace only; destination rule with workload "
                + "selector cannot have exportTo beyond current namespace)",
                reason("DestinationRule", "host: a\nworkloadSelector: {matchLabels: {app: a}}\nexportTo: [web]"));
    }

    private static MeshSnapshot snapshot(String yaml) throws Exception {
        return TestSnapshots.of(1, ConfigParser.parse(Path.of("mesh.yaml"), yaml), MeshConfig.DEFAULT);
    }

    private static ProxyNode sidecarIn(String namespace) throws Exception {
        return ProxyNode.of(Node.newBuilder()
                .setId("sidecar~10.9.0.1~app-1." + namespace + "~" + namespace + ".svc.cluster.local")
                .setMetadata(Struct.getDefaultInstance()).build());
    }

    private static final String EXPORTED_ENTRIES = """
            apiVersion: networking.istio.io/v1
            kind: ServiceEntry
            metadata: {name: private, namespace: shop}
            spec:
              hosts: [private.example.com]
              exportTo: [.]
              ports: [{number: 9080, name: http, protocol: HTTP}]
              resolution: STATIC
              endpoints: [{address: 10.0.0.1}]
            ---
            apiVersion: networking.istio.io/v1
            kind: ServiceEntry
            metadata: {name: for-web, namespace: shop}
            spec:
              hosts: [for-web.example.com]
              exportTo: [web]
              ports: [{number: 9080, name: http, protocol: HTTP}]
              resolution: STATIC
              endpoints: [{address: 10.0.0.2}]
            ---
            apiVersion: networking.istio.io/v1
            kind: ServiceEntry
            metadata: {name: nobody, namespace: shop}
            spec:
              hosts: [nobody.example.com]
              exportTo: ["~"]
              ports: [{number: 9080, name: http, protocol: HTTP}]
              resolution: STATIC
              endpoints: [{address: 10.0.0.3}]
            ---
            apiVersion: networking.istio.io/v1
            kind: ServiceEntry
            metadata: {name: public, namespace: shop}
            spec:
              hosts: [public.example.com]
              ports: [{number: 9080, name: http, protocol: HTTP}]
              resolution: STATIC
              endpoints: [{address: 10.0.0.4}]
            """;

    private static java.util.Set<String> clusterHostsSeenFrom(MeshSnapshot snapshot, String namespace) throws Exception {
        java.util.Set<String> hosts = new java.util.TreeSet<>();
        for (String name : XdsGenerator.generate(TypeUrls.CLUSTER, sidecarIn(namespace), snapshot).keySet()) {
            if (name.startsWith("outbound|")) {
                hosts.add(name.substring(name.lastIndexOf('|') + 1));
            }
        }
        return hosts;
    }

    @Test
    void aServiceEntryIsSeenOnlyFromTheNamespacesItIsExportedTo() throws Exception {
        MeshSnapshot s = snapshot(EXPORTED_ENTRIES);
        assertEquals(java.util.Set.of("private.example.com", "public.example.com"), clusterHostsSeenFrom(s, "shop"));
        assertEquals(java.util.Set.of("for-web.example.com", "public.example.com"), clusterHostsSeenFrom(s, "web"));
        assertEquals(java.util.Set.of("public.example.com"), clusterHostsSeenFrom(s, "default"));
        RouteConfiguration routes = (RouteConfiguration) XdsGenerator.generate(TypeUrls.ROUTE, sidecarIn("default"), s)
                .get("9080");
        assertEquals(List.of("public.example.com:9080", "allow_any"),
                routes.getVirtualHostsList().stream().map(VirtualHost::getName).toList(),
                "no virtual host for a service the namespace does not see");
    }

    private static final String EXPORTED_ROUTES = """
            apiVersion: networking.istio.io/v1
            kind: ServiceEntry
            metadata: {name: reviews, namespace: shop}
            spec:
              hosts: [reviews.example.com]
              ports: [{number: 9080, name: http, protocol: HTTP}]
              resolution: STATIC
              endpoints: [{address: 10.0.0.1}]
            ---
            apiVersion: networking.istio.io/v1
            kind: VirtualService
            metadata: {name: reviews-private, namespace: shop}
            spec:
              hosts: [reviews.example.com]
              exportTo: [.]
              http: [{route: [{destination: {host: reviews.example.com, subset: v1}}]}]
            ---
            apiVersion: networking.istio.io/v1
            kind: VirtualService
            metadata: {name: reviews-for-web, namespace: team}
            spec:
              hosts: [reviews.example.com]
              exportTo: [web]
              http: [{route: [{destination: {host: reviews.example.com, subset: v2}}]}]
            """;

    private static String clusterRoutedFrom(String namespace) throws Exception {
        RouteConfiguration routes = (RouteConfiguration) XdsGenerator.generate(TypeUrls.ROUTE, sidecarIn(namespace),
                snapshot(EXPORTED_ROUTES)).get("9080");
        return routes.getVirtualHosts(0).getRoutes(0).getRoute().getCluster();
    }

    @Test
    void aVirtualServiceAppliesOnlyInTheNamespacesItIsExportedTo() throws Exception {
        assertEquals("outbound|9080|v1|reviews.example.com", clusterRoutedFrom("shop"));
        assertEquals("outbound|9080|v2|reviews.example.com", clusterRoutedFrom("web"));
        assertEquals("outbound|9080||reviews.example.com", clusterRoutedFrom("team"),
                "no VirtualService exported to team: the default route");
        assertEquals("outbound|9080||reviews.example.com", clusterRoutedFrom("default"));
    }

    @Test
    void meshConfigDefaultsApplyToObjectsWithoutExportTo() throws Exception {
        MeshConfig mesh = new com.fasterxml.jackson.databind.ObjectMapper(new com.fasterxml.jackson.dataformat.yaml.YAMLFactory()).readValue("""
                defaultServiceExportTo: ["."]
                defaultVirtualServiceExportTo: [web]
                """, MeshConfig.class);
        assertEquals(List.of("."), mesh.defaultServiceExportTo());
        MeshSnapshot s = TestSnapshots.of(1, ConfigParser.parse(Path.of("mesh.yaml"), EXPORTED_ENTRIES + "---\n" + """
                apiVersion: networking.istio.io/v1
                kind: VirtualService
                metadata: {name: public, namespace: shop}
                spec:
                  hosts: [public.example.com]
                  http: [{route: [{destination: {host: public.example.com, subset: v1}}]}]
                """), mesh);
        assertEquals(java.util.Set.of("for-web.example.com"), clusterHostsSeenFrom(s, "web"),
                "public.example.com sets no exportTo: the mesh default [.] keeps it in shop");
        assertEquals(java.util.Set.of("private.example.com", "public.example.com"), clusterHostsSeenFrom(s, "shop"));
        RouteConfiguration shopRoutes = (RouteConfiguration) XdsGenerator.generate(TypeUrls.ROUTE, sidecarIn("shop"), s)
                .get("9080");
        VirtualHost pub = shopRoutes.getVirtualHostsList().stream()
                .filter(v -> v.getName().equals("public.example.com:9080")).findFirst().orElseThrow();
        assertEquals("outbound|9080||public.example.com", pub.getRoutes(0).getRoute().getCluster(),
                "the VirtualService without exportTo is exported to web only by the mesh default");
    }

    @Test
    void restrictedExportToIsNoLongerWarnedAbout() {
        ConfigParser.Result r = ConfigParser.parse(Path.of("t.yaml"), """
                apiVersion: networking.istio.io/v1
                kind: VirtualService
                metadata: {name: x, namespace: shop}
                spec: {hosts: [a], exportTo: [.], http: [{route: [{destination: {host: a}}]}]}
                """);
        assertEquals(1, r.configs().size());
        assertEquals(List.of(), r.warnings());
    }
}
