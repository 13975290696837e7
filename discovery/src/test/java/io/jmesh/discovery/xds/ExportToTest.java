package io.jmesh.discovery.xds;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.Message;
import com.google.protobuf.Struct;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.jmesh.discovery.config.ConfigParser;
import io.jmesh.discovery.config.ConfigSnapshot;
import io.jmesh.discovery.config.MeshConfig;
import io.jmesh.discovery.model.MeshSnapshot;
import io.jmesh.discovery.registry.file.FileServiceRegistry;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * {@code exportTo} as Istio reads it: validated on ServiceEntry, VirtualService and DestinationRule, and a
 * DestinationRule applies only in the namespaces it is exported to ({@code .}: its own; a name; {@code *} or unset:
 * all), seen through the clusters each proxy is sent.
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
        ConfigParser.Result parsed = ConfigParser.parse(Path.of("mesh.yaml"), MESH);
        assertEquals(List.of(), parsed.errors());
        ConfigSnapshot config = new ConfigSnapshot(parsed.configs(), parsed.errors(), MeshConfig.DEFAULT);
        FileServiceRegistry registry = new FileServiceRegistry();
        registry.update(config);
        MeshSnapshot snapshot = new MeshSnapshot(1, config, registry.services(), registry.endpoints());
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

    @Test
    void exportToNotYetEnforcedOnServiceEntryAndVirtualServiceIsWarnedAboutByName() {
        ConfigParser.Result r = ConfigParser.parse(Path.of("t.yaml"), """
                apiVersion: networking.istio.io/v1
                kind: VirtualService
                metadata: {name: x, namespace: shop}
                spec: {hosts: [a], exportTo: [.], http: [{route: [{destination: {host: a}}]}]}
                """);
        assertEquals(1, r.configs().size());
        assertEquals("spec.exportTo: [.] (not implemented for VirtualService: its routes apply in every namespace)",
                r.warnings().get(0).message());
    }
}
