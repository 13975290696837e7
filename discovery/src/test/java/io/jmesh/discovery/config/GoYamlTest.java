package io.jmesh.discovery.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * Istio YAML is read as istiod reads it (go-yaml v2 through sigs.k8s.io/yaml, then protojson), and what is wrong is
 * said in a user's words: every problem of an object, no Java or Jackson names.
 */
class GoYamlTest {

    private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());

    private static ConfigParser.Result parse(String spec) {
        return ConfigParser.parse(Path.of("t.yaml"), """
                apiVersion: networking.istio.io/v1
                kind: ServiceEntry
                metadata: {name: se, namespace: default}
                spec:
                """ + spec.indent(2));
    }

    @Test
    void anIpv6AddressEndingInColonsIsAStringInAFlowList() {
        ConfigParser.Result r = parse("""
                hosts: [example.com]
                addresses: [1.2.3.4, 001:db8::]
                ports: [{number: 80, name: http, protocol: HTTP}]
                """);
        assertEquals(List.of(), r.errors());
        assertEquals(List.of("1.2.3.4", "001:db8::"), r.configs().get(0).spec(ServiceEntry.class).addresses());
    }

    @Test
    void flowScalarsEndingInAColonAreStringsAsInGo() throws IOException {
        assertEquals(YAML.readTree("{a: ['x:', b, 'fe80::', {k: 'v:'}], c: {'d:': null}}"),
                YAML.readTree(GoYaml.normalize("a: [x:, b, fe80::, {k: v:}]\nc: {d:}")));
        // what Go and SnakeYAML read alike is left as it was, byte for byte
        for (String same : List.of("a: [x: 1, {k: v}]", "a: {b:c}", "a: \"[x::]\" # [y::]", "a: |\n  [x::]\n",
                "- [a, 'b:', \"c:\"]", "url: http://x:80/[y]")) {
            assertEquals(same, GoYaml.normalize(same));
        }
    }

    @Test
    void everyYamlFileOfTheRepositoryReadsTheSameAfterNormalizing() throws IOException {
        Path root = Path.of("..").toAbsolutePath().normalize();
        List<Path> files;
        try (Stream<Path> s = Files.walk(root)) {
            files = s.filter(p -> !p.toString().contains("/target/") && !p.toString().contains("/.git/"))
                    .filter(p -> p.toString().endsWith(".yaml") || p.toString().endsWith(".yml")).sorted().toList();
        }
        assertTrue(files.size() > 20, files.toString());
        List<String> changed = new ArrayList<>();
        for (Path f : files) {
            String text = Files.readString(f);
            List<JsonNode> before = readAll(text);
            if (before != null && !before.equals(readAll(GoYaml.normalize(text)))) {
                changed.add(root.relativize(f).toString());
            }
        }
        // the one file that differs is the Istio test data with an IPv6 address ending in "::" in a flow list
        assertEquals(List.of("discovery/src/test/resources/istio-validation/serviceentry-valid.yaml"), changed);
    }

    private static List<JsonNode> readAll(String text) {
        try (var it = YAML.readerFor(JsonNode.class).readValues(text)) {
            List<JsonNode> out = new ArrayList<>();
            while (it.hasNext()) {
                out.add((JsonNode) it.next());
            }
            return out;
        } catch (IOException | RuntimeException e) {
            return null; // not YAML this test can compare (templates, deliberately broken files)
        }
    }

    @Test
    void yamlBooleansAndNumbersAreNotStringsAsInGo() {
        ConfigParser.Result r = parse("""
                hosts: [yes, example.com, 8080]
                ports: [{number: 80, name: on, protocol: HTTP}]
                """);
        assertEquals(List.of(), r.configs());
        assertEquals("spec.hosts[0]: true (expected: a string); spec.hosts[2]: 8080 (expected: a string); "
                + "spec.ports[0].name: true (expected: a string)", r.errors().get(0).reason());
        ConfigParser.Result quoted = parse("""
                hosts: ["yes.example.com"]
                ports: [{number: "80", name: "on", protocol: HTTP}]
                """);
        assertEquals(List.of(), quoted.errors(), "quoted, they are strings; an integer may be a string of digits");
    }

    @Test
    void labelValuesMustBeStringsAsInKubernetes() {
        ConfigParser.Result r = ConfigParser.parse(Path.of("t.yaml"), """
                apiVersion: networking.istio.io/v1
                kind: WorkloadEntry
                metadata: {name: we, labels: {version: 1}}
                spec: {address: 10.0.0.1}
                """);
        assertEquals("metadata.labels.version: 1 (expected: a string; quote it)", r.errors().get(0).reason());
    }

    @Test
    void everyStructuralProblemIsReportedWithoutLibraryNames() {
        ConfigParser.Result r = ConfigParser.parse(Path.of("t.yaml"), """
                apiVersion: networking.istio.io/v1
                kind: VirtualService
                metadata: {name: vs}
                spec:
                  hosts: {reviews: 1}
                  gateways: mesh
                  http:
                  - rout: [{destination: {host: reviews}}]
                    timeout: [1s]
                    retries: {attempts: many}
                    mirrorPercent: 1.5
                    match: [{ignoreUriCase: "yes"}]
                """);
        String reason = r.errors().get(0).reason();
        assertEquals("spec.hosts: {\"reviews\":1} (expected: a list); spec.gateways: mesh (expected: a list); "
                + "spec.http[0].rout: unknown field (expected: one of corsPolicy, delegate, directResponse, fault, headers, "
                + "match, mirror, mirrorPercent, mirrorPercentage, name, redirect, retries, rewrite, route, timeout); spec.http[0].timeout: [\"1s\"] (expected: a string); "
                + "spec.http[0].retries.attempts: many (expected: an integer); spec.http[0].mirrorPercent: 1.5 "
                + "(expected: an integer); spec.http[0].match[0].ignoreUriCase: yes (expected: true or false)", reason);
        for (ConfigError e : r.errors()) {
            assertFalse(e.reason().contains("JsonToken") || e.reason().contains("java.") || e.reason().contains("`"),
                    e.reason());
        }
    }

    @Test
    void aMisspelledTopLevelFieldIsAnErrorNotAnEmptySpec() {
        ConfigParser.Result r = ConfigParser.parse(Path.of("t.yaml"), """
                apiVersion: security.istio.io/v1
                kind: AuthorizationPolicy
                metadata: {name: deny-admin}
                specs: {action: DENY, rules: [{to: [{operation: {paths: [/admin]}}]}]}
                """);
        assertEquals(List.of(), r.configs(), "an empty AuthorizationPolicy would allow nothing: not what was meant");
        assertEquals("specs: unknown field (expected: one of apiVersion, kind, metadata, spec, status)",
                r.errors().get(0).reason());
    }

    @Test
    void aDocumentThatIsNotAMappingIsNamedInWords() {
        ConfigParser.Result r = ConfigParser.parse(Path.of("t.yaml"), "- a\n- b\n");
        assertEquals("document: a list (expected: a mapping with apiVersion, kind, metadata)",
                r.errors().get(0).reason());
    }
}
