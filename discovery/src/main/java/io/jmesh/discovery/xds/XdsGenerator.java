package io.jmesh.discovery.xds;

import com.google.protobuf.Message;
import com.google.protobuf.TypeRegistry;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.extensions.filters.http.cors.v3.Cors;
import io.envoyproxy.envoy.extensions.filters.http.cors.v3.CorsPolicy;
import io.envoyproxy.envoy.extensions.filters.http.fault.v3.HTTPFault;
import io.envoyproxy.envoy.extensions.filters.http.router.v3.Router;
import io.envoyproxy.envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import io.envoyproxy.envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext;
import io.envoyproxy.envoy.extensions.upstreams.http.v3.HttpProtocolOptions;
import io.jmesh.discovery.model.MeshSnapshot;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Turns the mesh model into one proxy's Envoy resources (Istio's config generators). Pure: the
 * same proxy and snapshot give the same resources, sorted by name. Thread-safe and stateless; the
 * server calls it off gRPC's transport threads.
 */
public final class XdsGenerator {

    /** The types packed in {@code Any} fields of generated resources, for printing them as JSON. */
    public static final TypeRegistry TYPE_REGISTRY = TypeRegistry.newBuilder()
            .add(Cluster.getDescriptor())
            .add(ClusterLoadAssignment.getDescriptor())
            .add(Listener.getDescriptor())
            .add(RouteConfiguration.getDescriptor())
            .add(HttpConnectionManager.getDescriptor())
            .add(Router.getDescriptor())
            .add(HTTPFault.getDescriptor())
            .add(io.envoyproxy.envoy.extensions.filters.http.jwt_authn.v3.JwtAuthentication.getDescriptor())
            .add(io.jmesh.proxy.filter.jwt.IstioAuthnFilterFactory.CONFIG_TYPE)
            .add(Cors.getDescriptor())
            .add(CorsPolicy.getDescriptor())
            .add(TcpProxy.getDescriptor())
            .add(com.github.xds.type.v3.TypedStruct.getDescriptor())
            .add(TlsInspector.getDescriptor())
            .add(UpstreamTlsContext.getDescriptor())
            .add(DownstreamTlsContext.getDescriptor())
            .add(HttpProtocolOptions.getDescriptor())
            .add(io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.Secret.getDescriptor())
            .add(io.envoyproxy.envoy.extensions.transport_sockets.raw_buffer.v3.RawBuffer.getDescriptor())
            .add(io.envoyproxy.envoy.extensions.access_loggers.file.v3.FileAccessLog.getDescriptor())
            .add(io.envoyproxy.envoy.extensions.access_loggers.filters.cel.v3.ExpressionFilter.getDescriptor())
            .add(io.envoyproxy.envoy.config.trace.v3.ZipkinConfig.getDescriptor())
            .add(io.envoyproxy.envoy.config.trace.v3.OpenTelemetryConfig.getDescriptor())
            .add(io.envoyproxy.envoy.extensions.filters.http.rbac.v3.RBAC.getDescriptor())
            .add(io.envoyproxy.envoy.extensions.filters.network.rbac.v3.RBAC.getDescriptor())
            .add(io.envoyproxy.envoy.extensions.filters.http.ext_authz.v3.ExtAuthz.getDescriptor())
            .add(io.envoyproxy.envoy.extensions.filters.network.ext_authz.v3.ExtAuthz.getDescriptor())
            .add(io.envoyproxy.envoy.extensions.path.match.uri_template.v3.UriTemplateMatchConfig.getDescriptor())
            // what EnvoyFilter patches commonly add
            .add(io.envoyproxy.envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit.getDescriptor())
            .add(io.envoyproxy.envoy.extensions.filters.http.ratelimit.v3.RateLimit.getDescriptor())
            .add(io.envoyproxy.envoy.extensions.filters.network.local_ratelimit.v3.LocalRateLimit.getDescriptor())
            .add(io.envoyproxy.envoy.extensions.filters.network.ratelimit.v3.RateLimit.getDescriptor())
            .add(io.envoyproxy.envoy.extensions.filters.http.health_check.v3.HealthCheck.getDescriptor())
            .add(com.github.udpa.udpa.type.v1.TypedStruct.getDescriptor())
            .build();

    private XdsGenerator() {}

    /** Returns the resources of {@code typeUrl} for {@code proxy}, by name; empty for unknown types. */
    public static Map<String, Message> generate(String typeUrl, ProxyNode proxy, MeshSnapshot snapshot) {
        return generate(typeUrl, new GenerationContext(proxy, snapshot));
    }

    /** Returns every type's resources for {@code proxy}, keyed by type URL in push order. */
    public static Map<String, Map<String, Message>> generateAll(ProxyNode proxy, MeshSnapshot snapshot) {
        GenerationContext ctx = new GenerationContext(proxy, snapshot);
        Map<String, Map<String, Message>> out = new LinkedHashMap<>();
        for (String type : TypeUrls.ALL) {
            out.put(type, generate(type, ctx));
        }
        return out;
    }

    /** Generates, then applies the proxy's EnvoyFilter patches ({@link EnvoyFilters}). */
    private static Map<String, Message> generate(String typeUrl, GenerationContext ctx) {
        return EnvoyFilters.apply(typeUrl, ctx.proxy, ctx.snapshot, generated(typeUrl, ctx));
    }

    private static Map<String, Message> generated(String typeUrl, GenerationContext ctx) {
        return switch (typeUrl) {
            case TypeUrls.CLUSTER -> ClusterGenerator.generate(ctx);
            case TypeUrls.ENDPOINT -> EndpointGenerator.generate(ctx);
            case TypeUrls.LISTENER -> ListenerGenerator.generate(ctx);
            case TypeUrls.ROUTE -> RouteGenerator.generate(ctx);
            case TypeUrls.SECRET -> SecretGenerator.generate(ctx);
            default -> Map.of();
        };
    }
}
