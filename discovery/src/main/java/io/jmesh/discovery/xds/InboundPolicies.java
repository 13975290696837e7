package io.jmesh.discovery.xds;

import io.envoyproxy.envoy.config.core.v3.TypedExtensionConfig;
import io.envoyproxy.envoy.config.listener.v3.Filter;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpFilter;

import java.util.ArrayList;
import java.util.List;

/**
 * The policy filters of a sidecar's inbound chain for one workload port, in Envoy's order: what
 * security.istio.io (authentication, then authorization) and telemetry.istio.io put in front of the
 * terminal filter. {@link ListenerGenerator} asks here for each inbound chain; each policy has its own
 * generator class and adds one line to the method of the chain kinds it acts on.
 *
 * <p>Order within a list is the order of the chain: authentication before authorization before stats, as
 * Istio builds it ({@code pilot/pkg/networking/core/.../httpfilters}).
 */
final class InboundPolicies {

    private InboundPolicies() {}

    /** HTTP filters placed before fault, CORS and the router of the inbound HCM on {@code port}. */
    static List<HttpFilter> httpFilters(GenerationContext ctx, int port) {
        List<HttpFilter> out = new ArrayList<>();
        out.addAll(RequestAuthnFilters.httpFilters(ctx));
        out.addAll(AuthorizationFilters.httpFilters(ctx, port));
        // telemetry last: after authentication and authorization, as Istio orders them
        out.addAll(TelemetryFilters.httpStats(ctx, true));
        return out;
    }

    /** Network filters placed before the terminal filter (tcp_proxy, HCM or rpc_proxy) of the chain on {@code port}. */
    static List<Filter> networkFilters(GenerationContext ctx, int port) {
        List<Filter> out = new ArrayList<>();
        out.addAll(AuthorizationFilters.networkFilters(ctx, port));
        // telemetry last: after authentication and authorization, as Istio orders them
        TelemetryFilters.inboundTcpStats(ctx, port).ifPresent(out::add);
        return out;
    }

    /** RPC filters (the rpc_proxy's {@code filters}, before its router) of the Dubbo or Bolt chain on {@code port}. */
    static List<TypedExtensionConfig> rpcFilters(GenerationContext ctx, int port) {
        List<TypedExtensionConfig> out = new ArrayList<>();
        out.addAll(AuthorizationFilters.rpcFilters(ctx, port));
        // telemetry last: after authentication and authorization, as Istio orders them
        out.addAll(TelemetryFilters.rpcStats(ctx, true));
        return out;
    }
}
