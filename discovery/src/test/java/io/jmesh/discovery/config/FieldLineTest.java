package io.jmesh.discovery.config;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;

/**
 * A rejected object's error names the line of the field in error (not of its document) in a multi-document file,
 * for the three security kinds and for the other kinds alike; a field that is not in the file (missing) gets the
 * line of its nearest enclosing field.
 */
class FieldLineTest {

    private static final String FILE = """
            apiVersion: security.istio.io/v1
            kind: PeerAuthentication
            metadata: {name: good, namespace: foo}
            spec: {mtls: {mode: STRICT}}
            ---
            apiVersion: security.istio.io/v1
            kind: AuthorizationPolicy
            metadata:
              name: ap
              namespace: foo
            spec:
              action: ALLOW
              rules:
              - from:
                - source:
                    principals:
                    - cluster.local/ns/foo/sa/good
                    - a*b
            ---
            apiVersion: security.istio.io/v1
            kind: RequestAuthentication
            metadata: {name: ra, namespace: foo}
            spec:
              jwtRules:
              - issuer: https://issuer.example.com
                jwksUri: https://issuer.example.com/keys
              - issuer: https://other.example.com
                jwksUri: ftp://other.example.com/keys
            ---
            apiVersion: security.istio.io/v1
            kind: PeerAuthentication
            metadata: {name: pa, namespace: foo}
            spec:
              selector:
                matchLabels: {app: web}
              portLevelMtls:
                8080:
                  mode: strict
            ---
            apiVersion: networking.istio.io/v1
            kind: VirtualService
            metadata: {name: vs, namespace: foo}
            spec:
              hosts: [web]
              http:
              - route:
                - destination: {host: web}
                  weight: -1
            """;

    @Test
    void eachErrorNamesTheFileAndTheLineOfItsField() {
        ConfigParser.Result r = ConfigParser.parse(Path.of("policies.yaml"), FILE);
        assertEquals(List.of("PeerAuthentication/foo/good"), r.configs().stream().map(c -> c.meta().key()).toList());
        assertEquals(List.of(
                "policies.yaml:18: AuthorizationPolicy/foo/ap: spec.rules[0].from[0].source.principals[1]: a*b "
                        + "(expected: a wildcard only as prefix, suffix or the whole value)",
                "policies.yaml:28: RequestAuthentication/foo/ra: spec.jwtRules[1].jwksUri: ftp://other.example.com/keys "
                        + "(expected: an http or https URL)",
                "policies.yaml:38: PeerAuthentication/foo/pa: spec.portLevelMtls.8080.mode: strict "
                        + "(expected: one of DISABLE, PERMISSIVE, STRICT, UNSET)",
                "policies.yaml:48: VirtualService/foo/vs: spec.http[0].route[0].weight: -1 (expected: >= 0)"),
                r.errors().stream().map(ConfigError::toString).toList());
    }

    @Test
    void aMissingFieldGetsTheLineOfItsNearestEnclosingField() {
        Map<String, Integer> lines = Map.of("spec", 4, "spec.rules", 6, "spec.rules[0]", 7);
        assertEquals(7, ConfigParser.lineOf("spec.rules[0].from[0].source: missing (expected: ...)", lines, 1));
        assertEquals(6, ConfigParser.lineOf("spec.rules: [] (expected: ...)", lines, 1));
        assertEquals(1, ConfigParser.lineOf("kind: missing (expected: an Istio kind)", lines, 1));
        assertEquals(1, ConfigParser.lineOf("no path here", lines, 1));
    }
}
