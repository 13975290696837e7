package io.jmesh.discovery.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ConfigParserTest {

    private static final String GOOD = """
            apiVersion: networking.istio.io/v1
            kind: VirtualService
            metadata:
              name: reviews
              namespace: shop
            spec:
              hosts: [reviews]
              http:
              - match:
                - headers:
                    end-user: {exact: jason}
                route:
                - destination: {host: reviews, subset: v2}
              - route:
                - destination: {host: reviews, subset: v1}
                  weight: 80
                - destination: {host: reviews, subset: v3}
                  weight: 20
                timeout: 1.5s
            ---
            apiVersion: networking.istio.io/v1beta1
            kind: DestinationRule
            metadata: {name: reviews}
            spec:
              host: reviews
              subsets:
              - name: v1
                labels: {version: v1}
            """;

    @Test
    void aRejectedObjectHasNoWarningSayingItIsApplied() {
        // *x alone is a warning (partial wildcard); the resolution makes the entry invalid
        ConfigParser.Result r = ConfigParser.parse(Path.of("se.yaml"), """
                apiVersion: networking.istio.io/v1
                kind: ServiceEntry
                metadata: {name: ext, namespace: shop}
                spec:
                  hosts: ["*x"]
                  exportTo: [.]
                  resolution: SOMETIMES
                  ports: [{number: 80, name: http, protocol: HTTP}]
                """);
        assertEquals(List.of(), r.configs());
        assertEquals(List.of("spec.resolution: SOMETIMES (expected: NONE, STATIC, DNS or DNS_ROUND_ROBIN)"),
                r.errors().stream().map(ConfigError::reason).toList());
        assertEquals(List.of(), r.warnings());
    }

    @Test
    void parsesMultiDocumentYamlIntoTypedObjects() {
        ConfigParser.Result r = ConfigParser.parse(Path.of("a.yaml"), GOOD);
        assertEquals(List.of(), r.errors());
        assertEquals(2, r.configs().size());
        Config<?> vs = r.configs().get(0);
        assertEquals("VirtualService/shop/reviews", vs.meta().key());
        assertEquals(1, vs.meta().source().line());
        VirtualService spec = vs.spec(VirtualService.class);
        assertEquals("jason", spec.http().get(0).match().get(0).headers().get("end-user").exact());
        assertEquals(20, spec.http().get(1).route().get(1).weight());
        Config<?> dr = r.configs().get(1);
        assertEquals("DestinationRule/default/reviews", dr.meta().key());
        assertEquals(21, dr.meta().source().line());
    }

    @Test
    void destinationRuleWorkloadSelectorUsesMatchLabelsAsIstio() {
        ConfigParser.Result r = ConfigParser.parse(Path.of("dr.yaml"), """
                apiVersion: networking.istio.io/v1
                kind: DestinationRule
                metadata: {name: ratings, namespace: default}
                spec:
                  host: ratings
                  workloadSelector: {matchLabels: {app: ratings}}
                  trafficPolicy: {tls: {mode: SIMPLE, credentialName: ratings-cred}}
                """);
        assertEquals(List.of(), r.errors());
        assertEquals(java.util.Map.of("app", "ratings"),
                r.configs().get(0).spec(DestinationRule.class).workloadSelector().matchLabels());
    }

    @Test
    void rejectsInvalidObjectsWithFileLineKeyAndReasonAndKeepsTheOthers() {
        String yaml = GOOD + """
                ---
                apiVersion: networking.istio.io/v1
                kind: VirtualService
                metadata: {name: bad-weight, namespace: shop}
                spec:
                  hosts: [ratings]
                  http:
                  - route:
                    - destination: {host: ratings}
                      weight: -5
                ---
                apiVersion: networking.istio.io/v1
                kind: DestinationRule
                metadata: {name: typo}
                spec:
                  host: ratings
                  trafficPolicy:
                    loadBalancer: {simpel: ROUND_ROBIN}
                ---
                apiVersion: networking.istio.io/v1
                kind: ServiceEntry
                metadata: {name: no-ports}
                spec:
                  hosts: [api.example.com]
                """;
        ConfigParser.Result r = ConfigParser.parse(Path.of("b.yaml"), yaml);
        assertEquals(3, r.configs().size(), "a ServiceEntry without ports is valid, as in Istio");
        assertEquals(2, r.errors().size(), r.errors().toString());
        ConfigError weight = r.errors().get(0);
        assertEquals(Path.of("b.yaml"), weight.source().file());
        assertEquals(38, weight.source().line(), "the line of weight: -5");
        assertEquals("VirtualService/shop/bad-weight", weight.key());
        assertEquals("spec.http[0].route[0].weight: -5 (expected: >= 0)", weight.reason());
        assertEquals("spec.trafficPolicy.loadBalancer.simpel: unknown field (expected: one of consistentHash, "
                + "localityLbSetting, simple, warmup, warmupDurationSecs)", r.errors().get(1).reason());
    }

    @Test
    void validatesLikeIstiod() {
        assertReason("VirtualService", "hosts: [r]\nhttp:\n- route: [{destination: {host: r}}]\n  timeout: 2x",
                "spec.http[0].timeout: 2x (expected: a duration such as 1s or 500ms)");
        assertReason("VirtualService", "hosts: [r]\nhttp:\n- match: [{headers: {End-User: {exact: a}}}]\n"
                + "  route: [{destination: {host: r}}]",
                "spec.http[0].match[0].headers: End-User (expected: a lower-case header name)");
        assertReason("VirtualService", "hosts: [r]\nhttp:\n- fault: {abort: {httpStatus: 700}}\n"
                + "  route: [{destination: {host: r}}]",
                "spec.http[0].fault.abort.httpStatus: 700 (expected: 200..599)");
        assertReason("DestinationRule", "host: r\nsubsets: [{name: v1}, {name: v1}]",
                "spec.subsets[1].name: v1 (expected: a name unique in the rule)");
        assertReason("Gateway", "servers: [{port: {number: 443, name: https, protocol: HTTPS}, hosts: ['*']}]",
                "spec.servers[0].tls: missing (expected: TLS settings for protocol HTTPS)");
        // Found by ConfigParserFuzzTest: a server port without protocol threw a NullPointerException.
        assertReason("Gateway", "servers: [{port: {number: 8443, name: tls}, hosts: ['*']}]",
                "spec.servers[0].port.protocol: missing (expected: one of BOLT, DUBBO, GRPC, GRPC-WEB, HTTP, "
                + "HTTP2, HTTPS, MONGO, MYSQL, REDIS, SOFARPC, TCP, TLS, UDP)");
        assertReason("Sidecar", "egress: [{hosts: [istio-system]}]",
                "spec.egress[0].hosts[0]: istio-system (expected: namespace/dnsName)");
        assertReason("WorkloadEntry", "address: 10.0.0.1\nports: {http: 70000}",
                "spec.ports.http: 70000 (expected: 1..65535)");
    }

    @Test
    void reportsYamlSyntaxErrorsWithLine() {
        ConfigParser.Result r = ConfigParser.parse(Path.of("c.yaml"), GOOD + "---\nkind: [\n");
        assertEquals(2, r.configs().size());
        assertEquals(1, r.errors().size());
        assertTrue(r.errors().get(0).reason().startsWith("yaml: "), r.errors().get(0).reason());
    }

    @Test
    void watcherReloadsOnEditAndKeepsValidObjects(@TempDir Path dir) throws Exception {
        Files.writeString(dir.resolve("a.yaml"), GOOD);
        LinkedBlockingQueue<ConfigSnapshot> snapshots = new LinkedBlockingQueue<>();
        try (DirectoryConfigWatcher w = new DirectoryConfigWatcher(dir, null, Duration.ofMillis(50),
                Duration.ofMillis(200), snapshots::add)) {
            ConfigSnapshot first = w.start();
            assertEquals(2, first.configs().size());
            assertEquals(first, snapshots.take());
            Files.writeString(dir.resolve("b.yaml"), """
                    apiVersion: networking.istio.io/v1
                    kind: DestinationRule
                    metadata: {name: ratings}
                    spec: {host: ratings, trafficPolicy: {loadBalancer: {simple: FASTEST}}}
                    """);
            ConfigSnapshot next = snapshots.poll(30, TimeUnit.SECONDS);
            assertEquals(2, next.configs().size());
            assertEquals(1, next.errors().size());
            assertEquals("DestinationRule/default/ratings", next.errors().get(0).key());
        }
    }

    private static void assertReason(String kind, String spec, String reason) {
        String yaml = "apiVersion: networking.istio.io/v1\nkind: " + kind + "\nmetadata: {name: x}\nspec:\n"
                + spec.indent(2);
        ConfigParser.Result r = ConfigParser.parse(null, yaml);
        assertEquals(1, r.errors().size(), () -> kind + " accepted: " + spec);
        assertEquals(reason, r.errors().get(0).reason());
    }
}
