package io.jmesh.discovery.xds;

import java.util.List;
import java.util.Optional;

import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Struct;
import com.google.protobuf.Value;

import io.envoyproxy.envoy.config.accesslog.v3.AccessLog;
import io.envoyproxy.envoy.config.core.v3.DataSource;
import io.envoyproxy.envoy.config.core.v3.TypedExtensionConfig;
import io.envoyproxy.envoy.config.listener.v3.Filter;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpFilter;
import io.envoyproxy.envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy;

/**
 * The telemetry of a proxy's listeners, as istiod builds it from the Telemetry API and MeshConfig
 * ({@link TelemetryPolicy}): Istio's standard metrics filter {@code istio.stats} with a {@code stats.PluginConfig}
 * (as an {@code xds.type.v3.TypedStruct}) on HTTP connection managers (before the router), before {@code tcp_proxy}
 * on TCP chains, and in the rpc_proxy's filters of Dubbo and Bolt chains; the access logs of HTTP connection
 * managers, tcp_proxies and rpc_proxies; the HTTP connection managers' {@code tracing}. The reporter is left
 * {@code UNSPECIFIED}: the proxy infers it from the listener's direction ({@code destination} inbound,
 * {@code source} outbound). Gateways set {@code disable_host_header_fallback}, as Istio does, since their Host
 * header comes from outside the mesh.
 */
final class TelemetryFilters {

    static final String NAME = "istio.stats";
    static final String TYPE_URL = "type.googleapis.com/stats.PluginConfig";

    private TelemetryFilters() {}

    private static Optional<com.google.protobuf.Any> config(GenerationContext ctx, boolean inbound) {
        return ctx.telemetry(TelemetryPolicy.mode(inbound)).statsConfig().map(v -> {
            Struct.Builder value = v.toBuilder();
            if (ctx.proxy.type() == ProxyNode.Type.ROUTER) {
                value.putFields("disable_host_header_fallback", Value.newBuilder().setBoolValue(true).build());
            }
            return Protos.any(com.github.xds.type.v3.TypedStruct.newBuilder().setTypeUrl(TYPE_URL).setValue(value)
                    .build());
        });
    }

    /** The HTTP stats filter of an HTTP connection manager (none when metrics are off for the proxy). */
    static List<HttpFilter> httpStats(GenerationContext ctx, boolean inbound) {
        return config(ctx, inbound).map(c -> List.of(HttpFilter.newBuilder().setName(NAME).setTypedConfig(c).build()))
                .orElse(List.of());
    }

    /** The TCP stats network filter, for a chain ending in {@code tcp_proxy} (none when metrics are off). */
    static List<Filter> tcpStats(GenerationContext ctx, boolean inbound) {
        return config(ctx, inbound).map(c -> List.of(Filter.newBuilder().setName(NAME).setTypedConfig(c).build()))
                .orElse(List.of());
    }

    /** The RPC stats filter of an rpc_proxy (Dubbo, Bolt; none when metrics are off). */
    static List<TypedExtensionConfig> rpcStats(GenerationContext ctx, boolean inbound) {
        return config(ctx, inbound).map(c -> List.of(TypedExtensionConfig.newBuilder().setName(NAME)
                .setTypedConfig(c).build())).orElse(List.of());
    }

    /**
     * The TCP stats filter for the sidecar's inbound chain of {@code port} when that chain ends in
     * {@code tcp_proxy} (the port's protocol is neither HTTP nor an RPC protocol, or its services disagree), as
     * {@link ListenerGenerator} decides it; empty otherwise.
     */
    static Optional<Filter> inboundTcpStats(GenerationContext ctx, int port) {
        InboundPort p = ctx.inboundPorts().get(port);
        return p != null && "tcp".equals(p.protocol()) ? tcpStats(ctx, true).stream().findFirst() : Optional.empty();
    }

    /**
     * The access logs of a listener: the Telemetry API's ({@link TelemetryPolicy#accessLogs}), else MeshConfig
     * {@code accessLogFile} with {@code accessLogFormat} or Envoy's default format; empty when neither is set.
     */
    static List<AccessLog> accessLogs(GenerationContext ctx, boolean inbound) {
        Optional<List<AccessLog>> telemetry = ctx.telemetry(TelemetryPolicy.mode(inbound)).accessLogs();
        if (telemetry.isPresent()) {
            return telemetry.get();
        }
        String file = ctx.snapshot.meshConfig().accessLogFile();
        if (file.isEmpty()) {
            return List.of();
        }
        var log = io.envoyproxy.envoy.extensions.access_loggers.file.v3.FileAccessLog.newBuilder().setPath(file);
        String format = ctx.snapshot.meshConfig().accessLogFormat();
        if (!format.isEmpty()) {
            // MeshConfig accessLogFormat, as Istio writes it: a text format, one line per entry.
            log.setLogFormat(io.envoyproxy.envoy.config.core.v3.SubstitutionFormatString.newBuilder()
                    .setTextFormatSource(DataSource.newBuilder()
                            .setInlineString(format.endsWith("\n") ? format : format + "\n")));
        }
        return List.of(AccessLog.newBuilder().setName("envoy.access_loggers.file")
                .setTypedConfig(Protos.any(log.build())).build());
    }

    /** Sets the HTTP connection manager's {@code tracing} when the Telemetry API configures one. */
    static void tracing(GenerationContext ctx, boolean inbound, HttpConnectionManager.Builder hcm) {
        ctx.telemetry(TelemetryPolicy.mode(inbound)).tracing().ifPresent(hcm::setTracing);
    }

    /** {@code filter} (a tcp_proxy) with the listener's access logs added. */
    static Filter withAccessLogs(Filter filter, GenerationContext ctx, boolean inbound) {
        List<AccessLog> logs = accessLogs(ctx, inbound);
        if (logs.isEmpty() || !filter.getTypedConfig().is(TcpProxy.class)) {
            return filter;
        }
        try {
            TcpProxy tcp = filter.getTypedConfig().unpack(TcpProxy.class);
            return filter.toBuilder().setTypedConfig(Protos.any(tcp.toBuilder().addAllAccessLog(logs).build()))
                    .build();
        } catch (InvalidProtocolBufferException e) {
            throw new IllegalStateException("tcp_proxy written here does not parse", e);
        }
    }
}
