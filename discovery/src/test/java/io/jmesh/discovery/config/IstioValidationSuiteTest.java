package io.jmesh.discovery.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

/**
 * Istio's own validation cases (istio/istio {@code pkg/config/validation}: the table tests of validation_test.go and
 * virtualservice_test.go, and the CRD test data {@code testdata/crds/*-valid.yaml}, {@code *-invalid.yaml}) for the
 * kinds jmesh implements, rewritten as our YAML resources under {@code istio-validation/}: every object of a
 * {@code -valid} file is accepted, every object of an {@code -invalid} file is rejected with a reason containing its
 * {@code # jmesh:} text, next to which {@code # istio:} keeps Istio's phrase. A case marked {@code # differs:} is one
 * where jmesh knowingly differs from Istio, with the reason; the test asserts jmesh's behaviour there, so that a fix
 * shows up as a failure to update the mark.
 */
class IstioValidationSuiteTest {

    private static final List<String> KINDS = List.of("serviceentry", "workloadentry", "virtualservice",
            "destinationrule", "gateway", "sidecar", "peerauthentication", "authorizationpolicy",
            "requestauthentication", "telemetry");

    /** One YAML document and what its comments say about it. */
    record Case(String file, int index, String name, String yaml, String istio, String jmesh, String differs) {}

    static List<Case> load(String file) throws IOException {
        String text;
        try (InputStream in = IstioValidationSuiteTest.class.getResourceAsStream("/istio-validation/" + file)) {
            if (in == null) {
                throw new IOException("missing resource istio-validation/" + file);
            }
            text = new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
        List<Case> out = new ArrayList<>();
        int i = 0;
        for (String doc : text.split("(?m)^---\\s*$")) {
            if (doc.lines().allMatch(l -> l.isBlank() || l.startsWith("#"))) {
                continue;
            }
            String name = null;
            String istio = null;
            String jmesh = null;
            String differs = null;
            for (String line : doc.lines().toList()) {
                if (line.startsWith("# case: ")) {
                    name = line.substring(8).trim();
                } else if (line.startsWith("# istio: ")) {
                    istio = line.substring(9).trim();
                } else if (line.startsWith("# jmesh: ")) {
                    jmesh = line.substring(9).trim();
                } else if (line.startsWith("# differs: ")) {
                    differs = line.substring(11).trim();
                }
            }
            out.add(new Case(file, i, name == null ? "#" + i : name, doc, istio, jmesh, differs));
            i++;
        }
        return out;
    }

    @TestFactory
    Stream<DynamicTest> validObjectsAreAccepted() throws IOException {
        List<DynamicTest> tests = new ArrayList<>();
        for (String kind : KINDS) {
            for (Case c : load(kind + "-valid.yaml")) {
                tests.add(DynamicTest.dynamicTest(c.file() + " " + c.name(), () -> {
                    ConfigParser.Result r = ConfigParser.parse(Path.of(c.file()), c.yaml());
                    if (c.differs() != null) {
                        assertEquals(1, r.errors().size(), "jmesh knowingly rejects this (" + c.differs() + ")");
                    } else {
                        assertEquals(List.of(), r.errors(), c.name());
                        assertEquals(1, r.configs().size(), c.name());
                    }
                }));
            }
        }
        return tests.stream();
    }

    @TestFactory
    Stream<DynamicTest> invalidObjectsAreRejectedForIstiosReason() throws IOException {
        List<DynamicTest> tests = new ArrayList<>();
        for (String kind : KINDS) {
            for (Case c : load(kind + "-invalid.yaml")) {
                tests.add(DynamicTest.dynamicTest(c.file() + " " + c.name(), () -> {
                    ConfigParser.Result r = ConfigParser.parse(Path.of(c.file()), c.yaml());
                    if (c.differs() != null) {
                        assertEquals(List.of(), r.errors(), "jmesh knowingly accepts this (" + c.differs() + ")");
                        return;
                    }
                    assertEquals(List.of(), r.configs(), c.name() + ": Istio rejects it: " + c.istio());
                    assertEquals(1, r.errors().size(), c.name());
                    String reason = r.errors().get(0).reason();
                    assertTrue(c.jmesh() != null, c.name() + ": no '# jmesh:' line; reason is " + reason);
                    assertTrue(reason.contains(c.jmesh()), c.name() + ": " + reason);
                }));
            }
        }
        return tests.stream();
    }

    @Test
    void theSuiteIsBroad() throws IOException {
        int cases = 0;
        int differs = 0;
        for (String kind : KINDS) {
            for (String suffix : List.of("-valid.yaml", "-invalid.yaml")) {
                for (Case c : load(kind + suffix)) {
                    cases++;
                    differs += c.differs() == null ? 0 : 1;
                    assertFalse(suffix.equals("-invalid.yaml") && c.istio() == null,
                            c.file() + " " + c.name() + ": an invalid case names Istio's reason");
                }
            }
        }
        assertTrue(cases >= 100, cases + " cases");
        assertTrue(differs * 10 < cases, differs + " of " + cases + " cases differ from Istio");
    }
}
