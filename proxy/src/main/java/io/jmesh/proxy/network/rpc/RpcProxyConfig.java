package io.jmesh.proxy.network.rpc;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.github.xds.type.v3.TypedStruct;
import com.google.protobuf.Any;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.util.Durations;
import com.google.protobuf.util.JsonFormat;

import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.jmesh.proxy.config.ConfigException;
import io.jmesh.proxy.config.EnvoyTypes;
import io.jmesh.proxy.extension.ExtensionContext;
import io.jmesh.proxy.extension.ExtensionRegistry;
import io.jmesh.proxy.extension.ServerLifecycle;
import io.jmesh.proxy.protocol.rpc.RpcCodec;
import io.jmesh.proxy.router.RouteTable;
import io.jmesh.proxy.telemetry.Counter;
import io.jmesh.proxy.telemetry.Stats;
import io.jmesh.proxy.telemetry.accesslog.AccessLog;
import io.jmesh.proxy.telemetry.accesslog.AccessLogs;
import io.jmesh.proxy.upstream.ClusterManager;
import io.netty.channel.ChannelPipeline;

/**
 * The validated, immutable configuration of the {@code jmesh.filters.network.rpc_proxy} network filter
 * for one filter chain, and the pipeline it installs on each downstream connection.
 *
 * <p>In an Envoy listener the filter's {@code typed_config} is an {@code xds.type.v3.TypedStruct} with
 * {@code type_url: type.googleapis.com/jmesh.filters.network.rpc_proxy.v1.RpcProxy} and a {@code value}
 * holding:
 * <ul>
 *   <li>{@code stat_prefix} (required): stats are {@code rpc.<stat_prefix>.*};</li>
 *   <li>{@code protocol} (required): {@code bolt} or {@code dubbo};</li>
 *   <li>{@code route_config} (required): an Envoy {@code RouteConfiguration}, matched against the RPC
 *       fields exposed as headers (see {@link RpcProtocol} and docs/rpc.md);</li>
 *   <li>{@code timeout} (optional, a duration such as {@code "3s"}): for requests that carry no timeout
 *       of their own; when unset, the route's {@code timeout} applies (Envoy's default 15 s);</li>
 *   <li>{@code max_frame_bytes} (optional, default 8 MiB): the largest frame accepted from either side;</li>
 *   <li>{@code access_log} (optional): Envoy {@code AccessLog}s, as in the HTTP connection manager;</li>
 *   <li>{@code filters} (optional): the RPC filter chain, Envoy generic proxy's way: a list of
 *       {@code {name, typed_config}} ending with the router {@code envoy.filters.generic.router}; absent means the
 *       router alone (see {@link RpcFilterRegistry});</li>
 *   <li>{@code tracing} (optional): as the HTTP connection manager's {@code tracing} (Envoy's generic proxy has the
 *       same field): one span per call, see {@link RpcTracingFilter}.</li>
 * </ul>
 * {@code protocol} names a codec of {@link RpcCodecs}: {@code bolt}, {@code dubbo}, or one loaded as an extension.
 */
public final class RpcProxyConfig {

    /** The filter's name in a listener. */
    public static final String FILTER_NAME = "jmesh.filters.network.rpc_proxy";
    /** The type URL inside the TypedStruct. */
    public static final String TYPE_URL = "type.googleapis.com/jmesh.filters.network.rpc_proxy.v1.RpcProxy";
    /** Default {@code max_frame_bytes}: 8 MiB, the codecs' default. */
    public static final int DEFAULT_MAX_FRAME_BYTES = 8 * 1024 * 1024;

    /**
     * Most distinct per-service and per-method counters per filter chain; names come from callers, so
     * further ones are counted under {@code service.overflow}.
     */
    public static final int MAX_SERVICE_STATS = 1024;

    private static final ObjectMapper JSON = new ObjectMapper();

    final String statPrefix;
    /** The built-in protocol, or null for a codec loaded as an extension. */
    final RpcProtocol protocol;
    final RpcCodec codec;
    /** The chain's filters before the router, in order; empty when the chain is the router alone. */
    final List<RpcFilterFactory.PerCall> filters;
    final RouteTable routeTable;
    final long defaultTimeoutMs;
    final int maxFrameBytes;
    final AccessLog accessLog;
    final Supplier<ClusterManager> clusters;
    final Stats stats;
    final Counter requestTotal;
    final Counter responseError;
    final Counter requestTimeout;
    final Counter localReply;
    final Counter heartbeat;
    final Counter oneway;
    final Counter cxProtocolError;
    final Counter cxTotal;
    private final String prefix;
    private final Map<String, Counter> serviceCounters = new ConcurrentHashMap<>();

    private RpcProxyConfig(String statPrefix, RpcCodec codec, List<RpcFilterFactory.PerCall> filters,
                           RouteTable routeTable, long defaultTimeoutMs, int maxFrameBytes, AccessLog accessLog,
                           Supplier<ClusterManager> clusters, Stats stats) {
        this.statPrefix = statPrefix;
        this.codec = codec;
        this.protocol = RpcProtocol.of(codec);
        this.filters = filters;
        this.routeTable = routeTable;
        this.defaultTimeoutMs = defaultTimeoutMs;
        this.maxFrameBytes = maxFrameBytes;
        this.accessLog = accessLog;
        this.clusters = clusters;
        this.stats = stats;
        prefix = "rpc." + statPrefix + '.';
        requestTotal = stats.counter(prefix + "request_total");
        responseError = stats.counter(prefix + "response_error");
        requestTimeout = stats.counter(prefix + "request_timeout");
        localReply = stats.counter(prefix + "local_reply");
        heartbeat = stats.counter(prefix + "heartbeat");
        oneway = stats.counter(prefix + "request_oneway");
        cxProtocolError = stats.counter(prefix + "downstream_cx_protocol_error");
        cxTotal = stats.counter(prefix + "downstream_cx_total");
    }

    /** Whether a filter's {@code typed_config} is this filter's TypedStruct. */
    public static boolean matches(Any typedConfig) {
        if (!typedConfig.is(TypedStruct.class)) {
            return false;
        }
        try {
            return TYPE_URL.equals(typedConfig.unpack(TypedStruct.class).getTypeUrl());
        } catch (InvalidProtocolBufferException e) {
            return false;
        }
    }

    /**
     * Validates and builds the configuration from the filter's {@code typed_config}; {@code path} names the
     * typed_config in errors, e.g. {@code listeners[0].filter_chains[0].filters[0].typed_config}.
     *
     * @throws ConfigException with {@code path.value.field: value (expected: ...)} on any invalid field
     */
    public static RpcProxyConfig create(Any typedConfig, Supplier<ClusterManager> clusters, Stats stats, String path)
            throws ConfigException {
        return create(typedConfig, ExtensionContext.of(clusters, stats, null, ServerLifecycle.NONE),
                ExtensionRegistry.loadDefault(), path);
    }

    /**
     * As {@link #create(Any, Supplier, Stats, String)}, with the RPC filters and access loggers of {@code registry}
     * and {@code context} handed to the RPC filter factories.
     */
    public static RpcProxyConfig create(Any typedConfig, ExtensionContext context, ExtensionRegistry registry,
                                        String path) throws ConfigException {
        final TypedStruct ts;
        try {
            ts = typedConfig.unpack(TypedStruct.class);
        } catch (InvalidProtocolBufferException e) {
            throw new ConfigException(path + ": " + typedConfig.getTypeUrl() + " (expected: an xds.type.v3.TypedStruct)");
        }
        if (!TYPE_URL.equals(ts.getTypeUrl())) {
            throw new ConfigException(path + ".type_url: " + ts.getTypeUrl() + " (expected: " + TYPE_URL + ")");
        }
        final JsonNode value;
        try {
            value = JSON.readTree(JsonFormat.printer().print(ts.getValue()));
        } catch (InvalidProtocolBufferException | com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new ConfigException(path + ".value: " + e.getMessage() + " (expected: a Struct)");
        }
        return create(value, context, registry, path + ".value");
    }

    /** Builds from the JSON form of the TypedStruct's {@code value}; {@code path} names it in errors. */
    static RpcProxyConfig create(JsonNode value, ExtensionContext server, ExtensionRegistry registry, String path)
            throws ConfigException {
        final Supplier<ClusterManager> clusters = server.clusterManager();
        final Stats stats = server.stats();
        final var names = value.fieldNames();
        while (names.hasNext()) {
            final String f = names.next();
            switch (f) {
                case "stat_prefix", "protocol", "route_config", "timeout", "max_frame_bytes", "access_log", "filters",
                     "tracing":
                    break;
                default:
                    throw new ConfigException(path + '.' + f + ": (expected: one of stat_prefix, protocol, "
                                              + "route_config, timeout, max_frame_bytes, access_log, filters, "
                                              + "tracing)");
            }
        }
        final JsonNode sp = value.get("stat_prefix");
        if (sp == null || !sp.isTextual() || sp.asText().isEmpty()) {
            throw new ConfigException(path + ".stat_prefix: " + sp + " (expected: a non-empty string)");
        }
        final JsonNode pn = value.get("protocol");
        final RpcCodec codec = pn != null && pn.isTextual() ? RpcCodecs.DEFAULT.get(pn.asText()) : null;
        if (codec == null) {
            throw new ConfigException(path + ".protocol: " + pn + " (expected: " + RpcCodecs.DEFAULT.describeNames()
                                      + ")");
        }
        final JsonNode rc = value.get("route_config");
        if (rc == null || !rc.isObject()) {
            throw new ConfigException(path + ".route_config: " + rc + " (expected: an Envoy RouteConfiguration)");
        }
        final RouteTable table;
        try {
            table = RouteTable.create(EnvoyTypes.PARSER.parse(rc, RouteConfiguration.newBuilder()).build());
        } catch (ConfigException e) {
            throw e.under(path + ".route_config");
        }
        long timeoutMs = 0;
        final JsonNode t = value.get("timeout");
        if (t != null) {
            try {
                if (!t.isTextual()) {
                    throw new java.text.ParseException("not a string", 0);
                }
                timeoutMs = Durations.toMillis(Durations.parse(t.asText()));
            } catch (java.text.ParseException e) {
                throw new ConfigException(path + ".timeout: " + t + " (expected: a duration such as \"3s\")");
            }
            if (timeoutMs < 0) {
                throw new ConfigException(path + ".timeout: " + t + " (expected: >= 0s)");
            }
        }
        int maxFrame = DEFAULT_MAX_FRAME_BYTES;
        final JsonNode mf = value.get("max_frame_bytes");
        if (mf != null) {
            if (!mf.isNumber() || !mf.canConvertToInt() || mf.asDouble() != mf.asInt() || mf.asInt() < 64) {
                throw new ConfigException(path + ".max_frame_bytes: " + mf + " (expected: an integer 64..2147483647)");
            }
            maxFrame = mf.asInt();
        }
        AccessLog log = AccessLog.NOOP;
        final JsonNode al = value.get("access_log");
        if (al != null) {
            if (!al.isArray()) {
                throw new ConfigException(path + ".access_log: " + al + " (expected: a list of AccessLog)");
            }
            final List<io.envoyproxy.envoy.config.accesslog.v3.AccessLog> logs = new ArrayList<>();
            for (int i = 0; i < al.size(); i++) {
                try {
                    logs.add(EnvoyTypes.PARSER.parse(al.get(i),
                            io.envoyproxy.envoy.config.accesslog.v3.AccessLog.newBuilder()).build());
                } catch (ConfigException e) {
                    throw e.under(path + ".access_log[" + i + ']');
                }
            }
            try {
                log = AccessLogs.create(logs, registry, server);
            } catch (ConfigException e) {
                throw e.under(path); // the message starts with access_log[i]
            }
        }
        final String statPrefix = sp.asText();
        final RpcFilterFactory.Context context = new RpcFilterFactory.Context() {
            @Override
            public Stats stats() {
                return stats;
            }

            @Override
            public Supplier<ClusterManager> clusterManager() {
                return clusters;
            }

            @Override
            public io.netty.channel.EventLoopGroup eventLoopGroup() {
                return server.eventLoopGroup();
            }

            @Override
            public ServerLifecycle lifecycle() {
                return server.lifecycle();
            }

            @Override
            public io.jmesh.proxy.tls.SecretManager secretManager() {
                return server.secretManager();
            }

            @Override
            public io.envoyproxy.envoy.config.core.v3.TrafficDirection trafficDirection() {
                return server.trafficDirection();
            }

            @Override
            public String statPrefix() {
                return statPrefix;
            }

            @Override
            public RpcCodec codec() {
                return codec;
            }
        };
        List<RpcFilterFactory.PerCall> filters =
                new RpcFilterRegistry(registry).build(value.get("filters"), path + ".filters", context);
        final JsonNode tr = value.get("tracing");
        if (tr != null) {
            final io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
                    .Tracing proto;
            try {
                proto = EnvoyTypes.PARSER.parse(tr, io.envoyproxy.envoy.extensions.filters.network
                        .http_connection_manager.v3.HttpConnectionManager.Tracing.newBuilder()).build();
            } catch (ConfigException e) {
                throw e.under(path + ".tracing");
            }
            final io.jmesh.proxy.telemetry.tracing.HttpTracer tracer = io.jmesh.proxy.telemetry.tracing.HttpTracer
                    .create(proto, server.trafficDirection(), clusters, stats, path + ".tracing",
                            "rpc." + sp.asText() + '.');
            if (tracer.exports()) { // without a provider a call has no span and no context to write
                final List<RpcFilterFactory.PerCall> traced = new ArrayList<>(filters.size() + 1);
                traced.add(request -> new RpcTracingFilter(tracer));
                traced.addAll(filters);
                filters = List.copyOf(traced);
            }
        }
        return new RpcProxyConfig(statPrefix, codec, filters, table, timeoutMs, maxFrame, log, clusters, stats);
    }

    /** The built-in protocol of the filter chain, or null when its codec was loaded as an extension. */
    public RpcProtocol protocol() {
        return protocol;
    }

    /** The codec of the filter chain. */
    public RpcCodec codec() {
        return codec;
    }

    /** {@code stat_prefix}. */
    public String statPrefix() {
        return statPrefix;
    }

    /** The route table built from {@code route_config}. */
    public RouteTable routeTable() {
        return routeTable;
    }

    /** The default timeout for requests without one, in milliseconds; 0 when the route's applies. */
    public long defaultTimeoutMillis() {
        return defaultTimeoutMs;
    }

    /** {@code max_frame_bytes}. */
    public int maxFrameBytes() {
        return maxFrameBytes;
    }

    /**
     * Adds the protocol's decoder and encoder and a new {@link RpcProxyHandler} to a downstream connection's
     * pipeline, after whatever is already there (TLS). Call from the channel's initializer.
     */
    public void initPipeline(ChannelPipeline pipeline) {
        pipeline.addLast("rpc_decoder", codec.newDecoder(maxFrameBytes));
        pipeline.addLast("rpc_encoder", codec.encoder());
        pipeline.addLast("rpc_proxy", new RpcProxyHandler(this));
    }

    /** {@code rpc.<stat_prefix>.service.<interface>.request_total}. */
    Counter serviceRequests(String iface) {
        if (serviceCounters.size() >= MAX_SERVICE_STATS && !serviceCounters.containsKey(iface)) {
            iface = "overflow";
        }
        return serviceCounters.computeIfAbsent(iface,
                i -> stats.counter(prefix + "service." + i + ".request_total"));
    }

    /** {@code rpc.<stat_prefix>.service.<interface>.method.<method>.request_total}. */
    Counter methodRequests(String iface, String method) {
        if (serviceCounters.size() >= MAX_SERVICE_STATS && !serviceCounters.containsKey(iface + '#' + method)) {
            iface = "overflow";
            method = "overflow";
        }
        final String i = iface;
        final String m = method;
        return serviceCounters.computeIfAbsent(iface + '#' + method,
                k -> stats.counter(prefix + "service." + i + ".method." + m + ".request_total"));
    }
}
