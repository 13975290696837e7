package io.jmesh.discovery.config;

import java.util.List;
import java.util.Map;
import java.util.Set;

import io.jmesh.proxy.config.ConfigException;
import io.jmesh.proxy.telemetry.cel.CelExpression;

/**
 * istiod's checks of a {@code Telemetry} ({@code ValidateTelemetry}: selector, tracing, metrics, access logging),
 * with jmesh's {@code field.path: value (expected: ...)} messages, plus what jmesh cannot do, refused by name:
 * custom metrics, a {@code targetRef} to anything but a Gateway, CEL a jmesh proxy cannot evaluate (the subset of
 * {@link CelExpression}) in {@code accessLogging[].filter.expression} and {@code tagOverrides[].value}.
 */
final class TelemetryValidator {

    /** Istio's metric names ({@code MetricSelector.IstioMetric}). */
    static final Set<String> METRICS = Set.of("ALL_METRICS", "REQUEST_COUNT", "REQUEST_DURATION", "REQUEST_SIZE",
            "RESPONSE_SIZE", "TCP_OPENED_CONNECTIONS", "TCP_CLOSED_CONNECTIONS", "TCP_SENT_BYTES", "TCP_RECEIVED_BYTES",
            "GRPC_REQUEST_MESSAGES", "GRPC_RESPONSE_MESSAGES");

    static final Set<String> MODES = Set.of("CLIENT", "SERVER", "CLIENT_AND_SERVER");

    private TelemetryValidator() {}

    static void validate(Telemetry t) throws ConfigException {
        int selectors = (t.selector() != null ? 1 : 0) + (t.targetRef() != null ? 1 : 0)
                + (t.targetRefs().isEmpty() ? 0 : 1);
        if (selectors > 1) {
            throw new ConfigException("spec: selector, targetRef and targetRefs all set (expected: only one of them)");
        }
        if (t.selector() != null) {
            ConfigValidator.validateLabels(t.selector().matchLabels(), "spec.selector.matchLabels");
        }
        if (t.targetRef() != null) {
            validateTargetRef(t.targetRef(), "spec.targetRef");
        }
        for (int i = 0; i < t.targetRefs().size(); i++) {
            validateTargetRef(t.targetRefs().get(i), "spec.targetRefs[" + i + "]");
        }
        for (int i = 0; i < t.tracing().size(); i++) {
            validateTracing(t.tracing().get(i), "spec.tracing[" + i + "]");
        }
        for (int i = 0; i < t.metrics().size(); i++) {
            validateMetrics(t.metrics().get(i), "spec.metrics[" + i + "]");
        }
        for (int i = 0; i < t.accessLogging().size(); i++) {
            validateAccessLogging(t.accessLogging().get(i), "spec.accessLogging[" + i + "]");
        }
    }

    private static void validateTargetRef(RequestAuthentication.PolicyTargetReference ref, String path)
            throws ConfigException {
        String gk = (ref.group() == null ? "" : ref.group()) + "/" + ref.kind();
        if (!gk.equals("gateway.networking.k8s.io/Gateway")) {
            throw new ConfigException(path + ": " + gk + " (expected: gateway.networking.k8s.io/Gateway; jmesh has"
                    + " no waypoints for Service targets)");
        }
        if (ref.name() == null || ref.name().isEmpty()) {
            throw new ConfigException(path + ".name: \"\" (expected: the Gateway's name)");
        }
        if (ref.namespace() != null && !ref.namespace().isEmpty()) {
            throw new ConfigException(path + ".namespace: " + ref.namespace()
                    + " (expected: unset; a Telemetry targets resources of its own namespace)");
        }
    }

    private static void validateProviders(List<Telemetry.ProviderRef> providers, String path) throws ConfigException {
        for (int i = 0; i < providers.size(); i++) {
            Telemetry.ProviderRef p = providers.get(i);
            if (p == null || p.name() == null || p.name().isEmpty()) {
                throw new ConfigException(path + "[" + i + "].name: \"\" (expected: a provider of MeshConfig"
                        + " extensionProviders)");
            }
        }
    }

    private static void validateMode(Telemetry.WorkloadModeSelector match, String path) throws ConfigException {
        if (match != null && match.mode() != null && !MODES.contains(match.mode())) {
            throw new ConfigException(path + ".mode: " + match.mode() + " (expected: one of " + new java.util.TreeSet<>(
                    MODES) + ")");
        }
    }

    private static void validateTracing(Telemetry.Tracing t, String path) throws ConfigException {
        if (t == null) {
            return;
        }
        validateMode(t.match(), path + ".match");
        validateProviders(t.providers(), path + ".providers");
        Double pct = t.randomSamplingPercentage();
        if (pct != null && (pct < 0 || pct > 100 || pct.isNaN())) {
            throw new ConfigException(path + ".randomSamplingPercentage: " + pct + " (expected: 0 to 100)");
        }
        if (t.customTags() != null) {
            for (Map.Entry<String, Telemetry.CustomTag> e : t.customTags().entrySet()) {
                String at = path + ".customTags." + e.getKey();
                if (e.getKey().isEmpty()) {
                    throw new ConfigException(path + ".customTags: \"\" (expected: a tag name)");
                }
                Telemetry.CustomTag tag = e.getValue();
                int kinds = tag == null ? 0 : (tag.literal() != null ? 1 : 0) + (tag.environment() != null ? 1 : 0)
                        + (tag.header() != null ? 1 : 0);
                if (kinds != 1) {
                    throw new ConfigException(at + ": " + kinds + " kinds (expected: exactly one of literal,"
                            + " environment, header)");
                }
                if (tag.literal() != null && (tag.literal().value() == null || tag.literal().value().isEmpty())) {
                    throw new ConfigException(at + ".literal.value: \"\" (expected: a literal tag value)");
                }
                if (tag.environment() != null && (tag.environment().name() == null
                        || tag.environment().name().isEmpty())) {
                    throw new ConfigException(at + ".environment.name: \"\" (expected: an environment variable)");
                }
                if (tag.header() != null && (tag.header().name() == null || tag.header().name().isEmpty())) {
                    throw new ConfigException(at + ".header.name: \"\" (expected: a header name)");
                }
            }
        }
    }

    private static void validateMetrics(Telemetry.Metrics m, String path) throws ConfigException {
        if (m == null) {
            return;
        }
        validateProviders(m.providers(), path + ".providers");
        if (m.reportingInterval() != null) {
            ConfigValidator.parseDuration(m.reportingInterval(), path + ".reportingInterval",
                    java.time.Duration.ofMillis(1));
        }
        for (int i = 0; i < m.overrides().size(); i++) {
            Telemetry.MetricsOverrides o = m.overrides().get(i);
            String at = path + ".overrides[" + i + "]";
            if (o == null) {
                continue;
            }
            if (o.match() != null) {
                Telemetry.MetricSelector s = o.match();
                if (s.metric() != null && s.customMetric() != null) {
                    throw new ConfigException(at + ".match: metric and customMetric both set (expected: one of them)");
                }
                if (s.customMetric() != null) {
                    throw new ConfigException(at + ".match.customMetric: " + s.customMetric() + " (expected: one of"
                            + " Istio's standard metrics in match.metric; custom metrics are not supported)");
                }
                if (s.metric() != null && !METRICS.contains(s.metric())) {
                    throw new ConfigException(at + ".match.metric: " + s.metric() + " (expected: one of "
                            + new java.util.TreeSet<>(METRICS) + ")");
                }
                if (s.mode() != null && !MODES.contains(s.mode())) {
                    throw new ConfigException(at + ".match.mode: " + s.mode() + " (expected: one of "
                            + new java.util.TreeSet<>(MODES) + ")");
                }
            }
            for (Map.Entry<String, Telemetry.TagOverride> e : o.tagOverrides().entrySet()) {
                String tp = at + ".tagOverrides." + e.getKey();
                if (e.getKey().isEmpty()) {
                    throw new ConfigException(at + ".tagOverrides: \"\" (expected: a tag name)");
                }
                if (!e.getKey().matches("[a-zA-Z_][a-zA-Z0-9_]*")) {
                    throw new ConfigException(tp + ": " + e.getKey() + " (expected: a Prometheus label name)");
                }
                Telemetry.TagOverride to = e.getValue();
                String op = to == null || to.operation() == null ? "UPSERT" : to.operation();
                String value = to == null ? null : to.value();
                switch (op) {
                    case "UPSERT" -> {
                        if (value == null || value.isEmpty()) {
                            throw new ConfigException(tp + ".value: \"\" (expected: a CEL expression when operation"
                                    + " is UPSERT)");
                        }
                        try {
                            CelExpression.parse(value);
                        } catch (ConfigException ce) {
                            throw new ConfigException(tp + ".value: " + ce.getMessage().substring(
                                    "expression: ".length()));
                        }
                    }
                    case "REMOVE" -> {
                        if (value != null && !value.isEmpty()) {
                            throw new ConfigException(tp + ".value: " + value + " (expected: unset when operation is"
                                    + " REMOVE)");
                        }
                    }
                    default -> throw new ConfigException(tp + ".operation: " + op + " (expected: UPSERT or REMOVE)");
                }
            }
        }
    }

    private static void validateAccessLogging(Telemetry.AccessLogging a, String path) throws ConfigException {
        if (a == null) {
            return;
        }
        validateMode(a.match(), path + ".match");
        validateProviders(a.providers(), path + ".providers");
        if (a.filter() != null) {
            try {
                CelExpression.parse(a.filter().expression());
            } catch (ConfigException e) {
                throw e.under(path + ".filter");
            }
        }
    }
}
