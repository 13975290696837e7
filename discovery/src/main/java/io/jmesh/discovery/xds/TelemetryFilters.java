package io.jmesh.discovery.xds;

import java.util.Optional;

import com.google.protobuf.Struct;
import com.google.protobuf.Value;

import io.envoyproxy.envoy.config.core.v3.TypedExtensionConfig;
import io.envoyproxy.envoy.config.listener.v3.Filter;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpFilter;
import io.jmesh.discovery.model.Endpoint;
import io.jmesh.discovery.model.Service;
import io.jmesh.discovery.model.ServicePort;

/**
 * Istio's standard metrics filters, as istiod puts them on sidecars and gateways: {@code istio.stats} with a
 * {@code stats.PluginConfig} (as an {@code xds.type.v3.TypedStruct}) on HTTP connection managers (before the
 * router), before {@code tcp_proxy} on TCP chains, and in the rpc_proxy's filters of Dubbo and Bolt chains. The
 * reporter is left {@code UNSPECIFIED}: the proxy infers it from the listener's direction ({@code destination}
 * inbound, {@code source} outbound). Gateways set {@code disable_host_header_fallback}, as Istio does, since their
 * Host header comes from outside the mesh.
 */
final class TelemetryFilters {

    static final String NAME = "istio.stats";
    static final String TYPE_URL = "type.googleapis.com/stats.PluginConfig";

    private TelemetryFilters() {}

    private static com.google.protobuf.Any config(boolean gateway) {
        Struct.Builder value = Struct.newBuilder();
        if (gateway) {
            value.putFields("disable_host_header_fallback", Value.newBuilder().setBoolValue(true).build());
        }
        return Protos.any(com.github.xds.type.v3.TypedStruct.newBuilder().setTypeUrl(TYPE_URL).setValue(value)
                .build());
    }

    /** The HTTP stats filter of the proxy's HTTP connection managers. */
    static HttpFilter httpStats(GenerationContext ctx) {
        return HttpFilter.newBuilder().setName(NAME)
                .setTypedConfig(config(ctx.proxy.type() == ProxyNode.Type.ROUTER)).build();
    }

    /** The TCP stats network filter, for a chain ending in {@code tcp_proxy}. */
    static Filter tcpStats() {
        return Filter.newBuilder().setName(NAME).setTypedConfig(config(false)).build();
    }

    /** The RPC stats filter of an rpc_proxy (Dubbo, Bolt). */
    static TypedExtensionConfig rpcStats() {
        return TypedExtensionConfig.newBuilder().setName(NAME).setTypedConfig(config(false)).build();
    }

    /**
     * The TCP stats filter for the sidecar's inbound chain of {@code port} when that chain ends in
     * {@code tcp_proxy} (the port's protocol is neither HTTP nor an RPC protocol, or its services disagree), as
     * {@link ListenerGenerator} decides it; empty otherwise.
     */
    static Optional<Filter> inboundTcpStats(GenerationContext ctx, int port) {
        String protocol = null;
        for (Endpoint e : ctx.ownEndpoints()) {
            if (e.port() != port) {
                continue;
            }
            String p = "tcp";
            Service s = ctx.snapshot.service(e.serviceHost());
            if (s != null) {
                for (ServicePort sp : s.ports()) {
                    if (sp.name().equals(e.servicePortName())) {
                        p = sp.isHttp() ? "http" : sp.rpcProtocol() != null ? sp.rpcProtocol() : "tcp";
                    }
                }
            }
            protocol = protocol == null || protocol.equals(p) ? p : "tcp";
        }
        return "tcp".equals(protocol) ? Optional.of(tcpStats()) : Optional.empty();
    }
}
