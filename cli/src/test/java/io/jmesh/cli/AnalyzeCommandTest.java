package io.jmesh.cli;

import static io.jmesh.cli.CliRun.jmesh;
import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code jmesh analyze} as a user runs it: files, directories and stdin in, istioctl's output and exit codes out. */
class AnalyzeCommandTest {

    private static final String SERVICE_ENTRY = """
            apiVersion: networking.istio.io/v1
            kind: ServiceEntry
            metadata:
              name: reviews
            spec:
              hosts: [reviews]
              ports: [{number: 9080, name: http, protocol: HTTP}]
              resolution: STATIC
              endpoints: [{address: 10.0.0.1}]
            """;

    private static final String BAD_VS = """
            apiVersion: networking.istio.io/v1
            kind: VirtualService
            metadata:
              name: reviews
            spec:
              hosts: [reviews]
              http:
              - route:
                - destination: {host: reviews2}
            """;

    private static final String DR_NO_CA = """
            apiVersion: networking.istio.io/v1
            kind: DestinationRule
            metadata:
              name: db-tls
            spec:
              host: reviews
              trafficPolicy:
                tls: {mode: SIMPLE}
            """;

    @TempDir
    Path dir;

    private Path se;

    @BeforeEach
    void setUp() throws IOException {
        se = write("se.yaml", SERVICE_ENTRY);
    }

    @Test
    void noIssuesPrintsTheSummaryAndExitsZero() throws IOException {
        Path vs = write("vs.yaml", BAD_VS.replace("reviews2", "reviews"));
        CliRun r = jmesh("analyze", "-f", se.toString(), "-f", vs.toString());
        assertEquals(new CliRun(0, "\u2714 No validation issues found when analyzing namespace: default.\n", ""), r);
    }

    @Test
    void anErrorIsPrintedAsIstioctlDoesAndExitsWith79() throws IOException {
        Path vs = write("vs.yaml", BAD_VS);
        CliRun r = jmesh("analyze", se.toString(), vs.toString());
        assertEquals(79, r.exit());
        assertEquals("Error [IST0101] (VirtualService default/reviews " + vs + ":1) Referenced host not found: "
                + "\"reviews2\"\n", r.out());
        assertEquals("Error: Analyzers found issues when analyzing namespace: default.\n"
                + "See https://istio.io/latest/docs/reference/config/analysis for more information about causes "
                + "and resolutions.\n", r.err());
    }

    @Test
    void jsonAndYamlOutputsListTheMessages() throws IOException {
        Path vs = write("vs.yaml", BAD_VS);
        CliRun json = jmesh("analyze", "-f", se.toString(), "-f", vs.toString(), "-o", "json");
        assertEquals(79, json.exit());
        JsonNode list = new ObjectMapper().readTree(json.out());
        assertEquals(1, list.size());
        assertEquals("IST0101", list.get(0).path("code").asText());
        assertEquals("Error", list.get(0).path("level").asText());
        assertEquals("Referenced host not found: \"reviews2\"", list.get(0).path("message").asText());
        assertEquals("VirtualService default/reviews", list.get(0).path("origin").asText());
        assertEquals(vs + ":1", list.get(0).path("reference").asText());
        assertEquals("https://istio.io/latest/docs/reference/config/analysis/ist0101/",
                list.get(0).path("documentationUrl").asText());

        CliRun yaml = jmesh("analyze", "-f", se.toString(), "-f", vs.toString(), "-o", "yaml");
        assertEquals(79, yaml.exit());
        JsonNode fromYaml = new ObjectMapper(new YAMLFactory()).readTree(yaml.out());
        assertEquals(list, fromYaml);
    }

    @Test
    void stdinIsReadForDash() {
        InputStream in = System.in;
        try {
            System.setIn(new ByteArrayInputStream((SERVICE_ENTRY + "---\n" + BAD_VS).getBytes(StandardCharsets.UTF_8)));
            CliRun r = jmesh("analyze", "-f", "-");
            assertEquals(79, r.exit());
            assertEquals("Error [IST0101] (VirtualService default/reviews <stdin>:11) Referenced host not found: "
                    + "\"reviews2\"\n", r.out());
        } finally {
            System.setIn(in);
        }
    }

    @Test
    void directoriesAreReadRecursively() throws IOException {
        Files.createDirectories(dir.resolve("sub/deeper"));
        write("sub/deeper/vs.yml", BAD_VS);
        write("sub/notes.txt", "not yaml: [");
        CliRun r = jmesh("analyze", "-f", dir.toString());
        assertEquals(79, r.exit());
        assertEquals("Error [IST0101] (VirtualService default/reviews " + dir.resolve("sub/deeper/vs.yml")
                + ":1) Referenced host not found: \"reviews2\"\n", r.out());
    }

    @Test
    void suppressLeavesOutTheNamedMessages() throws IOException {
        Path vs = write("vs.yaml", BAD_VS);
        CliRun exact = jmesh("analyze", "-f", se + "," + vs, "--suppress", "IST0101=VirtualService reviews.default");
        assertEquals(new CliRun(0, "\u2714 No validation issues found when analyzing namespace: default.\n", ""), exact);
        CliRun glob = jmesh("analyze", "-f", se + "," + vs, "-S", "IST0101=VirtualService *");
        assertEquals(0, glob.exit());
        CliRun otherCode = jmesh("analyze", "-f", se + "," + vs, "-S", "IST0132=VirtualService *");
        assertEquals(79, otherCode.exit());
        CliRun bad = jmesh("analyze", "-f", vs.toString(), "-S", "IST0101");
        assertEquals(new CliRun(64, "", "Error: --suppress: IST0101 (expected: CODE=Kind name.namespace, e.g. "
                + "IST0101=VirtualService reviews.default)\n"), bad);
    }

    @Test
    void thresholdsDecideWhatIsPrintedAndWhatFails() throws IOException {
        Path dr = write("dr.yaml", DR_NO_CA);
        String warning = "Warning [IST0128] (DestinationRule default/db-tls " + dr + ":1) DestinationRule db-tls in "
                + "namespace default has TLS mode set to SIMPLE but no caCertificates are set to validate server "
                + "identity for host: reviews\n";
        assertEquals(new CliRun(0, warning, ""), jmesh("analyze", "-f", se.toString(), "-f", dr.toString()));
        CliRun failOnWarning = jmesh("analyze", "-f", se.toString(), "-f", dr.toString(), "--failure-threshold", "Warning");
        assertEquals(79, failOnWarning.exit());
        assertEquals(warning, failOnWarning.out());
        assertEquals(new CliRun(0, "\u2714 No validation issues found when analyzing namespace: default.\n", ""),
                jmesh("analyze", "-f", se.toString(), "-f", dr.toString(), "--output-threshold", "Error"));
    }

    @Test
    void namespaceSelectsWhatIsReportedAndIsTheDefaultOfObjectsWithoutOne() throws IOException {
        Path vs = write("vs.yaml", BAD_VS);
        Path other = write("other.yaml", BAD_VS.replace("name: reviews\n", "name: reviews\n  namespace: other\n"));
        // -n other: the namespace-less objects are in "other" too; the ServiceEntry defines reviews.other.
        assertEquals(new CliRun(0, "\u2714 No validation issues found when analyzing namespace: other.\n", ""),
                jmesh("analyze", "-n", "other", "-f", se.toString(), "-f",
                        write("ok.yaml", BAD_VS.replace("reviews2", "reviews")).toString()));
        CliRun defaultNs = jmesh("analyze", "-f", se.toString(), "-f", other.toString());
        assertEquals(new CliRun(0, "\u2714 No validation issues found when analyzing namespace: default.\n", ""),
                defaultNs);
        CliRun all = jmesh("analyze", "-A", "-f", se.toString(), "-f", vs.toString(), "-f", other.toString());
        assertEquals(79, all.exit());
        assertEquals("Error [IST0101] (VirtualService default/reviews " + vs + ":1) Referenced host not found: "
                + "\"reviews2\"\n"
                + "Error [IST0101] (VirtualService other/reviews " + other + ":1) Referenced host not found: "
                + "\"reviews2\"\n", sortedLines(all.out()));
        assertEquals("Error: Analyzers found issues when analyzing all namespaces.", all.err().lines().findFirst()
                .orElseThrow());
    }

    @Test
    void schemaErrorsAreIst0106AndUnreadableInputIsADataError() throws IOException {
        Path bad = write("bad.yaml", BAD_VS.replace("http:\n", "http:\n  - timeout: soon\n    route: [{destination: {host: reviews}}]\n"));
        CliRun r = jmesh("analyze", "-f", se.toString(), "-f", bad.toString(), "-o", "json");
        assertEquals(79, r.exit());
        JsonNode list = new ObjectMapper().readTree(r.out());
        assertEquals("IST0106", list.get(0).path("code").asText());

        Path broken = write("broken.yaml", "kind: [unclosed\n");
        CliRun b = jmesh("analyze", "-f", broken.toString());
        assertEquals(65, b.exit());
        assertEquals("", b.out());
        CliRun missing = jmesh("analyze", "-f", dir.resolve("nope.yaml").toString());
        assertEquals(new CliRun(65, "", "Error: " + dir.resolve("nope.yaml") + ": no such file or directory\n"), missing);
    }

    @Test
    void usageErrorsExitWith64() {
        assertEquals(new CliRun(64, "", "Error: -f: missing (expected: files or directories of Istio YAML, or - for "
                + "stdin; jmesh analyze reads no cluster)\n"), jmesh("analyze"));
        assertEquals(new CliRun(64, "", "Error: --output: table (expected: log, json or yaml)\n"),
                jmesh("analyze", "-f", "x.yaml", "-o", "table"));
        assertEquals(new CliRun(64, "", "Error: --failure-threshold: Fatal (expected: Error, Warning or Info)\n"),
                jmesh("analyze", "-f", "x.yaml", "--failure-threshold", "Fatal"));
        assertEquals(64, jmesh("analyze", "--no-such-flag").exit());
    }

    @Test
    void listAnalyzersNamesThem() {
        CliRun r = jmesh("analyze", "-L");
        assertEquals(0, r.exit());
        assertEquals("Available analyzers:", r.out().lines().findFirst().orElseThrow());
        assertEquals(true, r.out().contains("* virtualservice.GatewayAnalyzer\n"), r.out());
    }

    private static String sortedLines(String text) {
        return String.join("\n", text.lines().sorted().toList()) + "\n";
    }

    private Path write(String name, String content) throws IOException {
        Path p = dir.resolve(name);
        Files.writeString(p, content);
        return p;
    }
}
