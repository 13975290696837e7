package io.jmesh.proxy.telemetry.tracing;

import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.Supplier;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import com.google.protobuf.Any;
import com.google.protobuf.InvalidProtocolBufferException;

import io.envoyproxy.envoy.config.core.v3.TrafficDirection;
import io.envoyproxy.envoy.config.trace.v3.OpenTelemetryConfig;
import io.envoyproxy.envoy.config.trace.v3.Tracing;
import io.envoyproxy.envoy.config.trace.v3.ZipkinConfig;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import io.envoyproxy.envoy.type.tracing.v3.CustomTag;
import io.envoyproxy.envoy.type.v3.Percent;
import io.jmesh.proxy.config.ConfigException;
import io.jmesh.proxy.stream.ResponseFlag;
import io.jmesh.proxy.stream.StreamInfo;
import io.jmesh.proxy.telemetry.Counter;
import io.jmesh.proxy.telemetry.Stats;
import io.jmesh.proxy.upstream.ClusterManager;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.util.AsciiString;

/**
 * The tracer of one HTTP connection manager: Envoy's HCM {@code tracing} with its provider (or the bootstrap's).
 *
 * <p>Per request ({@link #startSpan}), as Envoy does: the trace decision is read from and written back into the
 * {@code x-request-id} UUID ({@link TraceReason}): a request not yet traced is traced when the client sent
 * {@code x-client-trace-id} (within {@code client_sampling}), when it carries {@code x-envoy-force-trace}, or when the
 * request id falls within {@code random_sampling}; {@code overall_sampling} then caps all of these. A sampling flag
 * sent by the caller ({@code x-b3-sampled}, {@code b3}, {@code traceparent}'s flags) wins over that decision. The
 * span continues the incoming trace (B3 or W3C) or starts one, and its context is written into the request headers
 * that go upstream (B3 multi headers for Zipkin, {@code traceparent}/{@code tracestate} for OpenTelemetry), sampled
 * or not. Only a sampled request gets a {@link Span}; it is named {@code ingress} or {@code egress <host>} after the
 * listener's {@code traffic_direction}, is a SERVER or CLIENT span, and ends in {@link #finishSpan} with Envoy's tags.
 *
 * <p>Zipkin's {@code shared_span_context} (default true): an ingress span reuses the caller's span id, as Zipkin
 * clients and servers share one span; false gives it an id of its own, child of the caller's. Egress spans and
 * OpenTelemetry spans are always children. Immutable and thread-safe; {@link #startSpan} and {@link #finishSpan} run
 * on the stream's event loop.
 */
public final class HttpTracer {

    private static final Logger logger = LoggerFactory.getLogger(HttpTracer.class);

    public static final AsciiString X_REQUEST_ID = AsciiString.cached("x-request-id");
    public static final AsciiString X_CLIENT_TRACE_ID = AsciiString.cached("x-client-trace-id");
    public static final AsciiString X_ENVOY_FORCE_TRACE = AsciiString.cached("x-envoy-force-trace");
    static final AsciiString X_ENVOY_DOWNSTREAM_SERVICE_CLUSTER =
            AsciiString.cached("x-envoy-downstream-service-cluster");

    public static final String ZIPKIN = "envoy.tracers.zipkin";
    public static final String OPENTELEMETRY = "envoy.tracers.opentelemetry";
    private static final String ZIPKIN_TYPE = "type.googleapis.com/envoy.config.trace.v3.ZipkinConfig";
    private static final String OTEL_TYPE = "type.googleapis.com/envoy.config.trace.v3.OpenTelemetryConfig";
    /** Envoy's default {@code max_path_tag_length}. */
    static final int DEFAULT_MAX_PATH_TAG_LENGTH = 256;

    /** Sampling fractions in parts of 10000, as Envoy turns a Percent into a FractionalPercent. */
    private final int randomSampling;
    private final int clientSampling;
    private final int overallSampling;
    private final boolean egress;
    private final int maxPathTagLength;
    private final List<Tag> customTags;
    private final String nodeId;
    private final String zone;
    /** Null: tracing decides and marks x-request-id but no provider exports (Envoy's null tracer). */
    private final Driver driver;
    /** Envoy's {@code <prefix>tracing.*}: why requests were (not) traced, indexed by {@link TraceReason#ordinal()}. */
    private final Counter[] reasons;

    private record Driver(Propagation.Format format, boolean sharedSpanContext, boolean traceId128,
                          SpanExporter exporter) {}

    /** A custom tag: a fixed value (literal, environment) or a request header with its default. */
    record Tag(String name, String value, AsciiString header) {}

    private HttpTracer(int randomSampling, int clientSampling, int overallSampling, boolean egress,
                       int maxPathTagLength, List<Tag> customTags, String nodeId, String zone, Driver driver,
                       Counter[] reasons) {
        this.reasons = reasons;
        this.randomSampling = randomSampling;
        this.clientSampling = clientSampling;
        this.overallSampling = overallSampling;
        this.egress = egress;
        this.maxPathTagLength = maxPathTagLength;
        this.customTags = customTags;
        this.nodeId = nodeId;
        this.zone = zone;
        this.driver = driver;
    }

    /**
     * Validates an HCM's {@code tracing}; null when the HCM has none. {@code path} is the HCM's path in the config
     * (errors name {@code path.tracing.<field>}). {@code direction} is the listener's {@code traffic_direction}
     * (OUTBOUND: egress spans; anything else: ingress).
     */
    public static HttpTracer create(HttpConnectionManager hcm, TrafficDirection direction, Supplier<ClusterManager> clusters,
                                    Stats stats, String path) throws ConfigException {
        return hcm.hasTracing() ? create(hcm.getTracing(), direction, clusters, stats, path + ".tracing",
                "http." + hcm.getStatPrefix() + ".") : null;
    }

    /**
     * Validates a {@code tracing} of the HCM's type (also the RPC proxy's, as Envoy's generic proxy has one);
     * {@code p} is its path in the config; the decision counters are {@code <statPrefix>tracing.random_sampling},
     * {@code service_forced}, {@code client_enabled} and {@code not_traceable} (Envoy's names), {@code statPrefix}
     * ending with a dot.
     */
    public static HttpTracer create(HttpConnectionManager.Tracing t, TrafficDirection direction,
                                    Supplier<ClusterManager> clusters, Stats stats, String p, String statPrefix)
            throws ConfigException {
        int random = percent(t.hasRandomSampling(), t.getRandomSampling(), p + ".random_sampling");
        int client = percent(t.hasClientSampling(), t.getClientSampling(), p + ".client_sampling");
        int overall = percent(t.hasOverallSampling(), t.getOverallSampling(), p + ".overall_sampling");
        int maxPath = t.hasMaxPathTagLength() ? t.getMaxPathTagLength().getValue() : DEFAULT_MAX_PATH_TAG_LENGTH;
        if (t.getVerbose()) {
            logger.warn("{}.verbose: not supported (spans carry no per-event annotations), ignored", p);
        }
        if (t.hasSpawnUpstreamSpan() && t.getSpawnUpstreamSpan().getValue()) {
            logger.warn("{}.spawn_upstream_span: not supported (one span per hop), ignored", p);
        }
        List<Tag> tags = tags(t.getCustomTagsList(), p);
        ServerTracing server = ServerTracing.of(stats);
        Tracing.Http provider = t.hasProvider() ? t.getProvider() : server.bootstrapProvider();
        String providerPath = t.hasProvider() ? p + ".provider" : "tracing.http";
        Driver driver = provider == null ? null : driver(provider, providerPath, clusters, stats, server);
        return new HttpTracer(random, client, overall, direction == TrafficDirection.OUTBOUND, maxPath,
                tags, server.node().getId(), server.node().getLocality().getZone(), driver,
                new Counter[] {
                    stats.counter(statPrefix + "tracing.not_traceable"),
                    stats.counter(statPrefix + "tracing.random_sampling"),
                    stats.counter(statPrefix + "tracing.service_forced"),
                    stats.counter(statPrefix + "tracing.client_enabled")});
    }

    /** Validates {@code custom_tags} at {@code p} ({@code p.custom_tags[i]} in errors). */
    static List<Tag> tags(List<CustomTag> list, String p) throws ConfigException {
        List<Tag> tags = new ArrayList<>();
        for (int i = 0; i < list.size(); i++) {
            CustomTag c = list.get(i);
            String cp = p + ".custom_tags[" + i + "]";
            if (c.getTag().isEmpty()) {
                throw new ConfigException(cp + ".tag: \"\" (expected: a non-empty tag name)");
            }
            switch (c.getTypeCase()) {
                case LITERAL -> tags.add(new Tag(c.getTag(), c.getLiteral().getValue(), null));
                case ENVIRONMENT -> {
                    String v = System.getenv(c.getEnvironment().getName());
                    String d = c.getEnvironment().getDefaultValue();
                    if (v != null || !d.isEmpty()) {
                        tags.add(new Tag(c.getTag(), v != null ? v : d, null));
                    }
                }
                case REQUEST_HEADER -> {
                    if (c.getRequestHeader().getName().isEmpty()) {
                        throw new ConfigException(cp + ".request_header.name: \"\" (expected: a header name)");
                    }
                    String d = c.getRequestHeader().getDefaultValue();
                    tags.add(new Tag(c.getTag(), d.isEmpty() ? null : d,
                            AsciiString.of(c.getRequestHeader().getName().toLowerCase(java.util.Locale.ROOT))));
                }
                case METADATA -> logger.warn("{}.metadata: metadata custom tags are not supported, tag {} ignored",
                        cp, c.getTag());
                default -> throw new ConfigException(cp + ": no type (expected: literal, environment, request_header "
                        + "or metadata)");
            }
        }
        return List.copyOf(tags);
    }

    private static Driver driver(Tracing.Http provider, String path, Supplier<ClusterManager> clusters, Stats stats,
                                 ServerTracing server) throws ConfigException {
        Any any = provider.getTypedConfig();
        String type = any.getTypeUrl();
        String name = provider.getName();
        if (type.isEmpty()) {
            throw new ConfigException(path + ".typed_config: (expected: a " + ZIPKIN_TYPE + " or " + OTEL_TYPE + ")");
        }
        try {
            if (type.equals(ZIPKIN_TYPE)) {
                return zipkin(any.unpack(ZipkinConfig.class), provider, path + ".typed_config", clusters, stats, server);
            }
            if (type.equals(OTEL_TYPE)) {
                return openTelemetry(any.unpack(OpenTelemetryConfig.class), provider, path + ".typed_config",
                        clusters, stats, server);
            }
        } catch (InvalidProtocolBufferException e) {
            throw new ConfigException(path + ".typed_config: " + e.getMessage());
        }
        throw new ConfigException(path + ".typed_config: " + type + " (name " + name + "; expected: " + ZIPKIN_TYPE
                + " for " + ZIPKIN + " or " + OTEL_TYPE + " for " + OPENTELEMETRY + ")");
    }

    private static Driver zipkin(ZipkinConfig z, Tracing.Http provider, String p, Supplier<ClusterManager> clusters,
                                 Stats stats, ServerTracing server) throws ConfigException {
        if (z.getCollectorCluster().isEmpty()) {
            throw new ConfigException(p + ".collector_cluster: \"\" (expected: the name of a cluster)");
        }
        if (z.getCollectorEndpoint().isEmpty()) {
            throw new ConfigException(p + ".collector_endpoint: \"\" (expected: a path such as /api/v2/spans)");
        }
        if (z.getCollectorEndpointVersion() != ZipkinConfig.CollectorEndpointVersion.HTTP_JSON) {
            throw new ConfigException(p + ".collector_endpoint_version: " + z.getCollectorEndpointVersion()
                    + " (expected: HTTP_JSON)");
        }
        if (!z.getCollectorHostname().isEmpty()) {
            logger.warn("{}.collector_hostname: not supported (the Host header is the collector's address), ignored", p);
        }
        if (z.getSplitSpansForRequest()) {
            logger.warn("{}.split_spans_for_request: not supported, ignored", p);
        }
        String service = server.node().getCluster().isEmpty() ? "envoy" : server.node().getCluster();
        SpanExporter exporter = server.exporter(provider, () -> new ZipkinExporter(clusters, z.getCollectorCluster(),
                z.getCollectorEndpoint(), service, stats));
        boolean shared = !z.hasSharedSpanContext() || z.getSharedSpanContext().getValue();
        return new Driver(Propagation.Format.B3, shared, z.getTraceId128Bit(), exporter);
    }

    private static Driver openTelemetry(OpenTelemetryConfig o, Tracing.Http provider, String p,
                                        Supplier<ClusterManager> clusters, Stats stats, ServerTracing server)
            throws ConfigException {
        if (o.hasHttpService()) {
            throw new ConfigException(p + ".http_service: OTLP over HTTP is not supported (expected: grpc_service)");
        }
        if (!o.hasGrpcService()) {
            throw new ConfigException(p + ".grpc_service: (expected: a grpc_service with envoy_grpc.cluster_name)");
        }
        if (!o.getGrpcService().hasEnvoyGrpc() || o.getGrpcService().getEnvoyGrpc().getClusterName().isEmpty()) {
            throw new ConfigException(p + ".grpc_service: " + o.getGrpcService().getTargetSpecifierCase()
                    + " (expected: envoy_grpc with a cluster_name)");
        }
        if (o.getResourceDetectorsCount() > 0) {
            logger.warn("{}.resource_detectors: not supported, ignored", p);
        }
        if (o.hasSampler()) {
            logger.warn("{}.sampler: not supported (the HCM's sampling decides), ignored", p);
        }
        String service = o.getServiceName().isEmpty() ? "unknown_service:envoy" : o.getServiceName();
        long timeoutMs = o.getGrpcService().hasTimeout()
                ? com.google.protobuf.util.Durations.toMillis(o.getGrpcService().getTimeout()) : 0;
        String cluster = o.getGrpcService().getEnvoyGrpc().getClusterName();
        SpanExporter exporter = server.exporter(provider,
                () -> new OtlpExporter(clusters, cluster, service, timeoutMs, stats));
        return new Driver(Propagation.Format.W3C, false, true, exporter);
    }

    private static int percent(boolean present, Percent p, String path) throws ConfigException {
        if (!present) {
            return 10_000;
        }
        double v = p.getValue();
        if (!(v >= 0 && v <= 100)) {
            throw new ConfigException(path + ".value: " + v + " (expected: 0..100)");
        }
        return (int) Math.round(v * 100);
    }

    /** Whether spans are exported (a provider is configured). */
    public boolean exports() {
        return driver != null;
    }

    /**
     * Decides whether the request is traced, marks the decision in {@code x-request-id}, continues or starts its
     * trace and writes the context into {@code headers} for the upstream. Returns the span of a sampled request, or
     * null. Call after {@code x-request-id} has been set (or not) and the request is routed: the {@code tracing} of
     * its route ({@code route}, null: none) replaces the connection manager's sampling fractions, as Envoy's
     * {@code mutateTracingRequestHeader} does.
     */
    public Span startSpan(HttpHeaders headers, StreamInfo info, RouteTracing route) {
        String rid = headers.get(X_REQUEST_ID);
        TraceReason status = TraceReason.of(rid);
        long stable = TraceReason.stableRandom(rid);
        if (stable >= 0) { // Envoy decides only for a request id it can read
            boolean clientTraceId = headers.contains(X_CLIENT_TRACE_ID);
            boolean forceTrace = headers.contains(X_ENVOY_FORCE_TRACE);
            TraceReason reason = route == null ? decide(status, stable, clientTraceId, forceTrace)
                    : decide(status, stable, clientTraceId, forceTrace, route.clientSampling, route.randomSampling,
                            route.overallSampling);
            if (reason != status) {
                headers.set(X_REQUEST_ID, reason.mark(rid));
            }
            status = reason;
        }
        reasons[status.ordinal()].inc();
        if (driver == null) {
            return null;
        }
        return start(TraceCarrier.of(headers), null, status.traced(), info,
                egress ? headers.get(HttpHeaderNames.HOST) : null);
    }

    /** Envoy's {@code mutateTracingRequestHeader}: the reason a request with this request id is traced. */
    private TraceReason decide(TraceReason status, long random, boolean clientTraceId, boolean forceTrace) {
        return decide(status, random, clientTraceId, forceTrace, clientSampling, randomSampling, overallSampling);
    }

    private static TraceReason decide(TraceReason status, long random, boolean clientTraceId, boolean forceTrace,
                                      int clientSampling, int randomSampling, int overallSampling) {
        TraceReason reason = status;
        if (reason == TraceReason.NOT_TRACEABLE) {
            if (clientTraceId && ThreadLocalRandom.current().nextInt(10_000) < clientSampling) {
                reason = TraceReason.CLIENT_FORCED;
            } else if (forceTrace) {
                reason = TraceReason.SERVICE_FORCED;
            } else if (random % 10_000 < randomSampling) {
                reason = TraceReason.SAMPLING;
            }
        }
        if (reason != TraceReason.NOT_TRACEABLE && random % 10_000 >= overallSampling) {
            reason = TraceReason.NOT_TRACEABLE;
        }
        return reason;
    }

    /**
     * Starts the span of an RPC call (Bolt, Dubbo), whose headers are the Bolt header map or the Dubbo
     * attachments: as for HTTP, but with no request id the decision is drawn at random ({@code random_sampling},
     * then {@code overall_sampling}; {@code x-envoy-force-trace} forces it). {@code fallback} gives the caller's
     * context when the carrier holds neither B3 nor W3C (SOFARPC's {@code rpc_trace_context}; asked only then), or
     * is null.
     */
    public Span startRpcSpan(TraceCarrier carrier, Supplier<TraceContext> fallback, StreamInfo info,
                             String service) {
        if (driver == null) {
            return null;
        }
        TraceReason reason = decide(TraceReason.NOT_TRACEABLE, ThreadLocalRandom.current().nextInt(10_000), false,
                carrier.get(X_ENVOY_FORCE_TRACE) != null);
        reasons[reason.ordinal()].inc();
        return start(carrier, fallback, reason.traced(), info, service);
    }

    /**
     * Continues or starts the trace and writes its context into {@code carrier}; the span of a sampled request,
     * named {@code ingress}, or {@code egress <target>} ({@code target}: the request's host or service, may be null;
     * the name is built only for a sampled request).
     */
    private Span start(TraceCarrier carrier, Supplier<TraceContext> fallback, boolean traced, StreamInfo info,
                       String target) {
        TraceContext incoming = Propagation.extract(carrier, driver.format());
        if (incoming == null && fallback != null) {
            incoming = fallback.get();
        }
        boolean sampled = incoming != null && incoming.sampled() != null ? incoming.isSampled() : traced;
        TraceContext ctx;
        boolean shared = false;
        if (incoming == null || incoming.traceIdLow() == 0 && incoming.traceIdHigh() == 0) {
            ctx = TraceContext.newRoot(driver.traceId128(), sampled);
            if (incoming != null && incoming.debug()) {
                ctx = new TraceContext(ctx.traceIdHigh(), ctx.traceIdLow(), ctx.spanId(), 0, true, true, null);
            }
        } else if (!egress && driver.sharedSpanContext()) {
            ctx = incoming.withSampled(sampled);
            shared = true;
        } else {
            ctx = incoming.child(sampled);
        }
        if (driver.format() == Propagation.Format.B3) {
            Propagation.injectB3(carrier, ctx);
        } else {
            Propagation.injectW3c(carrier, ctx);
        }
        if (!ctx.isSampled()) {
            return null;
        }
        String name = !egress ? "ingress" : target == null ? "egress" : "egress " + target;
        return new Span(ctx, name, egress ? Span.Kind.CLIENT : Span.Kind.SERVER, shared,
                info.startTimeMillis() * 1000, info.startNanos());
    }

    /**
     * Tags and ends a span when its stream is done (Envoy's {@code finalizeDownstreamSpan}) and hands it to the
     * exporter. {@code method}, {@code uri}, {@code scheme} and {@code headers} are the request's (null when the
     * request never got that far). The {@code custom_tags} of the request's route {@code tracing} ({@code route},
     * null: none) are added after the connection manager's: a route tag replaces one of the same name, as in Envoy.
     */
    public void finishSpan(Span span, StreamInfo info, String method, String uri, String scheme, HttpHeaders headers,
                           RouteTracing route) {
        tagProxy(span);
        if (headers != null) {
            span.tag("guid:x-request-id", headers.get(X_REQUEST_ID));
            String host = headers.get(HttpHeaderNames.HOST);
            String url = scheme + "://" + (host == null ? "" : host) + (uri == null ? "" : uri);
            span.tag("http.url", url.length() > maxPathTagLength ? url.substring(0, maxPathTagLength) : url);
            span.tag("http.method", method);
            String dc = headers.get(X_ENVOY_DOWNSTREAM_SERVICE_CLUSTER);
            span.tag("downstream_cluster", dc == null ? "-" : dc);
            String ua = headers.get(HttpHeaderNames.USER_AGENT);
            span.tag("user_agent", ua == null ? "-" : ua);
        }
        finishCommon(span, info, headers, route == null ? null : route.tags);
    }

    /**
     * Tags and ends the span of an RPC call: {@code rpc.service}, {@code rpc.method}, the call's protocol and
     * cluster, {@code rpc.status_code} (the protocol's status: Bolt {@code respStatus}, Dubbo status byte; null when
     * no response came) and {@code error} unless the protocol reported success, then exports it.
     */
    public void finishRpcSpan(Span span, StreamInfo info, String service, String method, Integer status,
                              boolean success) {
        tagProxy(span);
        span.tag("rpc.service", service);
        span.tag("rpc.method", method);
        if (status != null) {
            span.tag("rpc.status_code", Integer.toString(status));
        }
        if (!success) {
            span.tag("error", "true");
        }
        finishCommon(span, info, null, null);
    }

    private static void customTags(Span span, List<Tag> tags, HttpHeaders headers) {
        for (Tag t : tags) {
            String v = t.value();
            if (t.header() != null && headers != null) {
                String h = headers.get(t.header());
                v = h != null ? h : t.value();
            }
            span.tag(t.name(), v);
        }
    }

    /** The tags naming this proxy, first on every span: {@code component}, {@code node_id}, {@code zone}. */
    private void tagProxy(Span span) {
        span.tag("component", "proxy");
        if (!nodeId.isEmpty()) {
            span.tag("node_id", nodeId);
        }
        if (!zone.isEmpty()) {
            span.tag("zone", zone);
        }
    }

    private void finishCommon(Span span, StreamInfo info, HttpHeaders headers, List<Tag> routeTags) {
        span.tag("http.protocol", info.protocol());
        InetSocketAddress peer = info.downstreamRemoteAddress();
        if (peer != null) {
            span.tag("peer.address", peer.getAddress().getHostAddress());
        }
        span.tag("request_size", Long.toString(info.bytesReceived()));
        span.tag("response_size", Long.toString(info.bytesSent()));
        span.tag("response_flags", ResponseFlag.toShortString(info.responseFlags()));
        customTags(span, customTags, headers);
        if (routeTags != null) {
            customTags(span, routeTags, headers);
        }
        if (info.upstreamCluster() != null) {
            span.tag("upstream_cluster", info.upstreamCluster());
            span.tag("upstream_cluster.name", info.upstreamCluster());
        }
        if (info.upstreamHost() != null) {
            span.tag("upstream_address", info.upstreamHost());
        }
        if (headers != null) {
            int code = info.responseCode();
            span.tag("http.status_code", Integer.toString(code));
            if (code == 0 || code >= 500) {
                span.tag("error", "true");
            }
        }
        span.end(System.nanoTime());
        driver.exporter().export(span);
    }
}
