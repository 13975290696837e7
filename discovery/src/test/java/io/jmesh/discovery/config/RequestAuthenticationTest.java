package io.jmesh.discovery.config;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Path;
import java.util.List;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.Test;

/** RequestAuthentication as istiod validates it: accepted fields, and one precise error per bad field. */
class RequestAuthenticationTest {

    private static String policy(String spec) {
        return "apiVersion: security.istio.io/v1\nkind: RequestAuthentication\nmetadata: {name: jwt, namespace: foo}\n"
               + "spec:\n" + spec;
    }

    @Test
    void readsEveryField() {
        ConfigParser.Result r = ConfigParser.parse(Path.of("ra.yaml"), policy("""
                  selector:
                    matchLabels: {app: httpbin}
                  jwtRules:
                  - issuer: https://issuer.example
                    audiences: [a, b]
                    jwksUri: https://issuer.example/jwks
                    fromHeaders: [{name: x-jwt, prefix: "Bearer "}]
                    fromParams: [tok]
                    fromCookies: [session]
                    outputPayloadToHeader: x-payload
                    outputClaimToHeaders: [{header: x-sub, claim: sub}]
                    forwardOriginalToken: true
                    timeout: 3s
                """));
        assertEquals(List.of(), r.errors());
        RequestAuthentication ra = r.configs().get(0).spec(RequestAuthentication.class);
        assertEquals("RequestAuthentication/foo/jwt", r.configs().get(0).meta().key());
        assertEquals("httpbin", ra.selector().matchLabels().get("app"));
        RequestAuthentication.JWTRule rule = ra.jwtRules().get(0);
        assertEquals(List.of("a", "b"), rule.audiences());
        assertEquals("Bearer ", rule.fromHeaders().get(0).prefix());
        assertEquals("sub", rule.outputClaimToHeaders().get(0).claim());
        assertEquals(true, rule.forwardOriginalToken());
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', textBlock = """
            no issuer              | '  jwtRules: [{jwksUri: "https://x/jwks"}]'                                  | 'spec.jwtRules[0].issuer: "" (expected: the issuer, set)'
            ftp jwksUri            | '  jwtRules: [{issuer: i, jwksUri: "ftp://x/jwks"}]'                         | 'spec.jwtRules[0].jwksUri: ftp://x/jwks (expected: an http or https URL)'
            jwksUri without host   | '  jwtRules: [{issuer: i, jwksUri: "https:///jwks"}]'                        | 'spec.jwtRules[0].jwksUri: https:///jwks (expected: an http or https URL with a host)'
            jwks not JSON          | '  jwtRules: [{issuer: i, jwks: "not json"}]'                                | 'spec.jwtRules[0].jwks: not json (expected: a JSON Web Key Set: '
            empty audience         | '  jwtRules: [{issuer: i, audiences: [""]}]'                                 | 'spec.jwtRules[0].audiences[0]: "" (expected: a non-empty audience)'
            header without name    | '  jwtRules: [{issuer: i, fromHeaders: [{prefix: "Bearer "}]}]'              | 'spec.jwtRules[0].fromHeaders[0].name: "" (expected: a header name)'
            empty param            | '  jwtRules: [{issuer: i, fromParams: [""]}]'                                | 'spec.jwtRules[0].fromParams[0]: "" (expected: a query parameter name)'
            empty cookie           | '  jwtRules: [{issuer: i, fromCookies: [""]}]'                               | 'spec.jwtRules[0].fromCookies[0]: "" (expected: a cookie name)'
            bad payload header     | '  jwtRules: [{issuer: i, outputPayloadToHeader: "x payload"}]'              | 'spec.jwtRules[0].outputPayloadToHeader: x payload (expected: an HTTP header name)'
            pseudo claim header    | '  jwtRules: [{issuer: i, outputClaimToHeaders: [{header: ":path", claim: c}]}]' | 'spec.jwtRules[0].outputClaimToHeaders[0].header: :path (expected: an HTTP header name)'
            claim without name     | '  jwtRules: [{issuer: i, outputClaimToHeaders: [{header: x-c}]}]'           | 'spec.jwtRules[0].outputClaimToHeaders[0].claim: "" (expected: a claim name)'
            bad timeout            | '  jwtRules: [{issuer: i, timeout: soon}]'                                   | 'spec.jwtRules[0].timeout: soon (expected: a duration such as 1s or 500ms)'
            selector and targetRef | '  selector: {matchLabels: {a: b}}\n  targetRef: {group: gateway.networking.k8s.io, kind: Gateway, name: gw}' | 'spec: selector, targetRef and targetRefs all set (expected: only one of them)'
            bad targetRef kind     | '  targetRef: {kind: Pod, name: p}'                                          | 'spec.targetRef: /Pod (expected: one of ['
            unknown field          | '  jwtRules: [{issuer: i, jwks_uri: x}]'                                     | 'spec.jwtRules[0].jwks_uri: unknown field (expected: one of '
            """)
    void rejectsWithTheFieldPath(String name, String spec, String expected) {
        ConfigParser.Result r = ConfigParser.parse(Path.of("ra.yaml"), policy(spec.replace("\\n", "\n") + "\n"));
        assertEquals(List.of(), r.configs(), name);
        assertEquals(1, r.errors().size(), name);
        String reason = r.errors().get(0).reason();
        assertEquals(expected, reason.substring(0, Math.min(reason.length(), expected.length())), reason);
    }
}
