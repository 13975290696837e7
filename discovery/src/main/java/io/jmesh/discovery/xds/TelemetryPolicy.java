package io.jmesh.discovery.xds;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.EnumMap;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;

import com.google.protobuf.BoolValue;
import com.google.protobuf.ListValue;
import com.google.protobuf.Struct;
import com.google.protobuf.UInt32Value;
import com.google.protobuf.Value;

import io.envoyproxy.envoy.config.accesslog.v3.AccessLog;
import io.envoyproxy.envoy.config.accesslog.v3.AccessLogFilter;
import io.envoyproxy.envoy.config.accesslog.v3.ExtensionFilter;
import io.envoyproxy.envoy.config.core.v3.DataSource;
import io.envoyproxy.envoy.config.core.v3.GrpcService;
import io.envoyproxy.envoy.config.core.v3.HttpService;
import io.envoyproxy.envoy.config.core.v3.HttpUri;
import io.envoyproxy.envoy.config.core.v3.SubstitutionFormatString;
import io.envoyproxy.envoy.config.trace.v3.OpenTelemetryConfig;
import io.envoyproxy.envoy.config.trace.v3.ZipkinConfig;
import io.envoyproxy.envoy.extensions.access_loggers.file.v3.FileAccessLog;
import io.envoyproxy.envoy.extensions.access_loggers.filters.cel.v3.ExpressionFilter;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import io.envoyproxy.envoy.type.tracing.v3.CustomTag;
import io.envoyproxy.envoy.type.v3.Percent;
import io.jmesh.discovery.config.Config;
import io.jmesh.discovery.config.ConfigKind;
import io.jmesh.discovery.config.Labels;
import io.jmesh.discovery.config.MeshConfig;
import io.jmesh.discovery.config.Telemetry;
import io.jmesh.discovery.model.MeshSnapshot;
import io.jmesh.proxy.filter.stats.IstioMetrics;

/**
 * The Telemetry API as istiod applies it to one proxy ({@code pilot/pkg/model/telemetry.go}): which Telemetry
 * resources are in scope (the root namespace's, then the proxy's namespace's, then the first one selecting the
 * workload, each later one overriding), and their merged metrics, access logging and tracing for one class of
 * listener (sidecar inbound: Istio's {@code SERVER} mode; sidecar outbound and gateways: {@code CLIENT}).
 *
 * <ul>
 * <li>Metrics: the providers of the most specific {@code metrics[]} that names some (else MeshConfig
 * {@code defaultProviders.metrics}, {@code [prometheus]} by default); overrides accumulate in order (a later one
 * replaces {@code disabled} and the tags it names). A {@code prometheus} provider gives the {@code istio.stats}
 * filter's {@code stats.PluginConfig}; {@code ALL_METRICS} disabled removes the filter.</li>
 * <li>Access logging: Istio's {@code mergeLogs}; with no Telemetry logging and no
 * {@code defaultProviders.accessLogging}, MeshConfig {@code accessLogFile} applies instead.</li>
 * <li>Tracing: Istio's {@code Tracing}: one provider per mode, {@code disableSpanReporting},
 * {@code randomSamplingPercentage} (default MeshConfig {@code defaultConfig.tracing.sampling}), {@code customTags};
 * with no Telemetry tracing and no {@code defaultProviders.tracing}, no tracing is configured.</li>
 * </ul>
 * Stateless; providers that cannot be honoured are skipped with a warning naming them (logged once).
 */
final class TelemetryPolicy {

    private static final org.slf4j.Logger logger = org.slf4j.LoggerFactory.getLogger(TelemetryPolicy.class);

    /** Istio's default text format for {@code envoyFileAccessLog} ({@code model.EnvoyTextLogFormat}). */
    static final String ISTIO_TEXT_FORMAT = "[%START_TIME%] \"%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% "
            + "%PROTOCOL%\" %RESPONSE_CODE% %RESPONSE_FLAGS% %RESPONSE_CODE_DETAILS% %CONNECTION_TERMINATION_DETAILS% "
            + "\"%UPSTREAM_TRANSPORT_FAILURE_REASON%\" %BYTES_RECEIVED% %BYTES_SENT% %DURATION% "
            + "%RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)% \"%REQ(X-FORWARDED-FOR)%\" \"%REQ(USER-AGENT)%\" "
            + "\"%REQ(X-REQUEST-ID)%\" \"%REQ(:AUTHORITY)%\" \"%UPSTREAM_HOST%\" %UPSTREAM_CLUSTER_RAW% "
            + "%UPSTREAM_LOCAL_ADDRESS% %DOWNSTREAM_LOCAL_ADDRESS% %DOWNSTREAM_REMOTE_ADDRESS% "
            + "%REQUESTED_SERVER_NAME% %ROUTE_NAME%\n";

    static final String CEL_FILTER = "envoy.access_loggers.extension_filters.cel";
    static final String ZIPKIN = "envoy.tracers.zipkin";
    static final String OPENTELEMETRY = "envoy.tracers.opentelemetry";

    /** Istio's metric names to the {@code istio_} metric names without the prefix. */
    static final Map<String, String> METRIC_NAMES = Map.of("REQUEST_COUNT", "requests_total",
            "REQUEST_DURATION", "request_duration_milliseconds", "REQUEST_SIZE", "request_bytes",
            "RESPONSE_SIZE", "response_bytes", "TCP_OPENED_CONNECTIONS", "tcp_connections_opened_total",
            "TCP_CLOSED_CONNECTIONS", "tcp_connections_closed_total", "TCP_SENT_BYTES", "tcp_sent_bytes_total",
            "TCP_RECEIVED_BYTES", "tcp_received_bytes_total", "GRPC_REQUEST_MESSAGES", "request_messages_total",
            "GRPC_RESPONSE_MESSAGES", "response_messages_total");

    /** Istio's metric names ({@link #METRIC_NAMES}' keys), sorted: what {@code ALL_METRICS} stands for. */
    private static final List<String> ALL_METRICS = List.copyOf(new java.util.TreeSet<>(METRIC_NAMES.keySet()));

    /** Istio's {@code WorkloadMode}s that a listener class reports as. */
    enum Mode {
        CLIENT, SERVER;

        /** Whether a {@code match.mode} (this mode's name, {@code CLIENT_AND_SERVER}, or null: all) holds. */
        boolean matches(String match) {
            return match == null || match.equals("CLIENT_AND_SERVER") || match.equals(name());
        }
    }

    private static final Set<String> warned = ConcurrentHashMap.newKeySet();

    private TelemetryPolicy() {}

    /** The mode of a listener: {@code SERVER} for a sidecar's inbound listener, else {@code CLIENT}. */
    static Mode mode(boolean inbound) {
        return inbound ? Mode.SERVER : Mode.CLIENT;
    }

    /**
     * The telemetry of one class of listener of one proxy: {@link #statsConfig}, {@link #accessLogs} and
     * {@link #tracing} for one mode, each computed on first use and then kept, so that a generation run merges the
     * Telemetry resources once per mode, not once per listener. Not thread-safe: one generation run's.
     */
    static final class Resolved {
        private final MeshSnapshot snapshot;
        private final ProxyNode proxy;
        private final Mode mode;
        private Optional<Struct> statsConfig;
        private Optional<List<AccessLog>> accessLogs;
        private Optional<HttpConnectionManager.Tracing> tracing;

        Resolved(MeshSnapshot snapshot, ProxyNode proxy, Mode mode) {
            this.snapshot = snapshot;
            this.proxy = proxy;
            this.mode = mode;
        }

        Optional<Struct> statsConfig() {
            if (statsConfig == null) {
                statsConfig = TelemetryPolicy.statsConfig(snapshot, proxy, mode);
            }
            return statsConfig;
        }

        Optional<List<AccessLog>> accessLogs() {
            if (accessLogs == null) {
                accessLogs = TelemetryPolicy.accessLogs(snapshot, proxy, mode);
            }
            return accessLogs;
        }

        Optional<HttpConnectionManager.Tracing> tracing() {
            if (tracing == null) {
                tracing = TelemetryPolicy.tracing(snapshot, proxy, mode);
            }
            return tracing;
        }
    }

    private static void warnOnce(String message) {
        if (warned.size() < 1024 && warned.add(message)) {
            logger.warn(message);
        }
    }

    // ---------------------------------------------------------------------------------------------------------
    // Scope

    /**
     * The Telemetry resources in scope for {@code proxy}, least specific first: the root namespace's without
     * selector, the proxy namespace's without selector, then the first (oldest, then by name) that selects the
     * workload by {@code selector} or names its Gateway in {@code targetRef(s)}.
     */
    static List<Config<Telemetry>> applicable(MeshSnapshot snapshot, ProxyNode proxy) {
        List<Config<Telemetry>> all = new ArrayList<>(snapshot.config().<Telemetry>of(ConfigKind.TELEMETRY));
        if (all.isEmpty()) {
            return List.of();
        }
        all.sort(Comparator.comparing((Config<Telemetry> c) -> c.meta().creationTimestamp() == null
                        ? java.time.Instant.MIN : c.meta().creationTimestamp())
                .thenComparing(c -> c.meta().name()).thenComparing(c -> c.meta().namespace()));
        String root = snapshot.meshConfig().rootNamespace();
        List<Config<Telemetry>> out = new ArrayList<>(3);
        namespaceWide(all, root).ifPresent(out::add);
        if (!proxy.namespace().equals(root)) {
            namespaceWide(all, proxy.namespace()).ifPresent(out::add);
        }
        for (Config<Telemetry> c : all) {
            if (c.meta().namespace().equals(proxy.namespace()) && selects(c.spec(), proxy)) {
                out.add(c);
                break;
            }
        }
        return out;
    }

    private static Optional<Config<Telemetry>> namespaceWide(List<Config<Telemetry>> all, String namespace) {
        for (Config<Telemetry> c : all) {
            Telemetry t = c.spec();
            if (c.meta().namespace().equals(namespace) && !t.hasSelector() && t.targetRef() == null
                    && t.targetRefs().isEmpty()) {
                return Optional.of(c);
            }
        }
        return Optional.empty();
    }

    private static boolean selects(Telemetry t, ProxyNode proxy) {
        if (t.hasSelector()) {
            return Labels.selects(t.selector().matchLabels(), proxy.labels());
        }
        String gateway = proxy.labels().get("gateway.networking.k8s.io/gateway-name");
        if (gateway == null) {
            return false;
        }
        if (t.targetRef() != null && gateway.equals(t.targetRef().name())) {
            return true;
        }
        for (var ref : t.targetRefs()) {
            if (gateway.equals(ref.name())) {
                return true;
            }
        }
        return false;
    }

    /**
     * Whether listeners depend on the proxy's labels through telemetry: some Telemetry selects workloads by label
     * (or a Gateway by its label), or tracing may be on (MeshConfig {@code defaultProviders.tracing} or some
     * Telemetry {@code tracing}), whose Istio tags and OpenTelemetry {@code service_name} come from the labels.
     */
    static boolean dependsOnLabels(MeshSnapshot snapshot) {
        if (!snapshot.meshConfig().defaultTracingProviders().isEmpty()) {
            return true;
        }
        for (Config<Telemetry> c : snapshot.config().<Telemetry>of(ConfigKind.TELEMETRY)) {
            if (c.spec().hasSelector() || c.spec().targetRef() != null || !c.spec().targetRefs().isEmpty()
                    || !c.spec().tracing().isEmpty()) {
                return true;
            }
        }
        return false;
    }

    private static List<String> names(List<Telemetry.ProviderRef> refs) {
        List<String> out = new ArrayList<>(refs.size());
        for (Telemetry.ProviderRef r : refs) {
            out.add(r.name());
        }
        return out;
    }

    private static MeshConfig.ExtensionProvider provider(MeshConfig mesh, String name, String use) {
        MeshConfig.ExtensionProvider p = mesh.telemetryProvider(name);
        if (p == null) {
            warnOnce("Telemetry " + use + " provider " + name + ": not in MeshConfig extensionProviders; ignored");
        }
        return p;
    }

    // ---------------------------------------------------------------------------------------------------------
    // Metrics

    private static final class MetricOverride {
        Boolean disabled;
        final Map<String, Telemetry.TagOverride> tags = new TreeMap<>();
    }

    /**
     * The {@code value} of the {@code istio.stats} filter's {@code stats.PluginConfig} for a listener of
     * {@code mode}, or empty when no Prometheus provider is in scope or all metrics are disabled (no filter).
     * Without any Telemetry and with the default providers this is the empty config.
     */
    static Optional<Struct> statsConfig(MeshSnapshot snapshot, ProxyNode proxy, Mode mode) {
        MeshConfig mesh = snapshot.meshConfig();
        List<Telemetry.Metrics> metrics = new ArrayList<>();
        for (Config<Telemetry> c : applicable(snapshot, proxy)) {
            for (Telemetry.Metrics m : c.spec().metrics()) {
                if (m != null) {
                    metrics.add(m);
                }
            }
        }
        List<String> defaults = mesh.defaultMetricsProviders();
        List<String> providerNames = defaults;
        for (Telemetry.Metrics m : metrics) {
            if (!m.providers().isEmpty()) {
                providerNames = names(m.providers());
            }
        }
        Set<String> inScope = new HashSet<>(providerNames);
        Map<String, Map<Mode, Map<String, MetricOverride>>> providers = new TreeMap<>();
        if (metrics.isEmpty()) {
            for (String dp : defaults) {
                providers.put(dp, new EnumMap<>(Mode.class));
            }
        }
        Set<String> disabledAll = new HashSet<>();
        List<String> parent = defaults;
        for (Telemetry.Metrics m : metrics) {
            List<String> names = m.providers().isEmpty() ? parent : names(m.providers());
            parent = names;
            for (String provider : names) {
                if (!inScope.contains(provider)) {
                    continue;
                }
                Map<Mode, Map<String, MetricOverride>> byMode = providers.computeIfAbsent(provider,
                        k -> new EnumMap<>(Mode.class));
                for (Telemetry.MetricsOverrides o : m.overrides()) {
                    if (o == null) {
                        continue;
                    }
                    String metric = o.match() == null || o.match().metric() == null ? "ALL_METRICS"
                            : o.match().metric();
                    if (metric.equals("ALL_METRICS") && Boolean.TRUE.equals(o.disabled())) {
                        disabledAll.add(provider);
                        continue;
                    }
                    disabledAll.remove(provider);
                    List<String> metricNames = metric.equals("ALL_METRICS") ? ALL_METRICS : List.of(metric);
                    String oMode = o.match() == null ? null : o.match().mode();
                    for (Mode md : Mode.values()) {
                        if (!md.matches(oMode)) {
                            continue;
                        }
                        for (String name : metricNames) {
                            MetricOverride mo = byMode.computeIfAbsent(md, k -> new TreeMap<>())
                                    .computeIfAbsent(name, k -> new MetricOverride());
                            if (o.disabled() != null) {
                                mo.disabled = o.disabled();
                            }
                            mo.tags.putAll(o.tagOverrides());
                        }
                    }
                }
            }
        }
        for (Map.Entry<String, Map<Mode, Map<String, MetricOverride>>> e : providers.entrySet()) {
            MeshConfig.ExtensionProvider p = provider(mesh, e.getKey(), "metrics");
            if (p == null) {
                continue;
            }
            if (p.prometheus() == null) {
                warnOnce("Telemetry metrics provider " + e.getKey() + " (" + p.kind() + "): only prometheus "
                        + "providers are supported; ignored");
                continue;
            }
            if (disabledAll.contains(e.getKey())) {
                return Optional.empty();
            }
            return Optional.of(pluginConfig(e.getValue().getOrDefault(mode, Map.of())));
        }
        return Optional.empty();
    }

    private static Struct pluginConfig(Map<String, MetricOverride> overrides) {
        Struct.Builder value = Struct.newBuilder();
        if (overrides.isEmpty()) {
            return value.build();
        }
        ListValue.Builder list = ListValue.newBuilder();
        Map<String, MetricOverride> byPrometheusName = new TreeMap<>();
        overrides.forEach((k, v) -> byPrometheusName.put(METRIC_NAMES.get(k), v));
        for (Map.Entry<String, MetricOverride> e : byPrometheusName.entrySet()) {
            Struct.Builder mc = Struct.newBuilder().putFields("name", str(e.getKey()));
            if (Boolean.TRUE.equals(e.getValue().disabled)) {
                mc.putFields("drop", Value.newBuilder().setBoolValue(true).build());
            }
            Struct.Builder dims = Struct.newBuilder();
            ListValue.Builder remove = ListValue.newBuilder();
            for (Map.Entry<String, Telemetry.TagOverride> t : e.getValue().tags.entrySet()) {
                Telemetry.TagOverride to = t.getValue();
                if (to != null && "REMOVE".equals(to.operation())) {
                    // A label that is not a standard one was only ever added by a dimension: dropping it is enough.
                    if (IstioMetrics.ALL_TAGS.contains(t.getKey())) {
                        remove.addValues(str(t.getKey()));
                    }
                } else if (to != null) {
                    dims.putFields(t.getKey(), str(to.value()));
                }
            }
            if (dims.getFieldsCount() > 0) {
                mc.putFields("dimensions", Value.newBuilder().setStructValue(dims).build());
            }
            if (remove.getValuesCount() > 0) {
                mc.putFields("tags_to_remove", Value.newBuilder().setListValue(remove).build());
            }
            list.addValues(Value.newBuilder().setStructValue(mc));
        }
        return value.putFields("metrics", Value.newBuilder().setListValue(list).build()).build();
    }

    private static Value str(String s) {
        return Value.newBuilder().setStringValue(s).build();
    }

    // ---------------------------------------------------------------------------------------------------------
    // Access logging

    /**
     * The access logs of a listener of {@code mode}, or empty when no Telemetry logging and no
     * {@code defaultProviders.accessLogging} apply (then MeshConfig {@code accessLogFile} does); an empty list
     * means logging is off.
     */
    static Optional<List<AccessLog>> accessLogs(MeshSnapshot snapshot, ProxyNode proxy, Mode mode) {
        MeshConfig mesh = snapshot.meshConfig();
        List<List<Telemetry.AccessLogging>> levels = new ArrayList<>();
        for (Config<Telemetry> c : applicable(snapshot, proxy)) {
            if (!c.spec().accessLogging().isEmpty()) {
                levels.add(c.spec().accessLogging());
            }
        }
        List<String> defaults = mesh.defaultAccessLoggingProviders();
        if (levels.isEmpty() && defaults.isEmpty()) {
            return Optional.empty();
        }
        Map<String, Telemetry.Filter> providers = new TreeMap<>();
        if (levels.isEmpty()) {
            for (String dp : defaults) {
                providers.put(dp, null);
            }
        } else {
            Set<String> inScope = new LinkedHashSet<>(defaults);
            for (List<Telemetry.AccessLogging> level : levels) {
                Set<String> named = new LinkedHashSet<>();
                for (Telemetry.AccessLogging a : level) {
                    if (a != null) {
                        named.addAll(names(a.providers()));
                    }
                }
                if (!named.isEmpty()) {
                    inScope = named;
                }
            }
            List<String> parent = defaults;
            for (List<Telemetry.AccessLogging> level : levels) {
                for (Telemetry.AccessLogging a : level) {
                    if (a == null) {
                        continue;
                    }
                    List<String> names = a.providers().isEmpty() ? parent : names(a.providers());
                    parent = names;
                    if (!mode.matches(a.match() == null ? null : a.match().mode())) {
                        continue;
                    }
                    for (String provider : names) {
                        if (!inScope.contains(provider)) {
                            continue;
                        }
                        if (Boolean.TRUE.equals(a.disabled())) {
                            providers.remove(provider);
                        } else {
                            providers.put(provider, a.filter());
                        }
                    }
                }
            }
        }
        List<AccessLog> out = new ArrayList<>();
        for (Map.Entry<String, Telemetry.Filter> e : providers.entrySet()) {
            MeshConfig.ExtensionProvider p = provider(mesh, e.getKey(), "accessLogging");
            if (p == null) {
                continue;
            }
            AccessLog.Builder log;
            if (p.envoyFileAccessLog() != null) {
                log = fileAccessLog(p.envoyFileAccessLog());
            } else if (p.envoyOtelAls() != null) {
                warnOnce("Telemetry accessLogging provider " + e.getKey() + " (envoyOtelAls): jmesh proxies have no "
                        + "OpenTelemetry access log sink; not configured");
                continue;
            } else {
                warnOnce("Telemetry accessLogging provider " + e.getKey() + " (" + p.kind() + "): not an access log "
                        + "provider (expected: envoyFileAccessLog); ignored");
                continue;
            }
            if (e.getValue() != null && e.getValue().expression() != null) {
                log.setFilter(AccessLogFilter.newBuilder().setExtensionFilter(ExtensionFilter.newBuilder()
                        .setName(CEL_FILTER).setTypedConfig(Protos.any(ExpressionFilter.newBuilder()
                                .setExpression(e.getValue().expression()).build()))));
            }
            out.add(log.build());
        }
        return Optional.of(List.copyOf(out));
    }

    /** Istio's {@code envoyFileAccessLog}: the path ({@code /dev/stdout} when empty), its text or JSON format. */
    static AccessLog.Builder fileAccessLog(MeshConfig.EnvoyFileAccessLogProvider p) {
        FileAccessLog.Builder file = FileAccessLog.newBuilder()
                .setPath(p.path() == null || p.path().isEmpty() ? "/dev/stdout" : p.path());
        MeshConfig.LogFormat f = p.logFormat();
        if (f != null && f.labels() != null && !f.labels().isEmpty()) {
            Struct.Builder json = Struct.newBuilder();
            new TreeMap<>(f.labels()).forEach((k, v) -> json.putFields(k, str(String.valueOf(v))));
            file.setLogFormat(SubstitutionFormatString.newBuilder().setJsonFormat(json));
        } else {
            String text = f != null && f.text() != null && !f.text().isEmpty() ? f.text() : ISTIO_TEXT_FORMAT;
            file.setLogFormat(SubstitutionFormatString.newBuilder().setTextFormatSource(DataSource.newBuilder()
                    .setInlineString(text.endsWith("\n") ? text : text + "\n")));
        }
        return AccessLog.newBuilder().setName("envoy.access_loggers.file").setTypedConfig(Protos.any(file.build()));
    }

    // ---------------------------------------------------------------------------------------------------------
    // Tracing

    private static final class TracingSpec {
        String provider;
        boolean disabled;
        Double randomSamplingPercentage;
        Map<String, Telemetry.CustomTag> customTags = Map.of();
        boolean istioTags = true;
    }

    /**
     * The HTTP connection manager's {@code tracing} for a listener of {@code mode}, as Istio's
     * {@code configureTracingFromTelemetry}; empty when no provider applies, span reporting is disabled, or the
     * provider cannot be used (not zipkin or opentelemetry, or its service is unknown; warned).
     */
    static Optional<HttpConnectionManager.Tracing> tracing(MeshSnapshot snapshot, ProxyNode proxy, Mode mode) {
        MeshConfig mesh = snapshot.meshConfig();
        List<Telemetry.Tracing> tracing = new ArrayList<>();
        for (Config<Telemetry> c : applicable(snapshot, proxy)) {
            for (Telemetry.Tracing t : c.spec().tracing()) {
                if (t != null) {
                    tracing.add(t);
                }
            }
        }
        List<String> defaults = mesh.defaultTracingProviders();
        if (tracing.isEmpty() && defaults.isEmpty()) {
            return Optional.empty();
        }
        TracingSpec spec = new TracingSpec();
        if (!defaults.isEmpty()) {
            spec.provider = defaults.get(0);
        }
        for (Telemetry.Tracing t : tracing) {
            if (!mode.matches(t.match() == null ? null : t.match().mode())) {
                continue;
            }
            if (!t.providers().isEmpty()) {
                spec.provider = t.providers().get(0).name();
            }
            if (t.disableSpanReporting() != null) {
                spec.disabled = t.disableSpanReporting();
            }
            if (t.customTags() != null) {
                spec.customTags = t.customTags();
            }
            if (t.randomSamplingPercentage() != null) {
                spec.randomSamplingPercentage = t.randomSamplingPercentage();
            }
            if (t.enableIstioTags() != null) {
                spec.istioTags = t.enableIstioTags();
            }
        }
        if (spec.provider == null || spec.disabled) {
            return Optional.empty();
        }
        MeshConfig.ExtensionProvider p = provider(mesh, spec.provider, "tracing");
        if (p == null) {
            return Optional.empty();
        }
        HttpConnectionManager.Tracing.Builder out = HttpConnectionManager.Tracing.newBuilder();
        io.envoyproxy.envoy.config.trace.v3.Tracing.Http.Builder http =
                io.envoyproxy.envoy.config.trace.v3.Tracing.Http.newBuilder();
        Integer maxTagLength;
        if (p.zipkin() != null) {
            MeshConfig.ZipkinTracingProvider z = p.zipkin();
            String host = serviceHost(snapshot, z.service(), z.port(), spec.provider);
            if (host == null) {
                return Optional.empty();
            }
            http.setName(ZIPKIN).setTypedConfig(Protos.any(ZipkinConfig.newBuilder()
                    .setCollectorCluster(ClusterGenerator.outboundName(z.port(), null, host))
                    .setCollectorEndpoint(z.path() == null || z.path().isEmpty() ? "/api/v2/spans" : z.path())
                    .setCollectorEndpointVersion(ZipkinConfig.CollectorEndpointVersion.HTTP_JSON)
                    .setCollectorHostname(host)
                    .setTraceId128Bit(!Boolean.TRUE.equals(z.enable64bitTraceId()))
                    .setSharedSpanContext(BoolValue.of(false))
                    .build()));
            maxTagLength = z.maxTagLength();
        } else if (p.opentelemetry() != null) {
            MeshConfig.OpenTelemetryTracingProvider o = p.opentelemetry();
            String host = serviceHost(snapshot, o.service(), o.port(), spec.provider);
            if (host == null) {
                return Optional.empty();
            }
            String cluster = ClusterGenerator.outboundName(o.port(), null, host);
            OpenTelemetryConfig.Builder oc = OpenTelemetryConfig.newBuilder().setServiceName(serviceName(proxy));
            if (o.http() != null) {
                String path = o.http().path() == null ? "" : o.http().path();
                HttpUri.Builder uri = HttpUri.newBuilder()
                        .setUri(host + (path.startsWith("/") || path.isEmpty() ? path : "/" + path))
                        .setCluster(cluster);
                if (o.http().timeout() != null) {
                    try {
                        java.time.Duration d = io.jmesh.discovery.config.ConfigValidator.parseDuration(
                                o.http().timeout(), "timeout", java.time.Duration.ZERO);
                        uri.setTimeout(com.google.protobuf.Duration.newBuilder().setSeconds(d.getSeconds())
                                .setNanos(d.getNano()));
                    } catch (io.jmesh.proxy.config.ConfigException e) {
                        warnOnce("Telemetry tracing provider " + spec.provider + ": http.timeout " + o.http().timeout()
                                + " is not a duration; none set");
                    }
                }
                oc.setHttpService(HttpService.newBuilder().setHttpUri(uri));
            } else {
                oc.setGrpcService(GrpcService.newBuilder().setEnvoyGrpc(GrpcService.EnvoyGrpc.newBuilder()
                        .setClusterName(cluster).setAuthority(host)));
            }
            http.setName(OPENTELEMETRY).setTypedConfig(Protos.any(oc.build()));
            maxTagLength = o.maxTagLength();
        } else {
            warnOnce("Telemetry tracing provider " + spec.provider + " (" + p.kind() + "): not supported (expected: "
                    + "zipkin or opentelemetry); no tracing configured");
            return Optional.empty();
        }
        double sampling = spec.randomSamplingPercentage != null ? spec.randomSamplingPercentage
                : mesh.defaultTracingSampling();
        out.setClientSampling(Percent.newBuilder().setValue(100.0))
                .setRandomSampling(Percent.newBuilder().setValue(sampling))
                .setOverallSampling(Percent.newBuilder().setValue(100.0))
                .setProvider(http);
        if (maxTagLength != null && maxTagLength > 0) {
            out.setMaxPathTagLength(UInt32Value.of(maxTagLength));
        }
        out.addAllCustomTags(customTags(spec, proxy, mesh));
        return Optional.of(out.build());
    }

    /** The host of a provider's {@code service} ({@code host} or {@code namespace/host}), or null (warned). */
    private static String serviceHost(MeshSnapshot snapshot, String service, Integer port, String provider) {
        if (service == null || service.isEmpty() || port == null || port <= 0) {
            warnOnce("Telemetry tracing provider " + provider + ": service and port are required; no tracing "
                    + "configured");
            return null;
        }
        String host = service.contains("/") ? service.substring(service.indexOf('/') + 1) : service;
        if (snapshot.service(host) == null) {
            warnOnce("Telemetry tracing provider " + provider + ": service " + service + " not found in the registry;"
                    + " no tracing configured");
            return null;
        }
        return host;
    }

    /** The OpenTelemetry {@code service_name}: the workload's canonical service and namespace, as Istio's. */
    private static String serviceName(ProxyNode proxy) {
        return canonicalService(proxy) + "." + proxy.namespace();
    }

    /**
     * The workload's canonical service from its labels (the injector's order), else {@code unknown} as Istio's
     * {@code buildServiceTags}: never the pod name, which is not in {@link XdsCache}'s key (labels and namespace are).
     */
    private static String canonicalService(ProxyNode proxy) {
        Map<String, String> l = proxy.labels();
        String s = l.getOrDefault("service.istio.io/canonical-name", l.getOrDefault("app.kubernetes.io/name",
                l.get("app")));
        return s != null && !s.isEmpty() ? s : "unknown";
    }

    private static List<CustomTag> customTags(TracingSpec spec, ProxyNode proxy, MeshConfig mesh) {
        Map<String, CustomTag> tags = new TreeMap<>();
        if (spec.istioTags) {
            Map<String, String> l = proxy.labels();
            String revision = l.getOrDefault("service.istio.io/canonical-revision",
                    l.getOrDefault("app.kubernetes.io/version", l.getOrDefault("version", "latest")));
            Object meshId = mesh.defaultConfig().get("meshId");
            literal(tags, "istio.canonical_revision", revision);
            literal(tags, "istio.canonical_service", canonicalService(proxy));
            literal(tags, "istio.mesh_id", meshId != null ? meshId.toString() : mesh.trustDomain());
            literal(tags, "istio.namespace", proxy.namespace());
        }
        for (Map.Entry<String, Telemetry.CustomTag> e : new TreeMap<>(spec.customTags).entrySet()) {
            Telemetry.CustomTag t = e.getValue();
            CustomTag.Builder b = CustomTag.newBuilder().setTag(e.getKey());
            if (t.literal() != null) {
                b.setLiteral(CustomTag.Literal.newBuilder().setValue(t.literal().value()));
            } else if (t.environment() != null) {
                CustomTag.Environment.Builder env = CustomTag.Environment.newBuilder().setName(t.environment().name());
                if (t.environment().defaultValue() != null) {
                    env.setDefaultValue(t.environment().defaultValue());
                }
                b.setEnvironment(env);
            } else if (t.header() != null) {
                CustomTag.Header.Builder h = CustomTag.Header.newBuilder().setName(t.header().name());
                if (t.header().defaultValue() != null) {
                    h.setDefaultValue(t.header().defaultValue());
                }
                b.setRequestHeader(h);
            }
            tags.put(e.getKey(), b.build());
        }
        return new ArrayList<>(tags.values());
    }

    private static void literal(Map<String, CustomTag> tags, String tag, String value) {
        tags.put(tag, CustomTag.newBuilder().setTag(tag).setLiteral(CustomTag.Literal.newBuilder().setValue(value))
                .build());
    }
}
