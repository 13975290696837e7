package io.jmesh.discovery.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.jmesh.discovery.DiscoveryOptions;
import io.jmesh.discovery.DiscoveryServer;
import io.jmesh.discovery.analysis.Analyzers;
import io.jmesh.discovery.analysis.Message;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Objects of {@code *.istio.io} kinds that jmesh does not implement are never dropped silently: a warning that says
 * they are not applied, in the parse result, {@code /debug/configz} and {@code jmesh analyze}; for security groups an
 * error, since the policy is not enforced.
 */
class UnimplementedKindsTest {

    private static final String YAML = """
            apiVersion: networking.istio.io/v1alpha3
            kind: MadeUpKind
            metadata: {name: add-header, namespace: shop}
            spec:
              configPatches: []
            ---
            apiVersion: extensions.istio.io/v1alpha1
            kind: WasmPlugin
            metadata: {name: basic-auth}
            spec: {url: oci://example.com/basic-auth:1}
            ---
            apiVersion: rbac.istio.io/v1alpha1
            kind: ServiceRole
            metadata: {name: reader}
            spec: {rules: [{services: ["*"], methods: [GET]}]}
            ---
            apiVersion: security.istio.io/v1
            kind: SecurityPolicy
            metadata: {name: made-up}
            spec: {}
            ---
            apiVersion: apps/v1
            kind: Deployment
            metadata: {name: not-istio}
            ---
            apiVersion: networking.istio.io/v1
            kind: ServiceEntry
            metadata: {name: ok}
            spec: {hosts: [api.example.com], ports: [{number: 443, name: https, protocol: TLS}], resolution: DNS}
            """;

    @Test
    void networkingAndExtensionKindsAreWarnedAboutAsNotApplied() {
        ConfigParser.Result r = ConfigParser.parse(Path.of("k.yaml"), YAML);
        assertEquals(List.of("ServiceEntry/default/ok"), r.configs().stream().map(c -> c.meta().key()).toList());
        List<ConfigWarning> notApplied = r.warnings().stream().filter(w -> !w.applied()).toList();
        assertEquals(2, notApplied.size(), r.warnings().toString());
        assertEquals("MadeUpKind/shop/add-header", notApplied.get(0).key());
        assertEquals(1, notApplied.get(0).source().line());
        assertEquals("kind: MadeUpKind of networking.istio.io/v1alpha3 is not implemented by jmesh (expected: one of "
                + "ServiceEntry, WorkloadEntry, VirtualService, DestinationRule, Gateway, Sidecar, EnvoyFilter for "
                + "networking.istio.io)", notApplied.get(0).message());
        assertEquals("WasmPlugin/default/basic-auth", notApplied.get(1).key());
        assertEquals("kind: WasmPlugin of extensions.istio.io/v1alpha1 is not implemented by jmesh (expected: no kind "
                + "of extensions.istio.io is implemented by jmesh)", notApplied.get(1).message());
    }

    @Test
    void securityKindsAreErrorsThatSayThePolicyIsNotEnforced() {
        ConfigParser.Result r = ConfigParser.parse(Path.of("k.yaml"), YAML);
        assertEquals(2, r.errors().size(), r.errors().toString());
        assertEquals("ServiceRole/default/reader", r.errors().get(0).key());
        assertEquals("kind: ServiceRole of rbac.istio.io/v1alpha1 is not implemented by jmesh and its policy is NOT "
                + "enforced (expected: no kind of rbac.istio.io is implemented by jmesh)", r.errors().get(0).reason());
        assertEquals("SecurityPolicy/default/made-up", r.errors().get(1).key());
        assertEquals("kind: SecurityPolicy of security.istio.io/v1 is not implemented by jmesh and its policy is NOT "
                + "enforced (expected: one of PeerAuthentication, AuthorizationPolicy, RequestAuthentication for "
                + "security.istio.io)", r.errors().get(1).reason());
        assertTrue(ConfigParser.isSecurityPolicy(r.errors().get(0).kind(), r.errors().get(0).reason()));
    }

    @Test
    void unknownFieldsOfSecurityKindsRejectThePolicy() {
        ConfigParser.Result r = ConfigParser.parse(Path.of("ap.yaml"), """
                apiVersion: security.istio.io/v1
                kind: AuthorizationPolicy
                metadata: {name: deny-admin}
                spec:
                  action: DENY
                  rules: [{to: [{operation: {path: [/admin]}}]}]
                """);
        assertEquals(List.of(), r.configs());
        assertEquals("spec.rules[0].to[0].operation.path: unknown field (expected: one of hosts, methods, notHosts, "
                + "notMethods, notPaths, notPorts, paths, ports)", r.errors().get(0).reason());
        assertTrue(ConfigParser.isSecurityPolicy(r.errors().get(0).kind(), r.errors().get(0).reason()));
    }

    @Test
    void analyzeReportsTheNotAppliedKindsAsSchemaWarnings() {
        ConfigParser.Result r = ConfigParser.parse(Path.of("k.yaml"), YAML);
        List<Message> messages = Analyzers.analyze(r.configs(), r.errors(), r.warnings());
        List<String> lines = messages.stream().map(Message::toString).toList();
        assertTrue(lines.contains("Warning [IST0133] (MadeUpKind shop/add-header k.yaml:1) Schema validation warning: "
                + "kind: MadeUpKind of networking.istio.io/v1alpha3 is not implemented by jmesh (expected: one of "
                + "ServiceEntry, WorkloadEntry, VirtualService, DestinationRule, Gateway, Sidecar, EnvoyFilter for "
                + "networking.istio.io); not applied"), String.join("\n", lines));
        assertTrue(lines.stream().anyMatch(l -> l.startsWith("Error [IST0106] (ServiceRole default/reader k.yaml:")),
                String.join("\n", lines));
    }

    @Test
    void configzListsTheObjectsNotApplied(@TempDir Path dir) throws Exception {
        Files.writeString(dir.resolve("mesh.yaml"), YAML);
        try (DiscoveryServer d = DiscoveryServer.start(new DiscoveryOptions(dir, new InetSocketAddress("127.0.0.1", 0),
                new InetSocketAddress("127.0.0.1", 0), null, Duration.ofMillis(20)))) {
            HttpClient http = HttpClient.newHttpClient();
            String body = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:"
                    + d.monitoringAddress().getPort() + "/debug/configz")).build(),
                    HttpResponse.BodyHandlers.ofString()).body();
            JsonNode configz = new ObjectMapper().readTree(body);
            JsonNode notApplied = configz.path("notApplied");
            assertEquals(2, notApplied.size(), body);
            assertEquals("MadeUpKind/shop/add-header", notApplied.get(0).path("object").asText());
            assertEquals(dir.resolve("mesh.yaml").toString(), notApplied.get(0).path("file").asText());
            assertTrue(notApplied.get(0).path("reason").asText().startsWith(
                    "kind: MadeUpKind of networking.istio.io/v1alpha3 is not implemented by jmesh"), body);
            assertEquals("WasmPlugin/default/basic-auth", notApplied.get(1).path("object").asText());
            List<String> rejected = configz.path("errors").findValuesAsText("object");
            assertEquals(List.of("ServiceRole/default/reader", "SecurityPolicy/default/made-up"), rejected);
            assertFalse(body.contains("not-istio"), body);
        }
    }
}
