package io.jmesh.discovery.config;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;

import org.junit.jupiter.api.Test;

/** PeerAuthentication is read in both security.istio.io versions and rejected as istiod rejects it. */
class PeerAuthenticationValidationTest {

    private static ConfigParser.Result parse(String spec) {
        return ConfigParser.parse(null, """
                apiVersion: security.istio.io/v1
                kind: PeerAuthentication
                metadata: {name: pa, namespace: foo}
                spec:
                """ + spec.indent(2));
    }

    private static String error(String spec) {
        ConfigParser.Result r = parse(spec);
        assertEquals(List.of(), r.configs(), "rejected");
        assertEquals(1, r.errors().size());
        return r.errors().get(0).reason();
    }

    @Test
    void readsModesSelectorAndPortLevelSettings() {
        ConfigParser.Result r = ConfigParser.parse(null, """
                apiVersion: security.istio.io/v1beta1
                kind: PeerAuthentication
                metadata: {name: pa, namespace: foo, creationTimestamp: "2024-01-02T03:04:05Z"}
                spec:
                  selector: {matchLabels: {app: reviews}}
                  mtls: {mode: STRICT}
                  portLevelMtls:
                    8080: {mode: DISABLE}
                    9090: {}
                """);
        assertEquals(List.of(), r.errors());
        PeerAuthentication pa = r.configs().get(0).spec(PeerAuthentication.class);
        assertEquals(PeerAuthentication.Mode.STRICT, pa.mode());
        assertEquals(PeerAuthentication.Mode.DISABLE, pa.portLevelMtls().get(8080).level());
        assertEquals(PeerAuthentication.Mode.UNSET, pa.portLevelMtls().get(9090).level());
        assertEquals("2024-01-02T03:04:05Z", r.configs().get(0).meta().creationTimestamp().toString());
    }

    @Test
    void emptySpecIsAnUnsetNamespacePolicy() {
        ConfigParser.Result r = parse("{}");
        assertEquals(List.of(), r.errors());
        assertEquals(PeerAuthentication.Mode.UNSET, r.configs().get(0).spec(PeerAuthentication.class).mode());
    }

    @Test
    void rejectsAnUnknownMode() {
        assertEquals("spec.mtls.mode: ENABLED (expected: one of DISABLE, PERMISSIVE, STRICT, UNSET)",
                error("mtls: {mode: ENABLED}"));
        assertEquals("spec.portLevelMtls.80.mode: strict (expected: one of DISABLE, PERMISSIVE, STRICT, UNSET)",
                error("selector: {matchLabels: {app: a}}\nportLevelMtls: {80: {mode: strict}}"));
    }

    @Test
    void rejectsPortLevelMtlsWithoutASelector() {
        assertEquals("spec.portLevelMtls: set without spec.selector.matchLabels (expected: a workload selector; "
                + "mesh and namespace policies have no port-level mTLS)", error("portLevelMtls: {80: {mode: STRICT}}"));
        assertEquals("spec.portLevelMtls: set without spec.selector.matchLabels (expected: a workload selector; "
                + "mesh and namespace policies have no port-level mTLS)",
                error("selector: {matchLabels: {}}\nportLevelMtls: {80: {mode: STRICT}}"));
    }

    @Test
    void rejectsPortZeroAndEmptyPortLevelMtls() {
        assertEquals("spec.portLevelMtls.0: 0 (expected: 1..65535)",
                error("selector: {matchLabels: {app: a}}\nportLevelMtls: {0: {mode: STRICT}}"));
        assertEquals("spec.portLevelMtls: {} (expected: at least one port when set)",
                error("selector: {matchLabels: {app: a}}\nportLevelMtls: {}"));
    }

    @Test
    void rejectsUnknownFieldsAndBadTimestamps() {
        assertEquals("spec.mtls.level: unknown field (expected: one of mode)", error("mtls: {level: STRICT}"));
        ConfigParser.Result r = ConfigParser.parse(null, """
                apiVersion: security.istio.io/v1
                kind: PeerAuthentication
                metadata: {name: pa, namespace: foo, creationTimestamp: yesterday}
                spec: {}
                """);
        assertEquals("metadata.creationTimestamp: yesterday (expected: an RFC 3339 time such as 2024-01-02T03:04:05Z)",
                r.errors().get(0).reason());
    }

    @Test
    void rejectsAnApiVersionIstiodDoesNotServe() {
        ConfigParser.Result r = ConfigParser.parse(null, """
                apiVersion: security.istio.io/v1alpha1
                kind: PeerAuthentication
                metadata: {name: pa, namespace: foo}
                spec: {}
                """);
        assertEquals(1, r.errors().size());
        assertEquals("apiVersion: security.istio.io/v1alpha1 (expected: security.istio.io/v1, /v1beta1)",
                r.errors().get(0).reason());
    }
}
