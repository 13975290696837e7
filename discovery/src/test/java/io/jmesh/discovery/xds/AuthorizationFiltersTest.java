package io.jmesh.discovery.xds;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import io.jmesh.discovery.config.ConfigParser;
import io.jmesh.discovery.config.MeshConfig;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Istio's authorization builder, output compared semantically as proto JSON: policy names
 * {@code ns[<ns>]-policy[<name>]-rule[<i>]}, permissions and principals as {@code pilot/pkg/security/authz}
 * generates them (its builder testdata cases allow-none, deny-all, audit, dry-run, deny-and-allow, CUSTOM with
 * HTTP and gRPC providers, HTTP fields on TCP chains, and an all-fields rule).
 */
class AuthorizationFiltersTest {

    private static final Path GOLDEN = Path.of("src/test/resources/authz");

    private static String policy(String name, String namespace, String spec) {
        return policy(name, namespace, "", spec);
    }

    private static String policy(String name, String namespace, String annotations, String spec) {
        return "apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata:\n  name: " + name
                + "\n  namespace: " + namespace + "\n" + annotations + "spec:\n" + spec.indent(2) + "---\n";
    }

    private static void assertJson(String expected, JsonNode actual) {
        assertEquals(AuthzWorkload.parse(expected), actual, () -> "actual: " + actual.toPrettyString());
    }

    private static List<String> names(ArrayNode filters) {
        List<String> out = new ArrayList<>();
        filters.forEach(f -> out.add(f.path("name").asText()));
        return out;
    }

    @Test
    void noPolicyMeansNoAuthorizationFilter() {
        AuthzWorkload w = AuthzWorkload.of("");
        assertEquals(List.of(), names(w.httpFilters()));
        assertEquals(List.of("envoy.filters.network.tcp_proxy"), w.networkFilterNames(9000));
        assertEquals(0, w.rpcFilters().size());
    }

    @Test
    void allowNothingIsAPolicyThatNeverMatches() {
        AuthzWorkload w = AuthzWorkload.of(policy("allow-nothing", "foo", "{}"));
        assertJson("""
                [{"name": "envoy.filters.http.rbac", "typedConfig": {
                  "@type": "type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBAC",
                  "rules": {"policies": {"ns[foo]-policy[allow-nothing]-rule[0]": {
                    "permissions": [{"notRule": {"any": true}}],
                    "principals": [{"notId": {"any": true}}]}}}}}]""", w.httpFilters());
    }

    @Test
    void denyAllWithAnEmptyRuleMatchesEverything() {
        AuthzWorkload w = AuthzWorkload.of(policy("deny-all", "foo", "action: DENY\nrules: [{}]"));
        assertJson("""
                [{"name": "envoy.filters.http.rbac", "typedConfig": {
                  "@type": "type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBAC",
                  "rules": {"action": "DENY", "policies": {"ns[foo]-policy[deny-all]-rule[0]": {
                    "permissions": [{"andRules": {"rules": [{"any": true}]}}],
                    "principals": [{"andIds": {"ids": [{"any": true}]}}]}}}}}]""", w.httpFilters());
        assertJson("""
                [{"name": "envoy.filters.network.rbac", "typedConfig": {
                  "@type": "type.googleapis.com/envoy.extensions.filters.network.rbac.v3.RBAC",
                  "statPrefix": "tcp.",
                  "rules": {"action": "DENY", "policies": {"ns[foo]-policy[deny-all]-rule[0]": {
                    "permissions": [{"andRules": {"rules": [{"any": true}]}}],
                    "principals": [{"andIds": {"ids": [{"any": true}]}}]}}}}}]""", w.networkFilters(9000));
    }

    @Test
    void actionsAreOrderedCustomAuditDenyAllow() {
        MeshConfig mesh = MeshConfig.DEFAULT.withAuthorization(null, List.of(new MeshConfig.ExtensionProvider(
                "http-authz", new MeshConfig.EnvoyExtAuthzHttp("foo/ext-authz", 8000, null, null, null, null, null,
                null, null, null, null, null, null), null)));
        AuthzWorkload w = AuthzWorkload.of(
                policy("a-allow", "foo", "rules: [{}]")
                + policy("b-deny", "foo", "action: DENY\nrules: [{to: [{operation: {methods: [DELETE]}}]}]")
                + policy("c-audit", "foo", "action: AUDIT\nrules: [{}]")
                + policy("d-custom", "foo", "action: CUSTOM\nprovider: {name: http-authz}\n"
                        + "rules: [{to: [{operation: {paths: [/admin/*]}}]}]"), mesh);
        ArrayNode f = w.httpFilters();
        assertEquals(List.of("envoy.filters.http.rbac", "envoy.filters.http.ext_authz", "envoy.filters.http.rbac",
                "envoy.filters.http.rbac", "envoy.filters.http.rbac"), names(f));
        assertEquals("LOG", f.get(2).at("/typedConfig/rules/action").asText());
        assertEquals("DENY", f.get(3).at("/typedConfig/rules/action").asText());
        assertTrue(f.get(4).at("/typedConfig/rules/action").isMissingNode(), "ALLOW is the default action");
    }

    @Test
    void customHttpProviderRunsExtAuthzOnlyOnRequestsTheShadowRulesMark() {
        MeshConfig mesh = MeshConfig.DEFAULT.withAuthorization(null, List.of(new MeshConfig.ExtensionProvider(
                "http-authz", new MeshConfig.EnvoyExtAuthzHttp("foo/ext-authz", 8000, "2s", "/check", true, "503",
                List.of("x-ext-authz", "cookie"), Map.of("x-added", "yes"), null, null, List.of("x-user"),
                List.of("x-reason"), null), null)));
        AuthzWorkload w = AuthzWorkload.of(policy("ext", "foo", "action: CUSTOM\nprovider: {name: http-authz}\n"
                + "rules: [{to: [{operation: {paths: [/headers]}}]}]"), mesh);
        assertJson("""
                [{"name": "envoy.filters.http.rbac", "typedConfig": {
                  "@type": "type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBAC",
                  "shadowRules": {"action": "DENY", "policies": {"istio-ext-authz-ns[foo]-policy[ext]-rule[0]": {
                    "permissions": [{"andRules": {"rules": [{"orRules": {"rules": [
                      {"urlPath": {"path": {"exact": "/headers"}}}]}}]}}],
                    "principals": [{"andIds": {"ids": [{"any": true}]}}]}}},
                  "shadowRulesStatPrefix": "istio_ext_authz_"}},
                 {"name": "envoy.filters.http.ext_authz", "typedConfig": {
                  "@type": "type.googleapis.com/envoy.extensions.filters.http.ext_authz.v3.ExtAuthz",
                  "httpService": {
                    "serverUri": {"uri": "http://ext-authz.foo.svc.cluster.local",
                      "cluster": "outbound|8000||ext-authz.foo.svc.cluster.local", "timeout": "2s"},
                    "pathPrefix": "/check",
                    "authorizationRequest": {"headersToAdd": [{"key": "x-added", "value": "yes"}]},
                    "authorizationResponse": {
                      "allowedUpstreamHeaders": {"patterns": [{"exact": "x-user", "ignoreCase": true}]},
                      "allowedClientHeaders": {"patterns": [{"exact": "x-reason", "ignoreCase": true}]}}},
                  "failureModeAllow": true,
                  "statusOnError": {"code": "ServiceUnavailable"},
                  "transportApiVersion": "V3",
                  "filterEnabledMetadata": {"filter": "envoy.filters.http.rbac",
                    "path": [{"key": "istio_ext_authz_shadow_effective_policy_id"}],
                    "value": {"stringMatch": {"prefix": "istio-ext-authz"}}},
                  "allowedHeaders": {"patterns": [{"exact": "x-ext-authz", "ignoreCase": true},
                    {"exact": "cookie", "ignoreCase": true}]}}}]""", w.httpFilters());
        // An HTTP provider has no TCP form: the TCP chain gets no CUSTOM filters (Istio ignores it there).
        assertEquals(List.of("envoy.filters.network.tcp_proxy"), w.networkFilterNames(9000));
    }

    @Test
    void customGrpcProviderOnTcpChainsUsesNetworkRbacAndExtAuthz() {
        MeshConfig mesh = MeshConfig.DEFAULT.withAuthorization(null, List.of(new MeshConfig.ExtensionProvider(
                "grpc-authz", null, new MeshConfig.EnvoyExtAuthzGrpc("ext-authz.foo.svc.cluster.local", 9000,
                null, false, null, null))));
        AuthzWorkload w = AuthzWorkload.of(policy("ext", "foo", "action: CUSTOM\nprovider: {name: grpc-authz}\n"
                + "rules: [{to: [{operation: {ports: ['9000']}}]}]"), mesh);
        assertJson("""
                [{"name": "envoy.filters.network.rbac", "typedConfig": {
                  "@type": "type.googleapis.com/envoy.extensions.filters.network.rbac.v3.RBAC",
                  "statPrefix": "tcp.",
                  "shadowRules": {"action": "DENY", "policies": {"istio-ext-authz-ns[foo]-policy[ext]-rule[0]": {
                    "permissions": [{"andRules": {"rules": [{"orRules": {"rules": [{"destinationPort": 9000}]}}]}}],
                    "principals": [{"andIds": {"ids": [{"any": true}]}}]}}},
                  "shadowRulesStatPrefix": "istio_ext_authz_"}},
                 {"name": "envoy.filters.network.ext_authz", "typedConfig": {
                  "@type": "type.googleapis.com/envoy.extensions.filters.network.ext_authz.v3.ExtAuthz",
                  "statPrefix": "tcp.",
                  "grpcService": {"envoyGrpc": {"clusterName": "outbound|9000||ext-authz.foo.svc.cluster.local",
                    "authority": "outbound_.9000_._.ext-authz.foo.svc.cluster.local"}, "timeout": "600s"},
                  "transportApiVersion": "V3",
                  "filterEnabledMetadata": {"filter": "envoy.filters.network.rbac",
                    "path": [{"key": "istio_ext_authz_shadow_effective_policy_id"}],
                    "value": {"stringMatch": {"prefix": "istio-ext-authz"}}}}}]""", w.networkFilters(9000));
        assertEquals(List.of("envoy.filters.http.rbac", "envoy.filters.http.ext_authz"), names(w.httpFilters()));
        assertEquals("outbound|9000||ext-authz.foo.svc.cluster.local",
                w.httpFilters().get(1).at("/typedConfig/grpcService/envoyGrpc/clusterName").asText());
    }

    @Test
    void customOnRpcChainsMarksCallsWithRpcRbacAndChecksThemWithRpcExtAuthz() {
        MeshConfig mesh = MeshConfig.DEFAULT.withAuthorization(null, List.of(new MeshConfig.ExtensionProvider(
                "http-authz", new MeshConfig.EnvoyExtAuthzHttp("foo/ext-authz", 8000, "2s", "/check", null, null,
                List.of("x-caller"), null, null, null, null, null, null), null)));
        AuthzWorkload w = AuthzWorkload.of(policy("ext", "foo", "action: CUSTOM\nprovider: {name: http-authz}\n"
                + "rules: [{to: [{operation: {paths: [/org.example.DemoService/*]}}]}]"), mesh);
        assertEquals(List.of("jmesh.filters.rpc.rbac", "jmesh.filters.rpc.ext_authz"), names(w.rpcFilters()));
        assertJson("""
                {"shadowRules": {"action": "DENY", "policies": {"istio-ext-authz-ns[foo]-policy[ext]-rule[0]": {
                   "permissions": [{"andRules": {"rules": [{"orRules": {"rules": [
                     {"urlPath": {"path": {"prefix": "/org.example.DemoService/"}}}]}}]}}],
                   "principals": [{"andIds": {"ids": [{"any": true}]}}]}}},
                 "shadowRulesStatPrefix": "istio_ext_authz_",
                 "@type": "type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBAC"}""",
                w.rpcFilters().get(0).get("typedConfig"));
        assertJson("""
                {"filter": "jmesh.filters.rpc.rbac", "path": [{"key": "istio_ext_authz_shadow_effective_policy_id"}],
                 "value": {"stringMatch": {"prefix": "istio-ext-authz"}}}""",
                w.rpcFilters().get(1).at("/typedConfig/filterEnabledMetadata"));
        assertEquals("outbound|8000||ext-authz.foo.svc.cluster.local",
                w.rpcFilters().get(1).at("/typedConfig/httpService/serverUri/cluster").asText());
    }

    @Test
    void customWithAnUnknownProviderDeniesTheRequestsItWouldCheck() {
        AuthzWorkload w = AuthzWorkload.of(policy("ext", "foo", "action: CUSTOM\nprovider: {name: nowhere}\n"
                + "rules: [{to: [{operation: {paths: [/admin]}}]}]"));
        assertJson("""
                [{"name": "envoy.filters.http.rbac", "typedConfig": {
                  "@type": "type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBAC",
                  "rules": {"action": "DENY", "policies": {
                    "istio-ext-authz-ns[foo]-policy[ext]-rule[0]-deny-due-to-bad-CUSTOM-action": {
                    "permissions": [{"andRules": {"rules": [{"orRules": {"rules": [
                      {"urlPath": {"path": {"exact": "/admin"}}}]}}]}}],
                    "principals": [{"andIds": {"ids": [{"any": true}]}}]}}}}}]""", w.httpFilters());
    }

    @Test
    void dryRunPoliciesGoToShadowRules() {
        String dryRun = "  annotations:\n    istio.io/dry-run: \"true\"\n";
        AuthzWorkload w = AuthzWorkload.of(
                policy("deny-path-headers", "foo", dryRun, "action: DENY\n"
                        + "rules: [{to: [{operation: {paths: [/headers]}}]}]")
                + policy("allow-get", "foo", "rules: [{to: [{operation: {methods: [GET]}}]}]"));
        assertJson("""
                [{"name": "envoy.filters.http.rbac", "typedConfig": {
                  "@type": "type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBAC",
                  "shadowRules": {"action": "DENY", "policies": {"ns[foo]-policy[deny-path-headers]-rule[0]": {
                    "permissions": [{"andRules": {"rules": [{"orRules": {"rules": [
                      {"urlPath": {"path": {"exact": "/headers"}}}]}}]}}],
                    "principals": [{"andIds": {"ids": [{"any": true}]}}]}}},
                  "shadowRulesStatPrefix": "istio_dry_run_deny_"}},
                 {"name": "envoy.filters.http.rbac", "typedConfig": {
                  "@type": "type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBAC",
                  "rules": {"policies": {"ns[foo]-policy[allow-get]-rule[0]": {
                    "permissions": [{"andRules": {"rules": [{"orRules": {"rules": [
                      {"header": {"name": ":method", "stringMatch": {"exact": "GET"}}}]}}]}}],
                    "principals": [{"andIds": {"ids": [{"any": true}]}}]}}}}}]""", w.httpFilters());
    }

    @Test
    void httpOnlyFieldsOnTcpDropTheAllowRuleAndWidenTheDenyRule() {
        AuthzWorkload w = AuthzWorkload.of(
                policy("allow", "foo", """
                        rules:
                        - to: [{operation: {methods: [GET], ports: ['9000']}}]
                        - from: [{source: {principals: [cluster.local/ns/foo/sa/sleep]}}]
                          to: [{operation: {ports: ['9000']}}]""")
                + policy("deny", "foo", """
                        action: DENY
                        rules:
                        - from: [{source: {requestPrincipals: ['*'], namespaces: [bar]}}]
                          to: [{operation: {paths: [/admin]}}]"""));
        assertJson("""
                [{"name": "envoy.filters.network.rbac", "typedConfig": {
                  "@type": "type.googleapis.com/envoy.extensions.filters.network.rbac.v3.RBAC",
                  "statPrefix": "tcp.",
                  "rules": {"action": "DENY", "policies": {"ns[foo]-policy[deny]-rule[0]": {
                    "permissions": [{"andRules": {"rules": [{"any": true}]}}],
                    "principals": [{"andIds": {"ids": [{"orIds": {"ids": [{"authenticated": {"principalName": {
                      "safeRegex": {"regex": ".*/ns/bar/.*"}}}}]}}]}}]}}}}},
                 {"name": "envoy.filters.network.rbac", "typedConfig": {
                  "@type": "type.googleapis.com/envoy.extensions.filters.network.rbac.v3.RBAC",
                  "statPrefix": "tcp.",
                  "rules": {"policies": {"ns[foo]-policy[allow]-rule[1]": {
                    "permissions": [{"andRules": {"rules": [{"orRules": {"rules": [{"destinationPort": 9000}]}}]}}],
                    "principals": [{"andIds": {"ids": [{"orIds": {"ids": [{"authenticated": {"principalName": {
                      "exact": "spiffe://cluster.local/ns/foo/sa/sleep"}}}]}}]}}]}}}}}]""", w.networkFilters(9000));
    }

    @Test
    void allFieldsOfARuleTranslateAsIstioDoes() throws Exception {
        String yaml = Files.readString(GOLDEN.resolve("all-fields.yaml"));
        ConfigParser.Result parsed = ConfigParser.parse(null, yaml);
        assertEquals(List.of(), parsed.errors());
        AuthzWorkload w = AuthzWorkload.of(yaml);
        JsonNode actual = w.httpFilters();
        Path golden = GOLDEN.resolve("all-fields-http.json");
        if (Boolean.getBoolean("golden.update")) {
            Files.writeString(golden, actual.toPrettyString() + "\n");
        }
        assertEquals(AuthzWorkload.JSON.readTree(Files.readString(golden)), actual,
                () -> "actual: " + actual.toPrettyString());
    }

    @Test
    void rpcChainsGetTheRpcRbacFilterWithHttpSemantics() {
        AuthzWorkload w = AuthzWorkload.of(policy("allow-say-hello", "foo", """
                rules:
                - to: [{operation: {hosts: [org.example.DemoService], paths: [/org.example.DemoService/sayHello]}}]"""));
        assertJson("""
                [{"name": "jmesh.filters.rpc.rbac", "typedConfig": {
                  "@type": "type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBAC",
                  "rules": {"policies": {"ns[foo]-policy[allow-say-hello]-rule[0]": {
                    "permissions": [{"andRules": {"rules": [
                      {"orRules": {"rules": [{"header": {"name": ":authority",
                        "stringMatch": {"exact": "org.example.DemoService", "ignoreCase": true}}}]}},
                      {"orRules": {"rules": [{"urlPath": {"path": {"exact": "/org.example.DemoService/sayHello"}}}]}}
                    ]}}],
                    "principals": [{"andIds": {"ids": [{"any": true}]}}]}}}}}]""", w.rpcFilters());
    }

    @Test
    void selectionByRootNamespaceNamespaceSelectorAndTargetRef() {
        AuthzWorkload w = AuthzWorkload.of(
                policy("mesh-wide", "istio-system", "action: DENY\nrules: [{to: [{operation: {paths: [/mesh]}}]}]")
                + policy("root-other-app", "istio-system", "selector: {matchLabels: {app: other}}\n"
                        + "action: DENY\nrules: [{}]")
                + policy("other-namespace", "bar", "action: DENY\nrules: [{}]")
                + policy("v2-only", "foo", "selector: {matchLabels: {app: httpbin, version: v2}}\n"
                        + "action: DENY\nrules: [{}]")
                + policy("v1", "foo", "selector: {matchLabels: {version: v1}}\n"
                        + "action: DENY\nrules: [{to: [{operation: {paths: [/v1]}}]}]")
                + policy("gateway", "foo", "targetRef: {kind: Gateway, group: gateway.networking.k8s.io, "
                        + "name: gw}\naction: DENY\nrules: [{}]"));
        JsonNode policies = w.httpFilters().get(0).at("/typedConfig/rules/policies");
        List<String> names = new ArrayList<>();
        policies.fieldNames().forEachRemaining(names::add);
        assertEquals(List.of("ns[istio-system]-policy[mesh-wide]-rule[0]", "ns[foo]-policy[v1]-rule[0]"), names);
    }

    @Test
    void rootNamespaceComesFromMeshConfig() {
        AuthzWorkload w = AuthzWorkload.of(policy("mesh-wide", "mesh-root", "action: DENY\nrules: [{}]"),
                MeshConfig.DEFAULT.withAuthorization("mesh-root", null));
        assertEquals(List.of("envoy.filters.http.rbac"), names(w.httpFilters()));
        assertEquals(List.of(), names(AuthzWorkload.of(policy("mesh-wide", "mesh-root", "action: DENY\nrules: [{}]"))
                .httpFilters()));
    }

    @Test
    void gatewaysGetThePoliciesThatSelectThemOnTheirHttpConnectionManagers() throws Exception {
        String yaml = Files.readString(Path.of("src/test/resources/golden/gateway.yaml"))
                + "---\n" + policy("ingress-ip", "istio-system", """
                        selector: {matchLabels: {istio: ingressgateway}}
                        action: ALLOW
                        rules: [{from: [{source: {remoteIpBlocks: [1.2.3.4]}}]}]""")
                + policy("other-gateway", "istio-system", """
                        selector: {matchLabels: {istio: egressgateway}}
                        action: DENY
                        rules: [{}]""");
        ConfigParser.Result parsed = ConfigParser.parse(null, yaml);
        assertEquals(List.of(), parsed.errors());
        io.jmesh.discovery.config.ConfigSnapshot config =
                new io.jmesh.discovery.config.ConfigSnapshot(parsed.configs(), parsed.errors(), MeshConfig.DEFAULT);
        io.jmesh.discovery.registry.file.FileServiceRegistry registry =
                new io.jmesh.discovery.registry.file.FileServiceRegistry();
        registry.update(config);
        io.jmesh.discovery.model.MeshSnapshot snapshot = new io.jmesh.discovery.model.MeshSnapshot(1, config,
                registry.services(), registry.endpoints());
        ProxyNode router = ProxyNode.of(io.envoyproxy.envoy.config.core.v3.Node.newBuilder()
                .setId("router~10.1.0.100~ingress-1.istio-system~istio-system.svc.cluster.local")
                .setMetadata(com.google.protobuf.Struct.newBuilder().putFields("LABELS",
                        com.google.protobuf.Value.newBuilder().setStructValue(com.google.protobuf.Struct.newBuilder()
                                .putFields("istio", com.google.protobuf.Value.newBuilder()
                                        .setStringValue("ingressgateway").build())).build()))
                .build());
        io.envoyproxy.envoy.config.listener.v3.Listener l = (io.envoyproxy.envoy.config.listener.v3.Listener)
                XdsGenerator.generate(TypeUrls.LISTENER, router, snapshot).get("0.0.0.0_80");
        io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager hcm =
                l.getFilterChains(0).getFilters(0).getTypedConfig().unpack(
                        io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager.class);
        JsonNode rbac = AuthzWorkload.json(hcm.getHttpFilters(0));
        assertJson("""
                {"name": "envoy.filters.http.rbac", "typedConfig": {
                  "@type": "type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBAC",
                  "rules": {"policies": {"ns[istio-system]-policy[ingress-ip]-rule[0]": {
                    "permissions": [{"andRules": {"rules": [{"any": true}]}}],
                    "principals": [{"andIds": {"ids": [{"orIds": {"ids": [
                      {"remoteIp": {"addressPrefix": "1.2.3.4", "prefixLen": 32}}]}}]}}]}}}}}""", rbac);
        assertEquals(List.of("envoy.filters.http.rbac", "istio.stats", "envoy.filters.http.fault",
                "envoy.filters.http.cors", "envoy.filters.http.router"),
                hcm.getHttpFiltersList().stream().map(f -> f.getName()).toList());
    }
}
