package io.jmesh.discovery.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;

import org.junit.jupiter.api.Test;

/** istiod's Telemetry validation, with the file, line and field of each error. */
class TelemetryValidationTest {

    private static String error(String spec) {
        ConfigParser.Result r = ConfigParser.parse(Path.of("telemetry.yaml"), """
                apiVersion: telemetry.istio.io/v1
                kind: Telemetry
                metadata: {name: t, namespace: shop}
                spec:
                """ + spec.indent(2));
        assertEquals(1, r.errors().size(), r.toString());
        return r.errors().get(0).toString();
    }

    @Test
    void acceptsIstiosExamples() {
        ConfigParser.Result r = ConfigParser.parse(null, """
                apiVersion: telemetry.istio.io/v1alpha1
                kind: Telemetry
                metadata: {name: mesh-default, namespace: istio-system}
                spec:
                  tracing:
                  - randomSamplingPercentage: 10.00
                    customTags: {my_tag: {header: {name: x-my-tag}}}
                  metrics:
                  - providers: [{name: prometheus}]
                    overrides:
                    - match: {metric: REQUEST_COUNT, mode: CLIENT}
                      tagOverrides:
                        request_host: {value: "request.host"}
                        request_protocol: {operation: REMOVE}
                    - match: {metric: ALL_METRICS}
                      disabled: true
                    reportingInterval: 10s
                  accessLogging:
                  - providers: [{name: envoy}]
                    filter: {expression: "response.code >= 400 || connection.mtls"}
                """);
        assertEquals(List.of(), r.errors());
        assertEquals(1, r.configs().size());
    }

    @Test
    void refusesByFieldWithFileAndLine() {
        String e = error("accessLogging: [{filter: {expression: \"response.code >= 400 &&\"}}]");
        assertTrue(e.contains("telemetry.yaml:5: ") && e.contains("spec.accessLogging[0].filter.expression: "
                + "response.code >= 400 && (expected: Istio's CEL subset; unexpected end"), e);
        e = error("metrics: [{overrides: [{tagOverrides: {user: {value: \"request.headers['x-user'\"}}}]}]");
        assertTrue(e.contains("spec.metrics[0].overrides[0].tagOverrides.user.value: request.headers['x-user' "
                + "(expected: Istio's CEL subset;"), e);
        e = error("metrics: [{overrides: [{tagOverrides: {user: {operation: UPSERT}}}]}]");
        assertTrue(e.contains("spec.metrics[0].overrides[0].tagOverrides.user.value: \"\" (expected: a CEL "
                + "expression when operation is UPSERT)"), e);
        e = error("metrics: [{overrides: [{tagOverrides: {user: {operation: REMOVE, value: x}}}]}]");
        assertTrue(e.contains("tagOverrides.user.value: x (expected: unset when operation is REMOVE)"), e);
        e = error("metrics: [{overrides: [{match: {customMetric: my_metric}}]}]");
        assertTrue(e.contains("spec.metrics[0].overrides[0].match.customMetric: my_metric (expected: one of "
                + "Istio's standard metrics in match.metric; custom metrics are not supported)"), e);
        e = error("metrics: [{overrides: [{match: {metric: REQUESTS}}]}]");
        assertTrue(e.contains("spec.metrics[0].overrides[0].match.metric: REQUESTS (expected: one of [ALL_METRICS"), e);
        e = error("tracing: [{randomSamplingPercentage: 101}]");
        assertTrue(e.contains("spec.tracing[0].randomSamplingPercentage: 101.0 (expected: 0 to 100)"), e);
        e = error("tracing: [{customTags: {team: {literal: {value: \"\"}}}}]");
        assertTrue(e.contains("spec.tracing[0].customTags.team.literal.value: \"\" (expected: a literal tag value)"), e);
        e = error("tracing: [{customTags: {team: {}}}]");
        assertTrue(e.contains("spec.tracing[0].customTags.team: 0 kinds (expected: exactly one of literal,"), e);
        e = error("targetRef: {kind: Service, name: reviews}");
        assertTrue(e.contains("spec.targetRef: /Service (expected: gateway.networking.k8s.io/Gateway"), e);
        e = error("selector: {matchLabels: {app: a}}\ntargetRef: {group: gateway.networking.k8s.io, kind: Gateway,"
                + " name: g}");
        assertTrue(e.contains("spec: selector, targetRef and targetRefs all set (expected: only one of them)"), e);
        e = error("accessLogging: [{match: {mode: BOTH}}]");
        assertTrue(e.contains("spec.accessLogging[0].match.mode: BOTH (expected: one of [CLIENT, CLIENT_AND_SERVER,"
                + " SERVER])"), e);
        e = error("tracing: [{sampling: 3}]");
        assertTrue(e.contains("spec.tracing[0].sampling: unknown field"), e);
    }
}
