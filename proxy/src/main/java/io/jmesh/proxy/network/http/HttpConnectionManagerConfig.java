package io.jmesh.proxy.network.http;

import java.util.List;
import java.util.function.Function;
import java.util.function.Supplier;

import com.google.protobuf.util.Durations;

import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager.CodecType;
import io.jmesh.proxy.config.ConfigException;
import io.jmesh.proxy.extension.ExtensionContext;
import io.jmesh.proxy.extension.ExtensionRegistry;
import io.jmesh.proxy.extension.ServerLifecycle;
import io.jmesh.proxy.filter.HttpFilterFactory;
import io.jmesh.proxy.filter.HttpFilterRegistry;
import io.jmesh.proxy.router.RouteTable;
import io.jmesh.proxy.telemetry.Counter;
import io.jmesh.proxy.telemetry.Gauge;
import io.jmesh.proxy.telemetry.Histogram;
import io.jmesh.proxy.telemetry.Stats;
import io.jmesh.proxy.telemetry.accesslog.AccessLog;
import io.jmesh.proxy.telemetry.accesslog.AccessLogs;
import io.jmesh.proxy.upstream.ClusterManager;

/**
 * The validated form of Envoy's {@link HttpConnectionManager} for one filter chain, immutable except for the
 * route table of an RDS HCM.
 * Supported: inline {@code route_config} or {@code rds} over ADS (see {@link #setRouteTable}), {@code codec_type}, {@code stat_prefix},
 * {@code max_request_headers_kb}, {@code common_http_protocol_options.max_headers_count},
 * {@code stream_idle_timeout}, {@code request_timeout} (from the first byte of the request),
 * {@code request_headers_timeout},
 * {@code use_remote_address}, {@code server_name}, {@code generate_request_id},
 * {@code always_set_request_id_in_response}, {@code access_log},
 * {@code tracing} (see {@link io.jmesh.proxy.telemetry.tracing.HttpTracer}),
 * {@code local_reply_config} (see {@link LocalReply})
 * and {@code http_filters} ending with the router (the filters of {@link HttpFilterRegistry#DEFAULT}: fault, CORS
 * and any found with {@code ServiceLoader}; an unknown filter marked {@code is_optional} is skipped). Inline routes parse their
 * {@code typed_per_filter_config} with the same registry.
 */
public final class HttpConnectionManagerConfig {

    private static final org.slf4j.Logger logger = org.slf4j.LoggerFactory.getLogger(HttpConnectionManagerConfig.class);

    /** Envoy's default {@code max_request_headers_kb}. */
    public static final int DEFAULT_MAX_REQUEST_HEADERS_KB = 60;
    /** Envoy's default {@code stream_idle_timeout}: 5 minutes. */
    public static final long DEFAULT_STREAM_IDLE_TIMEOUT_MS = 300_000;
    /** Envoy's default {@code common_http_protocol_options.max_headers_count}. */
    public static final int DEFAULT_MAX_HEADERS_COUNT = 100;
    /** Request bodies up to this size are kept for retries (Envoy's default buffer limit, 1 MiB). */
    public static final int RETRY_BUFFER_LIMIT = 1 << 20;
    /**
     * What a stopped filter may hold before the stream fails (413 on requests, 500 on responses) or, for the
     * watermark statuses, before the sender is paused: Envoy's default per-connection buffer limit, 1 MiB.
     */
    public static final int DEFAULT_BUFFER_LIMIT = 1 << 20;

    final String statPrefix;
    final CodecType codecType;
    final int maxRequestHeadersBytes;
    final long streamIdleTimeoutMs;
    final long requestTimeoutMs;
    final long requestHeadersTimeoutMs;
    final int maxHeadersCount;
    final boolean useRemoteAddress;
    /** Which requests are internal ({@code internal_address_config}); external ones lose internal-only headers. */
    final InternalAddresses internalAddresses;
    final boolean generateRequestId;
    /** {@code always_set_request_id_in_response}: the request's x-request-id goes back in the response. */
    final boolean alwaysSetRequestIdInResponse;
    /** {@code forward_client_cert_details} / {@code set_current_client_cert_details}: the XFCC header. */
    final ForwardClientCert forwardClientCert;
    final String serverName;
    /** Read once per request; replaced by {@link #setRouteTable} when RDS delivers a new version. */
    volatile RouteTable routeTable;
    final String rdsRouteName;
    final List<HttpFilterFactory.PerStream> filters;
    final AccessLog accessLog;
    final Supplier<ClusterManager> clusters;
    final HcmStats stats;
    final java.util.Set<String> upgradeTypes;
    final LocalReply localReply;
    final int bufferLimit = DEFAULT_BUFFER_LIMIT;
    /** The HCM's {@code tracing}, null without one. */
    final io.jmesh.proxy.telemetry.tracing.HttpTracer tracer;

    private HttpConnectionManagerConfig(HttpConnectionManager proto, RouteTable routeTable, String rdsRouteName,
                                        List<HttpFilterFactory.PerStream> filters, AccessLog accessLog,
                                        Supplier<ClusterManager> clusters, Stats stats, LocalReply localReply,
                                        io.jmesh.proxy.telemetry.tracing.HttpTracer tracer,
                                        InternalAddresses internalAddresses) {
        this.internalAddresses = internalAddresses;
        this.localReply = localReply;
        this.tracer = tracer;
        this.statPrefix = proto.getStatPrefix();
        this.codecType = proto.getCodecType();
        this.maxRequestHeadersBytes = (proto.hasMaxRequestHeadersKb()
                ? proto.getMaxRequestHeadersKb().getValue() : DEFAULT_MAX_REQUEST_HEADERS_KB) * 1024;
        this.streamIdleTimeoutMs = proto.hasStreamIdleTimeout()
                ? Durations.toMillis(proto.getStreamIdleTimeout()) : DEFAULT_STREAM_IDLE_TIMEOUT_MS;
        this.requestTimeoutMs = proto.hasRequestTimeout() ? Durations.toMillis(proto.getRequestTimeout()) : 0;
        this.requestHeadersTimeoutMs = proto.hasRequestHeadersTimeout()
                ? Durations.toMillis(proto.getRequestHeadersTimeout()) : 0;
        this.maxHeadersCount = proto.getCommonHttpProtocolOptions().hasMaxHeadersCount()
                ? proto.getCommonHttpProtocolOptions().getMaxHeadersCount().getValue() : DEFAULT_MAX_HEADERS_COUNT;
        this.useRemoteAddress = proto.hasUseRemoteAddress() && proto.getUseRemoteAddress().getValue();
        this.generateRequestId = !proto.hasGenerateRequestId() || proto.getGenerateRequestId().getValue();
        this.alwaysSetRequestIdInResponse = proto.getAlwaysSetRequestIdInResponse();
        this.forwardClientCert = ForwardClientCert.of(proto);
        this.serverName = proto.getServerName().isEmpty() ? "envoy" : proto.getServerName();
        this.routeTable = routeTable;
        this.rdsRouteName = rdsRouteName;
        this.filters = filters;
        this.accessLog = accessLog;
        this.clusters = clusters;
        this.stats = new HcmStats(stats, statPrefix);
        java.util.Set<String> upgrades = new java.util.HashSet<>();
        for (HttpConnectionManager.UpgradeConfig u : proto.getUpgradeConfigsList()) {
            if (!u.hasEnabled() || u.getEnabled().getValue()) {
                upgrades.add(u.getUpgradeType().toLowerCase(java.util.Locale.ROOT));
            }
        }
        this.upgradeTypes = java.util.Set.copyOf(upgrades);
    }

    /** Whether {@code upgrade_configs} allows this Upgrade header value (Envoy answers 403 otherwise). */
    boolean upgradeAllowed(String upgrade) {
        return upgrade != null && upgradeTypes.contains(upgrade.trim().toLowerCase(java.util.Locale.ROOT));
    }

    /** Validates and builds an HCM with an inline {@code route_config}; {@code path} prefixes error messages. */
    public static HttpConnectionManagerConfig create(HttpConnectionManager proto, Supplier<ClusterManager> clusters,
                                                     Stats stats, String path) throws ConfigException {
        return create(proto, clusters, stats, path, null);
    }

    /**
     * Validates and builds; {@code path} prefixes error messages. {@code rds} gives the current route table of
     * an {@code rds.route_config_name} (null if RDS has not delivered it yet: the HCM then answers 404 until
     * {@link #setRouteTable} is called, as Envoy does for a route configuration it has not received);
     * a null {@code rds} means RDS is not available and an HCM with {@code rds} is an error.
     */
    public static HttpConnectionManagerConfig create(HttpConnectionManager proto, Supplier<ClusterManager> clusters,
                                                     Stats stats, String path, Function<String, RouteTable> rds)
            throws ConfigException {
        return create(proto, clusters, stats, path, rds, HttpFilterRegistry.DEFAULT);
    }

    /** As above, with the HTTP filters of {@code filterRegistry} (the extension registry's, adapted). */
    public static HttpConnectionManagerConfig create(HttpConnectionManager proto, Supplier<ClusterManager> clusters,
                                                     Stats stats, String path, Function<String, RouteTable> rds,
                                                     HttpFilterRegistry filterRegistry)
            throws ConfigException {
        return create(proto, clusters, stats, path, rds, filterRegistry, ExtensionRegistry.loadDefault(),
                ExtensionContext.of(clusters, stats, null, ServerLifecycle.NONE));
    }

    /**
     * As above, with the access loggers of {@code extensions}, whose factories get {@code context} (the listener's
     * extension context).
     */
    public static HttpConnectionManagerConfig create(HttpConnectionManager proto, Supplier<ClusterManager> clusters,
                                                     Stats stats, String path, Function<String, RouteTable> rds,
                                                     HttpFilterRegistry filterRegistry, ExtensionRegistry extensions,
                                                     ExtensionContext context)
            throws ConfigException {
        if (proto.getStatPrefix().isEmpty()) {
            throw new ConfigException(path + ".stat_prefix: \"\" (expected: a non-empty prefix)");
        }
        if (proto.getCodecType() == CodecType.HTTP3) {
            throw new ConfigException(path + ".codec_type: HTTP3 (expected: AUTO, HTTP1 or HTTP2)");
        }
        if (proto.hasMaxRequestHeadersKb()) {
            int kb = proto.getMaxRequestHeadersKb().getValue();
            if (kb < 1 || kb > 8192) {
                throw new ConfigException(path + ".max_request_headers_kb: " + kb + " (expected: 1..8192)");
            }
        }
        if (proto.getCommonHttpProtocolOptions().hasMaxHeadersCount()
                && proto.getCommonHttpProtocolOptions().getMaxHeadersCount().getValue() < 1) {
            throw new ConfigException(path + ".common_http_protocol_options.max_headers_count: "
                    + proto.getCommonHttpProtocolOptions().getMaxHeadersCount().getValue() + " (expected: >= 1)");
        }
        proto.getCommonHttpProtocolOptions().getAllFields().keySet().stream()
                .filter(f -> !f.getName().equals("max_headers_count"))
                .forEach(f -> logger.warn("{}.common_http_protocol_options.{}: not supported, ignored", path,
                        f.getName()));
        checkDuration(proto.hasRequestTimeout(), proto.getRequestTimeout(), path + ".request_timeout");
        checkDuration(proto.hasRequestHeadersTimeout(), proto.getRequestHeadersTimeout(),
                path + ".request_headers_timeout");
        RouteTable table;
        String rdsName = null;
        if (proto.hasRouteConfig()) {
            try {
                table = RouteTable.create(proto.getRouteConfig(), filterRegistry);
            } catch (ConfigException e) {
                throw e.under(path + ".route_config");
            }
        } else if (proto.hasRds() && rds != null) {
            rdsName = proto.getRds().getRouteConfigName();
            if (rdsName.isEmpty()) {
                throw new ConfigException(path + ".rds.route_config_name: \"\" (expected: a non-empty name)");
            }
            if (!proto.getRds().getConfigSource().hasAds()) {
                throw new ConfigException(path + ".rds.config_source: " + proto.getRds().getConfigSource()
                        .getConfigSourceSpecifierCase() + " (expected: ads)");
            }
            RouteTable current = rds.apply(rdsName);
            table = current != null ? current : EMPTY_ROUTES;
        } else if (proto.hasRds()) {
            throw new ConfigException(path + ".rds: (expected: an inline route_config; RDS needs dynamic_resources)");
        } else {
            throw new ConfigException(path + ": no route_config (expected: an inline route_config)");
        }
        List<HttpFilterFactory.PerStream> filters =
                filterRegistry.build(proto.getHttpFiltersList(), path + ".http_filters",
                        new HttpFilterFactory.Context() {
                            @Override
                            public Stats stats() {
                                return stats;
                            }

                            @Override
                            public String statPrefix() {
                                return proto.getStatPrefix();
                            }

                            @Override
                            public Supplier<ClusterManager> clusterManager() {
                                return clusters;
                            }

                            @Override
                            public io.netty.channel.EventLoopGroup eventLoopGroup() {
                                return context.eventLoopGroup();
                            }

                            @Override
                            public io.envoyproxy.envoy.config.core.v3.TrafficDirection trafficDirection() {
                                return context.trafficDirection();
                            }

                            @Override
                            public java.util.function.BooleanSupplier healthCheckFailed() {
                                ServerLifecycle lifecycle = context.lifecycle();
                                return lifecycle == null ? () -> false : lifecycle::healthCheckFailed;
                            }
                        });
        LocalReply localReply = proto.hasLocalReplyConfig()
                ? LocalReply.create(proto.getLocalReplyConfig(), path + ".local_reply_config") : LocalReply.DEFAULT;
        AccessLog log;
        try {
            log = AccessLogs.create(proto.getAccessLogList(), extensions, context);
        } catch (ConfigException e) {
            throw e.under(path); // the message starts with access_log[i]
        }
        io.jmesh.proxy.telemetry.tracing.HttpTracer tracer = io.jmesh.proxy.telemetry.tracing.HttpTracer.create(proto,
                context.trafficDirection(), clusters, stats, path);
        InternalAddresses internal = InternalAddresses.of(proto, path);
        return new HttpConnectionManagerConfig(proto, table, rdsName, filters, log, clusters, stats, localReply,
                tracer, internal);
    }

    private static void checkDuration(boolean present, com.google.protobuf.Duration d, String path)
            throws ConfigException {
        if (present && (d.getSeconds() < 0 || d.getNanos() < 0)) {
            throw new ConfigException(path + ": " + Durations.toString(d) + " (expected: >= 0s)");
        }
    }

    private static final RouteTable EMPTY_ROUTES;

    static {
        try {
            EMPTY_ROUTES = RouteTable.create(io.envoyproxy.envoy.config.route.v3.RouteConfiguration.getDefaultInstance());
        } catch (ConfigException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    /** The current route table; for an RDS HCM it changes with {@link #setRouteTable}. */
    public RouteTable routeTable() {
        return routeTable;
    }

    /** The {@code rds.route_config_name} this HCM follows, or null when its routes are inline. */
    public String rdsRouteName() {
        return rdsRouteName;
    }

    /**
     * Swaps the route table of an RDS HCM atomically: requests that have already been routed keep their route,
     * the next request reads the new table. Thread-safe.
     *
     * @throws IllegalStateException if the routes are inline
     */
    public void setRouteTable(RouteTable table) {
        if (rdsRouteName == null) {
            throw new IllegalStateException("route_config is inline, not RDS");
        }
        this.routeTable = java.util.Objects.requireNonNull(table, "table");
    }

    public String statPrefix() {
        return statPrefix;
    }

    /** Envoy's {@code http.<stat_prefix>.*} stats, kept as fields so the hot path never looks them up. */
    static final class HcmStats {
        final Counter rqTotal;
        final Gauge rqActive;
        final Counter cxTotal;
        final Gauge cxActive;
        final Counter cxHttp1Total;
        final Counter cxHttp2Total;
        final Counter[] rqByClass = new Counter[6];
        final Counter rqTimeout;
        final Counter rqHeaderTimeout;
        /** Envoy's {@code http2.rx_messaging_error}: requests reset for breaking RFC 9113 section 8. */
        final Counter http2RxMessagingError;
        /** Envoy's {@code http2.header_overflow}: requests reset for more than max_headers_count fields. */
        final Counter http2HeaderOverflow;
        final Counter cxProtocolError;
        final Counter rqCompleted;
        final Counter shadowClusterNotFound;
        final Counter shadowBufferOverflow;
        final Counter rqTooLarge;
        final Counter rsTooLarge;
        final Counter rqIdleTimeout;
        /** Envoy's {@code downstream_rq_time}: milliseconds from the first request byte to the last response byte. */
        final Histogram rqTime;

        HcmStats(Stats stats, String prefix) {
            String p = "http." + prefix + ".";
            rqTotal = stats.counter(p + "downstream_rq_total");
            rqActive = stats.gauge(p + "downstream_rq_active");
            cxTotal = stats.counter(p + "downstream_cx_total");
            cxActive = stats.gauge(p + "downstream_cx_active");
            cxHttp1Total = stats.counter(p + "downstream_cx_http1_total");
            cxHttp2Total = stats.counter(p + "downstream_cx_http2_total");
            for (int i = 1; i <= 5; i++) {
                rqByClass[i] = stats.counter(p + "downstream_rq_" + i + "xx");
            }
            rqTimeout = stats.counter(p + "downstream_rq_timeout");
            rqHeaderTimeout = stats.counter(p + "downstream_rq_header_timeout");
            http2RxMessagingError = stats.counter("http2.rx_messaging_error");
            http2HeaderOverflow = stats.counter("http2.header_overflow");
            cxProtocolError = stats.counter(p + "downstream_cx_protocol_error");
            rqCompleted = stats.counter(p + "downstream_rq_completed");
            shadowClusterNotFound = stats.counter(p + "shadow_cluster_not_found");
            shadowBufferOverflow = stats.counter(p + "shadow_buffer_overflow");
            rqTooLarge = stats.counter(p + "downstream_rq_too_large");
            rsTooLarge = stats.counter(p + "rs_too_large");
            rqIdleTimeout = stats.counter(p + "downstream_rq_idle_timeout");
            rqTime = stats.histogram(p + "downstream_rq_time");
        }

        void recordStatus(int status) {
            int c = status / 100;
            if (c >= 1 && c <= 5) {
                rqByClass[c].inc();
            }
        }
    }
}
