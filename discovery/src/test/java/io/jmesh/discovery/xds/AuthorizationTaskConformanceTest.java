package io.jmesh.discovery.xds;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import io.jmesh.discovery.config.MeshConfig;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every AuthorizationPolicy of Istio's authorization task pages (HTTP traffic, TCP traffic, explicit deny,
 * ingress IP-based, JWT, dry-run, external authorization), applied to the test workload ({@code app: httpbin}
 * in {@code foo}; the pages' selectors and namespaces adapted to it), and what the sidecar's inbound chain then
 * holds: its authorization filters with their action and policy names, and the matcher that decides.
 */
class AuthorizationTaskConformanceTest {

    private static final MeshConfig EXT_AUTHZ_MESH = MeshConfig.DEFAULT.withAuthorization(null, List.of(
            new MeshConfig.ExtensionProvider("sample-ext-authz-grpc", null,
                    new MeshConfig.EnvoyExtAuthzGrpc("ext-authz.foo.svc.cluster.local", 9000, null, null, null, null)),
            new MeshConfig.ExtensionProvider("sample-ext-authz-http", new MeshConfig.EnvoyExtAuthzHttp(
                    "ext-authz.foo.svc.cluster.local", 8000, null, null, null, null,
                    List.of("x-ext-authz"), null, null, null, null, null, null), null)));

    /**
     * One example: the page, its policies, the chain looked at ({@code http} or the TCP port {@code 9000}), the
     * filters expected there ("name action policy,policy"), and a JSON pointer into filter {@code at} with its value.
     */
    record Example(String page, String yaml, String chain, List<String> filters, int at, String pointer,
                   String value) {
        @Override
        public String toString() {
            return page;
        }
    }

    private static String ap(String name, String spec) {
        return ap(name, "foo", "", spec);
    }

    private static String ap(String name, String namespace, String annotations, String spec) {
        return "apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata:\n  name: " + name
                + "\n  namespace: " + namespace + "\n" + annotations + "spec:\n" + spec.indent(2) + "---\n";
    }

    static Stream<Arguments> examples() {
        String rbac = "envoy.filters.http.rbac";
        String tcp = "envoy.filters.network.rbac";
        return Stream.of(
                new Example("authz-http: allow-nothing", ap("allow-nothing", "{}"), "http",
                        List.of(rbac + " ALLOW ns[foo]-policy[allow-nothing]-rule[0]"), 0,
                        "/typedConfig/rules/policies/ns[foo]-policy[allow-nothing]-rule[0]/principals/0/notId/any",
                        "true"),
                new Example("authz-http: productpage-viewer (GET from anyone)", ap("allow-nothing", "{}")
                        + ap("productpage-viewer", """
                        selector: {matchLabels: {app: httpbin}}
                        action: ALLOW
                        rules:
                        - to:
                          - operation:
                              methods: ["GET"]"""), "http",
                        List.of(rbac + " ALLOW ns[foo]-policy[allow-nothing]-rule[0],"
                                + "ns[foo]-policy[productpage-viewer]-rule[0]"), 0,
                        "/typedConfig/rules/policies/ns[foo]-policy[productpage-viewer]-rule[0]/permissions/0/andRules"
                                + "/rules/0/orRules/rules/0/header/stringMatch/exact", "GET"),
                new Example("authz-http: details-viewer (GET from the productpage service account)",
                        ap("details-viewer", """
                        selector: {matchLabels: {app: httpbin}}
                        action: ALLOW
                        rules:
                        - from:
                          - source:
                              principals: ["cluster.local/ns/default/sa/bookinfo-productpage"]
                          to:
                          - operation:
                              methods: ["GET"]"""), "http",
                        List.of(rbac + " ALLOW ns[foo]-policy[details-viewer]-rule[0]"), 0,
                        "/typedConfig/rules/policies/ns[foo]-policy[details-viewer]-rule[0]/principals/0/andIds/ids/0"
                                + "/orIds/ids/0/authenticated/principalName/exact",
                        "spiffe://cluster.local/ns/default/sa/bookinfo-productpage"),
                new Example("authz-http: allow from a namespace", ap("allow-from-foo", """
                        action: ALLOW
                        rules:
                        - from:
                          - source:
                              namespaces: ["foo"]"""), "http",
                        List.of(rbac + " ALLOW ns[foo]-policy[allow-from-foo]-rule[0]"), 0,
                        "/typedConfig/rules/policies/ns[foo]-policy[allow-from-foo]-rule[0]/principals/0/andIds/ids/0"
                                + "/orIds/ids/0/authenticated/principalName/safeRegex/regex", ".*/ns/foo/.*"),
                new Example("authz-tcp: tcp-policy (ports 9000, 9001)", ap("tcp-policy", """
                        selector: {matchLabels: {app: httpbin}}
                        action: ALLOW
                        rules:
                        - to:
                          - operation:
                             ports: ["9000", "9001"]"""), "9000",
                        List.of(tcp + " ALLOW ns[foo]-policy[tcp-policy]-rule[0]"), 0,
                        "/typedConfig/rules/policies/ns[foo]-policy[tcp-policy]-rule[0]/permissions/0/andRules/rules/0"
                                + "/orRules/rules/1/destinationPort", "9001"),
                new Example("authz-tcp: ALLOW with an HTTP-only method denies all TCP", ap("tcp-policy", """
                        selector: {matchLabels: {app: httpbin}}
                        action: ALLOW
                        rules:
                        - to:
                          - operation:
                              methods: ["GET"]
                              ports: ["9000"]"""), "9000",
                        List.of(tcp + " ALLOW -"), 0, "/typedConfig/statPrefix", "tcp."),
                new Example("authz-tcp: DENY with an HTTP-only method denies all TCP", ap("tcp-policy", """
                        selector: {matchLabels: {app: httpbin}}
                        action: DENY
                        rules:
                        - to:
                          - operation:
                              methods: ["GET"]"""), "9000",
                        List.of(tcp + " DENY ns[foo]-policy[tcp-policy]-rule[0]"), 0,
                        "/typedConfig/rules/policies/ns[foo]-policy[tcp-policy]-rule[0]/permissions/0/andRules/rules/0"
                                + "/any", "true"),
                new Example("authz-deny: deny-method-get", ap("deny-method-get", """
                        selector: {matchLabels: {app: httpbin}}
                        action: DENY
                        rules:
                        - to:
                          - operation:
                              methods: ["GET"]"""), "http",
                        List.of(rbac + " DENY ns[foo]-policy[deny-method-get]-rule[0]"), 0,
                        "/typedConfig/rules/action", "DENY"),
                new Example("authz-deny: deny GET unless x-token is admin", ap("deny-method-get", """
                        selector: {matchLabels: {app: httpbin}}
                        action: DENY
                        rules:
                        - to:
                          - operation:
                              methods: ["GET"]
                          when:
                          - key: request.headers[x-token]
                            notValues: ["admin"]"""), "http",
                        List.of(rbac + " DENY ns[foo]-policy[deny-method-get]-rule[0]"), 0,
                        "/typedConfig/rules/policies/ns[foo]-policy[deny-method-get]-rule[0]/principals/0/andIds/ids/0"
                                + "/notId/orIds/ids/0/header/name", "x-token"),
                new Example("authz-deny: allow-path-ip with deny-method-get", ap("deny-method-get", """
                        selector: {matchLabels: {app: httpbin}}
                        action: DENY
                        rules:
                        - to:
                          - operation:
                              methods: ["GET"]""") + ap("allow-path-ip", """
                        selector: {matchLabels: {app: httpbin}}
                        action: ALLOW
                        rules:
                        - to:
                          - operation:
                              paths: ["/ip"]"""), "http",
                        List.of(rbac + " DENY ns[foo]-policy[deny-method-get]-rule[0]",
                                rbac + " ALLOW ns[foo]-policy[allow-path-ip]-rule[0]"), 1,
                        "/typedConfig/rules/policies/ns[foo]-policy[allow-path-ip]-rule[0]/permissions/0/andRules"
                                + "/rules/0/orRules/rules/0/urlPath/path/exact", "/ip"),
                new Example("authz-ingress: ipBlocks (direct peer)", ap("ingress-policy", """
                        selector: {matchLabels: {app: httpbin}}
                        action: ALLOW
                        rules:
                        - from:
                          - source:
                              ipBlocks: ["1.2.3.4", "5.6.7.0/24"]"""), "http",
                        List.of(rbac + " ALLOW ns[foo]-policy[ingress-policy]-rule[0]"), 0,
                        "/typedConfig/rules/policies/ns[foo]-policy[ingress-policy]-rule[0]/principals/0/andIds/ids/0"
                                + "/orIds/ids/1/directRemoteIp/prefixLen", "24"),
                new Example("authz-ingress: remoteIpBlocks (original client)", ap("ingress-policy", """
                        selector: {matchLabels: {app: httpbin}}
                        action: DENY
                        rules:
                        - from:
                          - source:
                              remoteIpBlocks: ["1.2.3.4"]"""), "http",
                        List.of(rbac + " DENY ns[foo]-policy[ingress-policy]-rule[0]"), 0,
                        "/typedConfig/rules/policies/ns[foo]-policy[ingress-policy]-rule[0]/principals/0/andIds/ids/0"
                                + "/orIds/ids/0/remoteIp/addressPrefix", "1.2.3.4"),
                new Example("authz-jwt: require-jwt", ap("require-jwt", """
                        selector: {matchLabels: {app: httpbin}}
                        action: ALLOW
                        rules:
                        - from:
                          - source:
                             requestPrincipals: ["testing@secure.istio.io/testing@secure.istio.io"]"""), "http",
                        List.of(rbac + " ALLOW ns[foo]-policy[require-jwt]-rule[0]"), 0,
                        "/typedConfig/rules/policies/ns[foo]-policy[require-jwt]-rule[0]/principals/0/andIds/ids/0"
                                + "/orIds/ids/0/metadata/path/0/key", "request.auth.principal"),
                new Example("authz-jwt: claim groups contains group1", ap("require-jwt", """
                        selector: {matchLabels: {app: httpbin}}
                        action: ALLOW
                        rules:
                        - from:
                          - source:
                             requestPrincipals: ["testing@secure.istio.io/testing@secure.istio.io"]
                          when:
                          - key: request.auth.claims[groups]
                            values: ["group1"]"""), "http",
                        List.of(rbac + " ALLOW ns[foo]-policy[require-jwt]-rule[0]"), 0,
                        "/typedConfig/rules/policies/ns[foo]-policy[require-jwt]-rule[0]/principals/0/andIds/ids/1"
                                + "/orIds/ids/0/metadata/value/listMatch/oneOf/stringMatch/exact", "group1"),
                new Example("authz-dry-run: deny-path-headers", ap("deny-path-headers", "foo",
                        "  annotations:\n    \"istio.io/dry-run\": \"true\"\n", """
                        selector: {matchLabels: {app: httpbin}}
                        action: DENY
                        rules:
                        - to:
                          - operation:
                              paths: ["/headers"]"""), "http",
                        List.of(rbac + " shadow:DENY ns[foo]-policy[deny-path-headers]-rule[0]"), 0,
                        "/typedConfig/shadowRulesStatPrefix", "istio_dry_run_deny_"),
                new Example("authz-custom: ext-authz (gRPC provider)", ap("ext-authz", """
                        selector: {matchLabels: {app: httpbin}}
                        action: CUSTOM
                        provider:
                          name: sample-ext-authz-grpc
                        rules:
                        - to:
                          - operation:
                              paths: ["/headers"]"""), "http",
                        List.of(rbac + " shadow:DENY istio-ext-authz-ns[foo]-policy[ext-authz]-rule[0]",
                                "envoy.filters.http.ext_authz"), 1,
                        "/typedConfig/grpcService/envoyGrpc/clusterName",
                        "outbound|9000||ext-authz.foo.svc.cluster.local"),
                new Example("authz-custom: ext-authz (HTTP provider)", ap("ext-authz", """
                        selector: {matchLabels: {app: httpbin}}
                        action: CUSTOM
                        provider:
                          name: sample-ext-authz-http
                        rules:
                        - to:
                          - operation:
                              paths: ["/headers"]"""), "http",
                        List.of(rbac + " shadow:DENY istio-ext-authz-ns[foo]-policy[ext-authz]-rule[0]",
                                "envoy.filters.http.ext_authz"), 1,
                        "/typedConfig/httpService/serverUri/cluster", "outbound|8000||ext-authz.foo.svc.cluster.local"),
                new Example("authz-http: a policy for another workload does not apply", ap("other", """
                        selector: {matchLabels: {app: productpage}}
                        action: DENY
                        rules: [{}]"""), "http", List.of(), -1, "", "")
        ).map(Arguments::of);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("examples")
    void taskExampleBuildsTheFiltersIstioBuilds(Example e) {
        AuthzWorkload w = AuthzWorkload.of(e.yaml(), EXT_AUTHZ_MESH);
        ArrayNode filters = e.chain().equals("http") ? w.httpFilters() : w.networkFilters(Integer.parseInt(e.chain()));
        assertEquals(e.filters(), summary(filters));
        if (e.at() >= 0) {
            assertEquals(e.value(), filters.get(e.at()).at(e.pointer()).asText(), e.pointer());
        }
    }

    /** "name ACTION policy,policy" per RBAC filter (shadow rules as "shadow:ACTION"), the bare name otherwise. */
    private static List<String> summary(ArrayNode filters) {
        List<String> out = new ArrayList<>();
        for (JsonNode f : filters) {
            String name = f.path("name").asText();
            JsonNode cfg = f.path("typedConfig");
            if (!name.endsWith(".rbac")) {
                out.add(name);
                continue;
            }
            boolean shadow = cfg.path("rules").isMissingNode();
            JsonNode rules = shadow ? cfg.path("shadowRules") : cfg.path("rules");
            String action = rules.path("action").asText("ALLOW");
            List<String> names = new ArrayList<>();
            for (Iterator<String> it = rules.path("policies").fieldNames(); it.hasNext(); ) {
                names.add(it.next());
            }
            out.add(name + " " + (shadow ? "shadow:" : "") + action + " "
                    + (names.isEmpty() ? "-" : String.join(",", names)));
        }
        return out;
    }
}
