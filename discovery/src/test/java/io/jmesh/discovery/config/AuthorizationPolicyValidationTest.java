package io.jmesh.discovery.config;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.api.Test;

/**
 * AuthorizationPolicy is read from security.istio.io {@code v1} and {@code v1beta1} and validated as istiod's
 * webhook does ({@code ValidateAuthorizationPolicy}): each bad spec is refused with its field path and istiod's
 * reason, and the other documents of the file are kept.
 */
class AuthorizationPolicyValidationTest {

    private static String doc(String spec) {
        return "apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: {name: p, namespace: foo}\n"
                + "spec:\n" + spec.indent(2);
    }

    @Test
    void readsEveryFieldOfV1AndV1beta1() {
        String yaml = doc("""
                selector: {matchLabels: {app: httpbin}}
                action: DENY
                rules:
                - from:
                  - source: {principals: [cluster.local/ns/foo/sa/sleep], notNamespaces: [bar],
                             ipBlocks: [10.0.0.0/8], notRemoteIpBlocks: ['::1'], requestPrincipals: ['iss/sub']}
                  to:
                  - operation: {hosts: [example.com], ports: ['8000'], methods: [GET], paths: ['/api/{*}/x']}
                  when:
                  - {key: 'request.auth.claims[groups]', values: [admin]}
                  - {key: destination.port, notValues: ['9000']}
                """) + "---\n" + doc("{}").replace("security.istio.io/v1", "security.istio.io/v1beta1")
                .replace("name: p", "name: allow-nothing");
        ConfigParser.Result r = ConfigParser.parse(Path.of("authz.yaml"), yaml);
        assertEquals(List.of(), r.errors());
        assertEquals(2, r.configs().size());
        AuthorizationPolicy ap = r.configs().get(0).spec(AuthorizationPolicy.class);
        assertEquals("DENY", ap.action());
        assertEquals(java.util.Map.of("app", "httpbin"), ap.matchLabels());
        AuthorizationPolicy.Rule rule = ap.rules().get(0);
        assertEquals(List.of("cluster.local/ns/foo/sa/sleep"), rule.from().get(0).source().principals());
        assertEquals(List.of("::1"), rule.from().get(0).source().notRemoteIpBlocks());
        assertEquals(List.of("/api/{*}/x"), rule.to().get(0).operation().paths());
        assertEquals("request.auth.claims[groups]", rule.when().get(0).key());
        assertEquals(List.of("9000"), rule.when().get(1).notValues());
        AuthorizationPolicy nothing = r.configs().get(1).spec(AuthorizationPolicy.class);
        assertEquals("ALLOW", nothing.action());
        assertEquals(List.of(), nothing.rules());
        assertEquals("AuthorizationPolicy/foo/allow-nothing", r.configs().get(1).meta().key());
    }

    static Stream<Arguments> badSpecs() {
        return Stream.of(
                Arguments.of("action: ALLOWED", "spec.action: ALLOWED (expected: ALLOW, DENY, AUDIT or CUSTOM)"),
                Arguments.of("action: DENY", "spec.rules: [] (expected: rules; DENY action without `rules` is "
                        + "meaningless as it will never be triggered, add an empty rule `{}` if you want it be "
                        + "triggered for every request)"),
                Arguments.of("action: CUSTOM\nprovider: {name: x}", "spec.rules: [] (expected: rules; CUSTOM action "
                        + "without `rules` is meaningless as it will never be triggered, add an empty rule `{}` if "
                        + "you want it be triggered for every request)"),
                Arguments.of("action: CUSTOM\nrules: [{}]",
                        "spec.provider.name: missing (expected: `provider.name` must not be empty)"),
                Arguments.of("action: DENY\nprovider: {name: x}\nrules: [{}]",
                        "spec.provider: x (expected: `provider` must not be with non CUSTOM action, found DENY)"),
                Arguments.of("action: CUSTOM\nprovider: {name: x}\nrules: [{from: [{source: {principals: [a]}}]}]",
                        "spec.rules[0].from[0].source.principals: [a] (expected: From.Principals is currently not "
                                + "supported with CUSTOM action)"),
                Arguments.of("action: CUSTOM\nprovider: {name: x}\nrules: [{when: [{key: request.auth.principal, "
                        + "values: [a]}]}]", "spec.rules[0].when[0].key: request.auth.principal (expected: "
                        + "request.auth.principal is currently not supported with CUSTOM action)"),
                Arguments.of("selector: {matchLabels: {app: 'http*'}}",
                        "spec.selector.matchLabels.app: http* (expected: wildcard is not supported in selector)"),
                Arguments.of("selector: {matchLabels: {app: a}}\ntargetRef: {group: gateway.networking.k8s.io, kind: Gateway, name: gw}",
                        "spec.targetRef: set with selector (expected: only one of targetRefs or selector)"),
                Arguments.of("rules: [~]", "spec.rules[0]: null (expected: `rule` must not be nil, found at rule 0)"),
                Arguments.of("rules: [{from: []}]",
                        "spec.rules[0].from: [] (expected: `from` must not be empty, found at rule 0)"),
                Arguments.of("rules: [{}, {from: [{}]}]", "spec.rules[1].from[0].source: missing (expected: "
                        + "`from.source` must not be nil, found at rule 1)"),
                Arguments.of("rules: [{from: [{source: {}}]}]",
                        "spec.rules[0].from[0].source: {} (expected: `from.source` must not be empty, found at rule 0)"),
                Arguments.of("rules: [{to: []}]",
                        "spec.rules[0].to: [] (expected: `to` must not be empty, found at rule 0)"),
                Arguments.of("rules: [{to: [{operation: {}}]}]", "spec.rules[0].to[0].operation: {} (expected: "
                        + "`to.operation` must not be empty, found at rule 0)"),
                Arguments.of("rules: [{from: [{source: {ipBlocks: [1.2.3.4/33]}}]}]",
                        "spec.rules[0].from[0].source.ipBlocks[0]: 1.2.3.4/33 (expected: an IP address or CIDR range)"),
                Arguments.of("rules: [{from: [{source: {notRemoteIpBlocks: [example.com]}}]}]",
                        "spec.rules[0].from[0].source.notRemoteIpBlocks[0]: example.com (expected: an IP address or "
                                + "CIDR range)"),
                Arguments.of("rules: [{from: [{source: {principals: ['']}}]}]",
                        "spec.rules[0].from[0].source.principals[0]: \"\" (expected: empty value not allowed, found "
                                + "in Principals)"),
                Arguments.of("rules: [{from: [{source: {principals: [a*b]}}]}]",
                        "spec.rules[0].from[0].source.principals[0]: a*b (expected: a wildcard only as prefix, suffix "
                                + "or the whole value)"),
                Arguments.of("rules: [{from: [{source: {namespaces: [a], serviceAccounts: [b]}}]}]",
                        "spec.rules[0].from[0].source.serviceAccounts: [b] (expected: cannot set serviceAccounts with "
                                + "namespaces or principals, found at rule 0)"),
                Arguments.of("rules: [{to: [{operation: {ports: ['http']}}]}]",
                        "spec.rules[0].to[0].operation.ports[0]: http (expected: a port number in 0..65535)"),
                Arguments.of("rules: [{to: [{operation: {notPorts: ['65536']}}]}]",
                        "spec.rules[0].to[0].operation.notPorts[0]: 65536 (expected: a port number in 0..65535)"),
                Arguments.of("rules: [{to: [{operation: {paths: ['/{**}/a/{*}']}}]}]",
                        "spec.rules[0].to[0].operation.paths[0]: /{**}/a/{*} (expected: {**} as the last operator of "
                                + "the path template)"),
                Arguments.of("rules: [{to: [{operation: {paths: ['/a/{*}/b*']}}]}]",
                        "spec.rules[0].to[0].operation.paths[0]: /a/{*}/b* (expected: a path template whose "
                                + "operators are whole segments {*} or {**})"),
                Arguments.of("rules: [{when: [{key: source.ip}]}]", "spec.rules[0].when[0]: source.ip (expected: at "
                        + "least one of `values` or `notValues` must be set for key source.ip)"),
                Arguments.of("rules: [{when: [{values: [a]}]}]",
                        "spec.rules[0].when[0].key: missing (expected: `key` must not be empty)"),
                Arguments.of("rules: [{when: [{key: source.user, values: [a]}]}]", "spec.rules[0].when[0].key: "
                        + "source.user (expected: a supported attribute; unknown attribute: source.user)"),
                Arguments.of("rules: [{when: [{key: 'request.headers', values: [a]}]}]",
                        "spec.rules[0].when[0].key: request.headers (expected: request.headers[<name>]; bad format "
                                + "for key request.headers)"),
                Arguments.of("rules: [{when: [{key: source.ip, notValues: [10.0.0.300]}]}]",
                        "spec.rules[0].when[0].notValues[0]: 10.0.0.300 (expected: invalid `notValue` for `key` "
                                + "source.ip: an IP address or CIDR range)"),
                Arguments.of("rules: [{when: [{key: destination.port, values: ['-1']}]}]",
                        "spec.rules[0].when[0].values[0]: -1 (expected: invalid `value` for `key` destination.port: "
                                + "invalid port -1, a number in 0..65535)"),
                Arguments.of("rules: [{to: [{operation: {method: [GET]}}]}]",
                        "spec.rules[0].to[0].operation.method: unknown field (expected: one of hosts, methods, "
                                + "notHosts, notMethods, notPaths, notPorts, paths, ports)"));
    }

    @ParameterizedTest
    @MethodSource("badSpecs")
    void refusesWhatIstiodRefusesWithTheFieldPath(String spec, String reason) {
        String good = doc("rules: [{}]").replace("name: p", "name: good");
        ConfigParser.Result r = ConfigParser.parse(Path.of("authz.yaml"), good + "---\n" + doc(spec));
        assertEquals(1, r.errors().size(), () -> "errors: " + r.errors());
        ConfigError e = r.errors().get(0);
        assertEquals("AuthorizationPolicy/foo/p", e.key());
        assertEquals(reason, e.reason());
        assertEquals(List.of("AuthorizationPolicy/foo/good"), r.configs().stream().map(c -> c.meta().key()).toList());
    }

    @Test
    void otherSecurityVersionsAreRefusedByName() {
        ConfigParser.Result r = ConfigParser.parse(null, doc("{}").replace("security.istio.io/v1",
                "security.istio.io/v1alpha1"));
        assertEquals(1, r.errors().size());
        assertEquals("apiVersion: security.istio.io/v1alpha1 (expected: security.istio.io/v1, /v1beta1)",
                r.errors().get(0).reason());
    }
}
