package io.jmesh.discovery.config;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import java.util.List;
import java.util.Map;

/**
 * The subset of Istio's MeshConfig that discovery uses. Unknown fields are ignored (a mesh config
 * file carries many settings meant for other components).
 *
 * @param rootNamespace      the namespace whose policies apply mesh-wide ({@code istio-system} when unset)
 * @param extensionProviders the providers that CUSTOM AuthorizationPolicies (ext_authz over HTTP or gRPC) and
 *                           Telemetry resources (prometheus, zipkin, opentelemetry, envoyFileAccessLog, envoyOtelAls)
 *                           name
 * @param telemetryDefaults  MeshConfig {@code defaultProviders}: the telemetry providers used when a Telemetry names
 *                           none (read from the {@code defaultProviders} key)
 * @param enableTracing      MeshConfig {@code enableTracing} (Istio's default: true)
 * @param defaultServiceExportTo         the {@code exportTo} of ServiceEntries that set none (empty: {@code *})
 * @param defaultVirtualServiceExportTo  the {@code exportTo} of VirtualServices that set none (empty: {@code *})
 * @param defaultDestinationRuleExportTo the {@code exportTo} of DestinationRules that set none (empty: {@code *})
 */
@JsonIgnoreProperties(ignoreUnknown = true)
public record MeshConfig(String trustDomain, Sidecar.OutboundTrafficPolicy outboundTrafficPolicy,
                         String accessLogFile, Map<String, Object> defaultConfig, String rootNamespace,
                         Boolean enableAutoMtls, String accessLogFormat, List<ExtensionProvider> extensionProviders,
                         @com.fasterxml.jackson.annotation.JsonProperty("defaultProviders") DefaultProviders telemetryDefaults,
                         Boolean enableTracing, List<String> defaultServiceExportTo,
                         List<String> defaultVirtualServiceExportTo, List<String> defaultDestinationRuleExportTo) {

    /** Istio's defaults: trust domain {@code cluster.local}, ALLOW_ANY, no access log, root namespace istio-system. */
    public static final MeshConfig DEFAULT =
            new MeshConfig("cluster.local", new Sidecar.OutboundTrafficPolicy("ALLOW_ANY", null), "", Map.of());

    public MeshConfig {
        trustDomain = trustDomain == null ? "cluster.local" : trustDomain;
        outboundTrafficPolicy = outboundTrafficPolicy == null
                ? new Sidecar.OutboundTrafficPolicy("ALLOW_ANY", null) : outboundTrafficPolicy;
        accessLogFile = accessLogFile == null ? "" : accessLogFile;
        defaultConfig = defaultConfig == null ? Map.of() : Map.copyOf(defaultConfig);
        rootNamespace = rootNamespace == null || rootNamespace.isEmpty() ? "istio-system" : rootNamespace;
        enableAutoMtls = enableAutoMtls == null ? Boolean.TRUE : enableAutoMtls;
        accessLogFormat = accessLogFormat == null ? "" : accessLogFormat;
        extensionProviders = extensionProviders == null ? List.of()
                : java.util.Collections.unmodifiableList(new java.util.ArrayList<>(extensionProviders));
        enableTracing = enableTracing == null ? Boolean.TRUE : enableTracing;
        defaultServiceExportTo = defaultServiceExportTo == null ? List.of() : List.copyOf(defaultServiceExportTo);
        defaultVirtualServiceExportTo = defaultVirtualServiceExportTo == null ? List.of()
                : List.copyOf(defaultVirtualServiceExportTo);
        defaultDestinationRuleExportTo = defaultDestinationRuleExportTo == null ? List.of()
                : List.copyOf(defaultDestinationRuleExportTo);
    }

    /** All settings but the default {@code exportTo}s ({@code *}, Istio's default). */
    public MeshConfig(String trustDomain, Sidecar.OutboundTrafficPolicy outboundTrafficPolicy, String accessLogFile,
                      Map<String, Object> defaultConfig, String rootNamespace, Boolean enableAutoMtls,
                      String accessLogFormat, List<ExtensionProvider> extensionProviders,
                      DefaultProviders telemetryDefaults, Boolean enableTracing) {
        this(trustDomain, outboundTrafficPolicy, accessLogFile, defaultConfig, rootNamespace, enableAutoMtls,
                accessLogFormat, extensionProviders, telemetryDefaults, enableTracing, null, null, null);
    }

    /** All settings but the telemetry ones ({@code defaultProviders}, {@code enableTracing}: Istio's defaults). */
    public MeshConfig(String trustDomain, Sidecar.OutboundTrafficPolicy outboundTrafficPolicy, String accessLogFile,
                      Map<String, Object> defaultConfig, String rootNamespace, Boolean enableAutoMtls,
                      String accessLogFormat, List<ExtensionProvider> extensionProviders) {
        this(trustDomain, outboundTrafficPolicy, accessLogFile, defaultConfig, rootNamespace, enableAutoMtls,
                accessLogFormat, extensionProviders, null, null);
    }

    /** The settings other than the root namespace and extension providers, with Istio's defaults for those. */
    public MeshConfig(String trustDomain, Sidecar.OutboundTrafficPolicy outboundTrafficPolicy, String accessLogFile,
                      Map<String, Object> defaultConfig) {
        this(trustDomain, outboundTrafficPolicy, accessLogFile, defaultConfig, null, null, null, null);
    }

    /** A mesh config with Istio's default access log format and no extension providers. */
    public MeshConfig(String trustDomain, Sidecar.OutboundTrafficPolicy outboundTrafficPolicy, String accessLogFile,
                      Map<String, Object> defaultConfig, String rootNamespace, Boolean enableAutoMtls) {
        this(trustDomain, outboundTrafficPolicy, accessLogFile, defaultConfig, rootNamespace, enableAutoMtls, null,
                null);
    }

    /** Returns whether client sidecars pick mTLS by themselves toward sidecar endpoints (Istio's auto mTLS). */
    public boolean autoMtls() {
        return enableAutoMtls;
    }

    /** Returns whether traffic to hosts outside the registry is refused. */
    public boolean registryOnly() {
        return "REGISTRY_ONLY".equals(outboundTrafficPolicy.mode());
    }

    /** Returns a copy with {@code rootNamespace} and {@code extensionProviders} replaced. */
    public MeshConfig withAuthorization(String rootNamespace, List<ExtensionProvider> extensionProviders) {
        return new MeshConfig(trustDomain, outboundTrafficPolicy, accessLogFile, defaultConfig, rootNamespace,
                enableAutoMtls, accessLogFormat, extensionProviders, telemetryDefaults, enableTracing,
                defaultServiceExportTo, defaultVirtualServiceExportTo, defaultDestinationRuleExportTo);
    }

    /** Returns the extension provider named {@code name}, or {@code null}. */
    public ExtensionProvider extensionProvider(String name) {
        for (ExtensionProvider p : extensionProviders) {
            if (p != null && name.equals(p.name())) {
                return p;
            }
        }
        return null;
    }

    /**
     * One of MeshConfig's {@code extensionProviders}. Read kinds: the ext_authz ones (for CUSTOM
     * AuthorizationPolicies) and the telemetry ones ({@code prometheus}, {@code zipkin}, {@code opentelemetry},
     * {@code envoyFileAccessLog}, {@code envoyOtelAls}, for Telemetry resources). A provider of another kind has
     * all these fields null; a policy or Telemetry naming it is refused or warned about by name.
     */
    @JsonIgnoreProperties(ignoreUnknown = true)
    public record ExtensionProvider(String name, EnvoyExtAuthzHttp envoyExtAuthzHttp,
                                    EnvoyExtAuthzGrpc envoyExtAuthzGrpc, Map<String, Object> prometheus,
                                    ZipkinTracingProvider zipkin, OpenTelemetryTracingProvider opentelemetry,
                                    EnvoyFileAccessLogProvider envoyFileAccessLog,
                                    EnvoyOpenTelemetryLogProvider envoyOtelAls) {

        /** An ext_authz provider (or one of a kind not read here, when both are null). */
        public ExtensionProvider(String name, EnvoyExtAuthzHttp envoyExtAuthzHttp,
                                 EnvoyExtAuthzGrpc envoyExtAuthzGrpc) {
            this(name, envoyExtAuthzHttp, envoyExtAuthzGrpc, null, null, null, null, null);
        }

        /** The provider's kind as MeshConfig names it ({@code zipkin}, ...), or {@code unknown}. */
        public String kind() {
            return envoyExtAuthzHttp != null ? "envoyExtAuthzHttp" : envoyExtAuthzGrpc != null ? "envoyExtAuthzGrpc"
                    : prometheus != null ? "prometheus" : zipkin != null ? "zipkin"
                    : opentelemetry != null ? "opentelemetry" : envoyFileAccessLog != null ? "envoyFileAccessLog"
                    : envoyOtelAls != null ? "envoyOtelAls" : "unknown";
        }
    }

    /** {@code zipkin}: spans sent to a Zipkin collector service ({@code service} is a host, optionally ns/host). */
    @JsonIgnoreProperties(ignoreUnknown = true)
    public record ZipkinTracingProvider(String service, Integer port, Integer maxTagLength,
                                        Boolean enable64bitTraceId, String path) {}

    /** {@code opentelemetry}: spans sent over OTLP, by gRPC unless {@code http} is set. */
    @JsonIgnoreProperties(ignoreUnknown = true)
    public record OpenTelemetryTracingProvider(String service, Integer port, Integer maxTagLength,
                                               HttpService http) {}

    /** The OTLP/HTTP endpoint of an {@code opentelemetry} provider. */
    @JsonIgnoreProperties(ignoreUnknown = true)
    public record HttpService(String path, String timeout) {}

    /** {@code envoyFileAccessLog}: Envoy's file access log at {@code path} with an optional format. */
    @JsonIgnoreProperties(ignoreUnknown = true)
    public record EnvoyFileAccessLogProvider(String path, LogFormat logFormat) {}

    /** An access log format: a text format, or JSON {@code labels} (key to command operator). */
    @JsonIgnoreProperties(ignoreUnknown = true)
    public record LogFormat(String text, Map<String, Object> labels) {}

    /** {@code envoyOtelAls}: access logs sent to an OpenTelemetry collector over OTLP/gRPC. */
    @JsonIgnoreProperties(ignoreUnknown = true)
    public record EnvoyOpenTelemetryLogProvider(String service, Integer port, String logName, LogFormat logFormat) {}

    /** {@code defaultProviders}: the providers used when a Telemetry resource names none. */
    @JsonIgnoreProperties(ignoreUnknown = true)
    public record DefaultProviders(List<String> tracing, List<String> metrics, List<String> accessLogging) {
        public DefaultProviders {
            tracing = tracing == null ? List.of() : List.copyOf(tracing);
            metrics = metrics == null ? null : List.copyOf(metrics);
            accessLogging = accessLogging == null ? List.of() : List.copyOf(accessLogging);
        }
    }

    /**
     * The providers Istio has without any MeshConfig: {@code prometheus} (metrics) and {@code envoy} (a file
     * access log to {@code /dev/stdout} in Istio's default format), unless {@code extensionProviders} defines a
     * provider of that name.
     */
    public static final List<ExtensionProvider> BUILT_IN_PROVIDERS = List.of(
            new ExtensionProvider("prometheus", null, null, Map.of(), null, null, null, null),
            new ExtensionProvider("envoy", null, null, null, null, null,
                    new EnvoyFileAccessLogProvider("/dev/stdout", null), null));

    /** Returns the telemetry provider named {@code name} (case-insensitive, as istiod), built-ins included. */
    public ExtensionProvider telemetryProvider(String name) {
        for (ExtensionProvider p : extensionProviders) {
            if (p != null && p.name() != null && p.name().equalsIgnoreCase(name)) {
                return p;
            }
        }
        for (ExtensionProvider p : BUILT_IN_PROVIDERS) {
            if (p.name().equalsIgnoreCase(name)) {
                return p;
            }
        }
        return null;
    }

    /** {@code defaultProviders.metrics}, {@code [prometheus]} when unset (Istio's default). */
    public List<String> defaultMetricsProviders() {
        return telemetryDefaults == null || telemetryDefaults.metrics() == null ? List.of("prometheus")
                : telemetryDefaults.metrics();
    }

    /** {@code defaultProviders.tracing}. */
    public List<String> defaultTracingProviders() {
        return telemetryDefaults == null ? List.of() : telemetryDefaults.tracing();
    }

    /** {@code defaultProviders.accessLogging}. */
    public List<String> defaultAccessLoggingProviders() {
        return telemetryDefaults == null ? List.of() : telemetryDefaults.accessLogging();
    }

    /**
     * {@code defaultConfig.tracing.sampling}: the percentage of requests traced when a Telemetry sets no
     * {@code randomSamplingPercentage}; Istio's 1.0 when unset, zero or above 100.
     */
    public double defaultTracingSampling() {
        Object tracing = defaultConfig.get("tracing");
        if (tracing instanceof Map<?, ?> m && m.get("sampling") instanceof Number n) {
            double v = n.doubleValue();
            return v <= 0 || v > 100 ? 1.0 : v;
        }
        return 1.0;
    }

    /** Returns a copy with the telemetry settings replaced. */
    public MeshConfig withTelemetry(List<ExtensionProvider> extensionProviders, DefaultProviders defaultProviders,
                                    Boolean enableTracing) {
        return new MeshConfig(trustDomain, outboundTrafficPolicy, accessLogFile, defaultConfig, rootNamespace,
                enableAutoMtls, accessLogFormat, extensionProviders, defaultProviders, enableTracing,
                defaultServiceExportTo, defaultVirtualServiceExportTo, defaultDestinationRuleExportTo);
    }

    /** {@code envoyExtAuthzHttp}: Envoy's ext_authz filter calling an HTTP authorization service. */
    @JsonIgnoreProperties(ignoreUnknown = true)
    public record EnvoyExtAuthzHttp(String service, Integer port, String timeout, String pathPrefix,
                                    Boolean failOpen, String statusOnError,
                                    List<String> includeRequestHeadersInCheck,
                                    Map<String, String> includeAdditionalHeadersInCheck,
                                    List<String> includeHeadersInCheck,
                                    RequestBody includeRequestBodyInCheck,
                                    List<String> headersToUpstreamOnAllow,
                                    List<String> headersToDownstreamOnDeny,
                                    List<String> headersToDownstreamOnAllow) {
        public EnvoyExtAuthzHttp {
            includeRequestHeadersInCheck = includeRequestHeadersInCheck == null ? List.of()
                    : List.copyOf(includeRequestHeadersInCheck);
            includeHeadersInCheck = includeHeadersInCheck == null ? List.of() : List.copyOf(includeHeadersInCheck);
            includeAdditionalHeadersInCheck = includeAdditionalHeadersInCheck == null ? Map.of()
                    : java.util.Collections.unmodifiableMap(new java.util.TreeMap<>(includeAdditionalHeadersInCheck));
            headersToUpstreamOnAllow = headersToUpstreamOnAllow == null ? List.of() : List.copyOf(headersToUpstreamOnAllow);
            headersToDownstreamOnDeny = headersToDownstreamOnDeny == null ? List.of()
                    : List.copyOf(headersToDownstreamOnDeny);
            headersToDownstreamOnAllow = headersToDownstreamOnAllow == null ? List.of()
                    : List.copyOf(headersToDownstreamOnAllow);
        }
    }

    /** {@code envoyExtAuthzGrpc}: Envoy's ext_authz filter calling a gRPC authorization service. */
    @JsonIgnoreProperties(ignoreUnknown = true)
    public record EnvoyExtAuthzGrpc(String service, Integer port, String timeout, Boolean failOpen,
                                    String statusOnError, RequestBody includeRequestBodyInCheck) {}

    /** {@code includeRequestBodyInCheck}: buffer the body and send it to the authorization service. */
    @JsonIgnoreProperties(ignoreUnknown = true)
    public record RequestBody(Integer maxRequestBytes, Boolean allowPartialMessage, Boolean packAsBytes) {}
}
