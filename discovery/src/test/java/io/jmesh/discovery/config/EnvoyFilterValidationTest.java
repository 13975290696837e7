package io.jmesh.discovery.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * EnvoyFilter validation as istiod's {@code ValidateEnvoyFilter}: each bad input is rejected naming its field, and
 * what jmesh does not implement is refused or warned about by name. Good objects are accepted unchanged.
 */
class EnvoyFilterValidationTest {

    private static ConfigParser.Result parse(String patches) {
        return ConfigParser.parse(Path.of("ef.yaml"), """
                apiVersion: networking.istio.io/v1alpha3
                kind: EnvoyFilter
                metadata: {name: f, namespace: shop}
                spec:
                  configPatches:
                """ + patches.indent(2));
    }

    private static String error(String patches) {
        ConfigParser.Result r = parse(patches);
        assertEquals(List.of(), r.configs(), "rejected");
        assertEquals(1, r.errors().size(), r.errors().toString());
        return r.errors().get(0).reason();
    }

    private static List<String> warnings(String patches) {
        ConfigParser.Result r = parse(patches);
        assertEquals(List.of(), r.errors());
        assertEquals(1, r.configs().size());
        return r.warnings().stream().map(ConfigWarning::message).toList();
    }

    @Test
    void istiosLocalRateLimitFilterIsAccepted() {
        List<String> w = warnings("""
                - applyTo: HTTP_FILTER
                  match:
                    context: SIDECAR_INBOUND
                    listener: {filterChain: {filter: {name: envoy.filters.network.http_connection_manager}}}
                  patch:
                    operation: INSERT_BEFORE
                    value:
                      name: envoy.filters.http.local_ratelimit
                      typed_config:
                        "@type": type.googleapis.com/udpa.type.v1.TypedStruct
                        type_url: type.googleapis.com/envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit
                        value:
                          stat_prefix: http_local_rate_limiter
                          token_bucket: {max_tokens: 4, tokens_per_fill: 4, fill_interval: 60s}
                """);
        assertEquals(List.of("spec: EnvoyFilter (exposes internal implementation details that may change at any "
                + "time; prefer other APIs if possible, and exercise extreme caution, especially around upgrades)"), w);
    }

    @Test
    void missingPartsAreNamed() {
        assertEquals("spec.configPatches[0].applyTo: missing (expected: one of LISTENER, FILTER_CHAIN, NETWORK_FILTER, "
                + "HTTP_FILTER, ROUTE_CONFIGURATION, VIRTUAL_HOST, HTTP_ROUTE, CLUSTER)",
                error("- patch: {operation: REMOVE}"));
        assertEquals("spec.configPatches[0].patch: missing (expected: an operation and a value)",
                error("- applyTo: CLUSTER"));
        assertEquals("spec.configPatches[0].patch.operation: missing (expected: one of MERGE, ADD, REMOVE, "
                + "INSERT_BEFORE, INSERT_AFTER, INSERT_FIRST, REPLACE)", error("- {applyTo: CLUSTER, patch: {}}"));
        assertEquals("spec.configPatches[0].patch.value: missing (expected: a value for operation MERGE)",
                error("- {applyTo: CLUSTER, patch: {operation: MERGE}}"));
        assertEquals("spec.configPatches[0].patch.operation: PATCH (expected: one of MERGE, ADD, REMOVE, "
                + "INSERT_BEFORE, INSERT_AFTER, INSERT_FIRST, REPLACE)",
                error("- {applyTo: CLUSTER, patch: {operation: PATCH, value: {}}}"));
        assertEquals("spec.configPatches[0]: null (expected: a config patch)", error("- ~"));
    }

    @Test
    void kindsJmeshDoesNotImplementAreRefusedByName() {
        assertEquals("spec.configPatches[0].applyTo: BOOTSTRAP (not implemented by jmesh; expected: one of LISTENER, "
                + "FILTER_CHAIN, NETWORK_FILTER, HTTP_FILTER, ROUTE_CONFIGURATION, VIRTUAL_HOST, HTTP_ROUTE, CLUSTER)",
                error("- {applyTo: BOOTSTRAP, patch: {operation: MERGE, value: {}}}"));
        assertTrue(error("- {applyTo: LISTENER_FILTER, patch: {operation: REMOVE}}")
                .startsWith("spec.configPatches[0].applyTo: LISTENER_FILTER (not implemented by jmesh;"));
        assertEquals("spec.configPatches[0].match.context: WAYPOINT (not implemented by jmesh; expected: ANY, "
                + "SIDECAR_INBOUND, SIDECAR_OUTBOUND, GATEWAY)",
                error("- {applyTo: CLUSTER, match: {context: WAYPOINT}, patch: {operation: REMOVE}}"));
    }

    @Test
    void matchesMustFitTheObjectPatched() {
        assertEquals("spec.configPatches[0].match: cluster (expected: a listener match; applyTo HTTP_FILTER is a "
                + "listener object)",
                error("- {applyTo: HTTP_FILTER, match: {cluster: {portNumber: 80}}, patch: {operation: REMOVE}}"));
        assertEquals("spec.configPatches[0].match: listener (expected: a cluster match; applyTo CLUSTER is a cluster "
                + "object)", error("- {applyTo: CLUSTER, match: {listener: {portNumber: 80}}, patch: {operation: "
                + "REMOVE}}"));
        assertEquals("spec.configPatches[0].match: listener (expected: a routeConfiguration match; applyTo "
                + "VIRTUAL_HOST is a route object)", error("- {applyTo: VIRTUAL_HOST, match: {listener: {}}, patch: "
                + "{operation: REMOVE}}"));
        assertEquals("spec.configPatches[0].match.listener.filterChain.filter.name: missing (expected: a filter name "
                + "to match on)", error("- {applyTo: NETWORK_FILTER, match: {listener: {filterChain: {filter: {}}}}, "
                + "patch: {operation: REMOVE}}"));
        assertEquals("spec.configPatches[0].match.listener.filterChain.filter.subFilter: envoy.filters.http.router "
                + "(expected: with applyTo HTTP_FILTER only)", error("- {applyTo: NETWORK_FILTER, match: {listener: "
                + "{filterChain: {filter: {name: envoy.filters.network.http_connection_manager, subFilter: {name: "
                + "envoy.filters.http.router}}}}}, patch: {operation: REMOVE}}"));
        assertEquals("spec.configPatches[0].match.listener.filterChain.filter.name: envoy.filters.network.tcp_proxy "
                + "(expected: envoy.filters.network.http_connection_manager; a subFilter match is for HTTP filters)",
                error("- {applyTo: HTTP_FILTER, match: {listener: {filterChain: {filter: {name: "
                        + "envoy.filters.network.tcp_proxy, subFilter: {name: x}}}}}, patch: {operation: REMOVE}}"));
        assertEquals("spec.configPatches[0].match.proxy.proxyVersion: ^1.(2 (expected: a regular expression: "
                + "Unclosed group)", error("- {applyTo: CLUSTER, match: {proxy: {proxyVersion: '^1.(2'}}, patch: "
                + "{operation: REMOVE}}"));
        assertEquals("spec.configPatches[0].match.routeConfiguration.vhost.route.action: FORWARD (expected: one of "
                + "ANY, ROUTE, REDIRECT, DIRECT_RESPONSE)", error("- {applyTo: HTTP_ROUTE, match: {routeConfiguration: "
                + "{vhost: {route: {action: FORWARD}}}}, patch: {operation: REMOVE}}"));
    }

    @Test
    void aValueThatIsNotTheObjectsTypeIsRejectedNamingTheField() {
        assertEquals("spec.configPatches[0].patch.value.connect_timeout: \"soon\" (expected: a duration such as "
                + "\"1.5s\")", error("- {applyTo: CLUSTER, patch: {operation: MERGE, value: {connect_timeout: soon}}}"));
        assertEquals("spec.configPatches[0].patch.value.typed_config.@type: type.googleapis.com/envoy.extensions."
                + "filters.http.nope.v3.Nope (expected: a type this proxy supports)", error("""
                - applyTo: HTTP_FILTER
                  patch:
                    operation: ADD
                    value: {name: nope, typed_config: {"@type": type.googleapis.com/envoy.extensions.filters.http.nope.v3.Nope}}
                """));
    }

    @Test
    void unknownFieldsInAValueAreAWarningAsInIstiod() {
        List<String> w = warnings("- {applyTo: CLUSTER, patch: {operation: MERGE, value: {conect_timeout: 5s}}}");
        assertTrue(w.contains("spec.configPatches[0].patch.value.conect_timeout: unknown field (expected: a field of "
                + "envoy.config.cluster.v3.Cluster); the field is ignored"), w.toString());
    }

    @Test
    void operationsWithoutEffectAndUnimplementedFieldsAreWarnedAbout() {
        List<String> w = warnings("""
                - applyTo: CLUSTER
                  patch: {operation: INSERT_BEFORE, value: {name: c}, filterClass: AUTHZ}
                """);
        assertTrue(w.contains("spec.configPatches[0].patch.operation: INSERT_BEFORE (has no effect with applyTo "
                + "CLUSTER; it takes MERGE, ADD, REMOVE)"), w.toString());
        assertTrue(w.contains("spec.configPatches[0].patch.filterClass: AUTHZ (not implemented by jmesh: the filter "
                + "is placed by its operation INSERT_BEFORE)"), w.toString());
    }

    @Test
    void onlyV1alpha3AndAllProblemsAreReported() {
        ConfigParser.Result r = ConfigParser.parse(Path.of("ef.yaml"), """
                apiVersion: networking.istio.io/v1
                kind: EnvoyFilter
                metadata: {name: f}
                spec:
                  workloadSelector: {labels: {app: reviews}}
                  configPatches:
                  - {applyTo: CLUSTER}
                  - {applyTo: LISTENER, patch: {operation: MERGE}}
                """);
        assertEquals(1, r.errors().size());
        assertEquals("apiVersion: networking.istio.io/v1 (expected: networking.istio.io/v1alpha3; EnvoyFilter has no "
                + "other version); spec.configPatches[0].patch: missing (expected: an operation and a value); "
                + "spec.configPatches[1].patch.value: missing (expected: a value for operation MERGE)",
                r.errors().get(0).reason());
    }

    @Test
    void unknownFieldsOfTheSpecAreRejected() {
        assertEquals("spec.configPatches[0].aplyTo: unknown field (expected: one of applyTo, match, patch)",
                error("- {aplyTo: CLUSTER, patch: {operation: REMOVE}}"));
    }
}
