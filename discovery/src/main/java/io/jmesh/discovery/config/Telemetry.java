package io.jmesh.discovery.config;

import java.util.List;
import java.util.Map;

/**
 * The spec of Istio's {@code Telemetry} (telemetry.istio.io): how the selected workloads report metrics, traces and
 * access logs. Scope: in the root namespace without selector, the whole mesh; in another namespace without
 * selector, that namespace; with a {@code selector} (or a {@code targetRef} to a Gateway), those workloads. A more
 * specific Telemetry overrides the fields it sets (see {@code io.jmesh.discovery.xds.TelemetryPolicy}).
 *
 * @see <a href="https://istio.io/latest/docs/reference/config/telemetry/">Telemetry</a>
 */
public record Telemetry(RequestAuthentication.WorkloadSelector selector,
                        RequestAuthentication.PolicyTargetReference targetRef,
                        List<RequestAuthentication.PolicyTargetReference> targetRefs,
                        List<Tracing> tracing, List<Metrics> metrics, List<AccessLogging> accessLogging) {

    public Telemetry {
        targetRefs = targetRefs == null ? List.of() : List.copyOf(targetRefs);
        tracing = tracing == null ? List.of() : List.copyOf(tracing);
        metrics = metrics == null ? List.of() : List.copyOf(metrics);
        accessLogging = accessLogging == null ? List.of() : List.copyOf(accessLogging);
    }

    /** Returns whether a selector with at least one label is set. */
    public boolean hasSelector() {
        return selector != null && !selector.matchLabels().isEmpty();
    }

    /** A provider named in MeshConfig {@code extensionProviders}. */
    public record ProviderRef(String name) {}

    /** {@code CLIENT}, {@code SERVER} or {@code CLIENT_AND_SERVER} (the default). */
    public record WorkloadModeSelector(String mode) {}

    /** Tracing settings. */
    public record Tracing(WorkloadModeSelector match, List<ProviderRef> providers, Map<String, CustomTag> customTags,
                          Boolean disableSpanReporting, Double randomSamplingPercentage,
                          Boolean useRequestIdForTraceSampling, Boolean enableIstioTags) {
        public Tracing {
            providers = providers == null ? List.of() : List.copyOf(providers);
        }
    }

    /** One custom span tag: exactly one of a literal, an environment variable or a request header. */
    public record CustomTag(Literal literal, Environment environment, RequestHeader header) {}

    /** A fixed tag value. */
    public record Literal(String value) {}

    /** A tag from the proxy's environment. */
    public record Environment(String name, String defaultValue) {}

    /** A tag from a request header. */
    public record RequestHeader(String name, String defaultValue) {}

    /** Metrics settings for some providers. */
    public record Metrics(List<ProviderRef> providers, List<MetricsOverrides> overrides, String reportingInterval) {
        public Metrics {
            providers = providers == null ? List.of() : List.copyOf(providers);
            overrides = overrides == null ? List.of() : List.copyOf(overrides);
        }
    }

    /** Disables metrics or changes their labels. */
    public record MetricsOverrides(MetricSelector match, Boolean disabled, Map<String, TagOverride> tagOverrides) {
        public MetricsOverrides {
            tagOverrides = tagOverrides == null ? Map.of()
                    : java.util.Collections.unmodifiableMap(new java.util.TreeMap<>(tagOverrides));
        }
    }

    /** Which metrics an override applies to: one of Istio's metrics (or all), in some modes. */
    public record MetricSelector(String metric, String customMetric, String mode) {}

    /** {@code UPSERT} (the default) a label with the value of a CEL expression, or {@code REMOVE} it. */
    public record TagOverride(String operation, String value) {}

    /** Access log settings. */
    public record AccessLogging(WorkloadModeSelector match, List<ProviderRef> providers, Boolean disabled,
                                Filter filter) {
        public AccessLogging {
            providers = providers == null ? List.of() : List.copyOf(providers);
        }
    }

    /** A CEL expression: only requests for which it is true are logged. */
    public record Filter(String expression) {}
}
