package io.jmesh.discovery.config;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The security kinds report every problem of an object, as istiod's validation does (it appends each to a
 * multierror): one error per rejected object, naming the file, the line where the object starts, the object, and
 * each bad field with its reason, in field order. The good objects of the same file are kept. Also istiod's rules
 * added for CUSTOM policies ({@code From.ServiceAccounts}, {@code source.serviceAccount}) and for
 * {@code targetRef} (an allowed kind, a name, no namespace).
 */
class SecurityPolicyAllErrorsTest {

    private static final String GOOD = """
            apiVersion: security.istio.io/v1
            kind: PeerAuthentication
            metadata: {name: good, namespace: foo}
            spec: {mtls: {mode: STRICT}}
            """;

    private static ConfigError onlyError(String yaml) {
        ConfigParser.Result r = ConfigParser.parse(Path.of("security.yaml"), GOOD + "---\n" + yaml);
        assertEquals(List.of("PeerAuthentication/foo/good"), r.configs().stream().map(c -> c.meta().key()).toList(),
                "the good object is kept");
        assertEquals(1, r.errors().size(), () -> "one error for the bad object: " + r.errors());
        return r.errors().get(0);
    }

    @Test
    void peerAuthenticationReportsEveryProblem() {
        ConfigError e = onlyError("""
                apiVersion: security.istio.io/v1
                kind: PeerAuthentication
                metadata: {name: pa, namespace: foo}
                spec:
                  mtls: {mode: ENABLED}
                  portLevelMtls:
                    0: {mode: STRICT}
                    8080: {mode: strict}
                """);
        assertEquals("security.yaml:10: PeerAuthentication/foo/pa: "
                + "spec.mtls.mode: ENABLED (expected: one of DISABLE, PERMISSIVE, STRICT, UNSET); "
                + "spec.portLevelMtls: set without spec.selector.matchLabels (expected: a workload selector; mesh and "
                + "namespace policies have no port-level mTLS); "
                + "spec.portLevelMtls.0: 0 (expected: 1..65535); "
                + "spec.portLevelMtls.8080.mode: strict (expected: one of DISABLE, PERMISSIVE, STRICT, UNSET)",
                e.toString());
    }

    @Test
    void authorizationPolicyReportsEveryProblemOfEveryRule() {
        ConfigError e = onlyError("""
                apiVersion: security.istio.io/v1
                kind: AuthorizationPolicy
                metadata: {name: ap, namespace: foo}
                spec:
                  selector: {matchLabels: {app: 'http*'}}
                  action: DENY
                  provider: {name: ext}
                  rules:
                  - from: [{source: {principals: [a*b], ipBlocks: [1.2.3.4/33]}}]
                    to: [{operation: {ports: [http]}}]
                  - when: [{key: source.user, values: [x]}]
                """);
        assertEquals(10, e.source().line(), "the line of spec.selector, the first field in error");
        assertEquals("spec.selector.matchLabels.app: http* (expected: wildcard is not supported in selector); "
                + "spec.provider: ext (expected: `provider` must not be with non CUSTOM action, found DENY); "
                + "spec.rules[0].from[0].source.ipBlocks[0]: 1.2.3.4/33 (expected: an IP address or CIDR range); "
                + "spec.rules[0].from[0].source.principals[0]: a*b (expected: a wildcard only as prefix, suffix or the "
                + "whole value); "
                + "spec.rules[0].to[0].operation.ports[0]: http (expected: a port number in 0..65535); "
                + "spec.rules[1].when[0].key: source.user (expected: a supported attribute; unknown attribute: "
                + "source.user)", e.reason());
    }

    @Test
    void requestAuthenticationReportsEveryProblemOfEveryRule() {
        ConfigError e = onlyError("""
                apiVersion: security.istio.io/v1
                kind: RequestAuthentication
                metadata: {name: ra, namespace: foo}
                spec:
                  targetRef: {kind: Pod, namespace: bar}
                  jwtRules:
                  - {jwksUri: "ftp://x/jwks", audiences: [""]}
                  - {issuer: i, fromParams: [""], timeout: soon}
                """);
        assertEquals("spec.targetRef: /Pod (expected: one of [/Service, gateway.networking.k8s.io/Gateway, "
                + "gateway.networking.k8s.io/GatewayClass, networking.istio.io/ServiceEntry]); "
                + "spec.targetRef.name: \"\" (expected: the target's name); "
                + "spec.targetRef.namespace: bar (expected: unset; a policy targets resources of its own namespace); "
                + "spec.jwtRules[0].issuer: \"\" (expected: the issuer, set); "
                + "spec.jwtRules[0].audiences[0]: \"\" (expected: a non-empty audience); "
                + "spec.jwtRules[0].jwksUri: ftp://x/jwks (expected: an http or https URL); "
                + "spec.jwtRules[1].fromParams[0]: \"\" (expected: a query parameter name); "
                + "spec.jwtRules[1].timeout: soon (expected: a duration such as 1s or 500ms)", e.reason());
    }

    static Stream<Arguments> istioRules() {
        return Stream.of(
                Arguments.of("action: CUSTOM\nprovider: {name: x}\nrules: [{from: [{source: {serviceAccounts: [a]}}]}]",
                        "spec.rules[0].from[0].source.serviceAccounts: [a] (expected: From.ServiceAccounts is currently "
                                + "not supported with CUSTOM action)"),
                Arguments.of("action: CUSTOM\nprovider: {name: x}\nrules: [{from: [{source: {notServiceAccounts: "
                        + "[a]}}]}]", "spec.rules[0].from[0].source.notServiceAccounts: [a] (expected: "
                        + "From.NotServiceAccounts is currently not supported with CUSTOM action)"),
                Arguments.of("action: CUSTOM\nprovider: {name: x}\nrules: [{when: [{key: source.serviceAccount, "
                        + "values: [a]}]}]", "spec.rules[0].when[0].key: source.serviceAccount (expected: "
                        + "source.serviceAccount is currently not supported with CUSTOM action)"),
                Arguments.of("targetRef: {kind: Gateway, name: gw}", "spec.targetRef: /Gateway (expected: one of "
                        + "[/Service, gateway.networking.k8s.io/Gateway, gateway.networking.k8s.io/GatewayClass, "
                        + "networking.istio.io/ServiceEntry])"),
                Arguments.of("targetRefs: [{group: gateway.networking.k8s.io, kind: Gateway, name: gw, namespace: b}]",
                        "spec.targetRefs[0].namespace: b (expected: unset; a policy targets resources of its own "
                                + "namespace)"),
                Arguments.of("targetRef: {kind: Service}", "spec.targetRef.name: \"\" (expected: the target's name)"));
    }

    @ParameterizedTest
    @MethodSource("istioRules")
    void authorizationPolicyFollowsIstiodsNewerRules(String spec, String reason) {
        ConfigError e = onlyError("apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\n"
                + "metadata: {name: ap, namespace: foo}\nspec:\n" + spec.indent(2));
        assertEquals(reason, e.reason());
    }
}
