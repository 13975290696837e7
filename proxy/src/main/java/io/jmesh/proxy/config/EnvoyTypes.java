package io.jmesh.proxy.config;

import com.google.protobuf.util.JsonFormat;

import io.envoyproxy.envoy.config.bootstrap.v3.Bootstrap;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.extensions.access_loggers.file.v3.FileAccessLog;
import io.envoyproxy.envoy.extensions.access_loggers.stream.v3.StderrAccessLog;
import io.envoyproxy.envoy.extensions.access_loggers.stream.v3.StdoutAccessLog;
import io.envoyproxy.envoy.extensions.filters.http.cors.v3.Cors;
import io.envoyproxy.envoy.extensions.filters.http.fault.v3.HTTPFault;
import io.envoyproxy.envoy.extensions.filters.http.health_check.v3.HealthCheck;
import io.envoyproxy.envoy.extensions.filters.http.router.v3.Router;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import io.envoyproxy.envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext;
import io.envoyproxy.envoy.extensions.upstreams.http.v3.HttpProtocolOptions;

/**
 * The Envoy message types this proxy can read inside an {@code Any} ({@code typed_config},
 * {@code typed_extension_protocol_options}, {@code transport_socket}), and the shared parser for them.
 * A type that parses is not necessarily supported: the filter and extension registries decide that and
 * name the unsupported extension in their error.
 */
public final class EnvoyTypes {

    /** Type URL prefix used by Envoy and gRPC for Any. */
    public static final String TYPE_URL_PREFIX = "type.googleapis.com/";

    public static final JsonFormat.TypeRegistry REGISTRY = JsonFormat.TypeRegistry.newBuilder()
            .add(Bootstrap.getDescriptor())
            .add(Listener.getDescriptor())
            .add(Cluster.getDescriptor())
            .add(RouteConfiguration.getDescriptor())
            .add(ClusterLoadAssignment.getDescriptor())
            .add(HttpConnectionManager.getDescriptor())
            .add(TcpProxy.getDescriptor())
            .add(Router.getDescriptor())
            .add(Cors.getDescriptor())
            .add(HTTPFault.getDescriptor())
            .add(io.envoyproxy.envoy.extensions.filters.http.jwt_authn.v3.JwtAuthentication.getDescriptor())
            .add(io.envoyproxy.envoy.extensions.filters.http.jwt_authn.v3.PerRouteConfig.getDescriptor())
            .add(io.jmesh.proxy.filter.jwt.IstioAuthnFilterFactory.CONFIG_TYPE)
            .add(io.envoyproxy.envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit.getDescriptor())
            .add(io.envoyproxy.envoy.extensions.filters.http.ratelimit.v3.RateLimit.getDescriptor())
            .add(io.envoyproxy.envoy.extensions.filters.http.ratelimit.v3.RateLimitPerRoute.getDescriptor())
            .add(io.envoyproxy.envoy.extensions.filters.network.local_ratelimit.v3.LocalRateLimit.getDescriptor())
            .add(io.envoyproxy.envoy.extensions.filters.network.ratelimit.v3.RateLimit.getDescriptor())
            .add(io.envoyproxy.envoy.extensions.path.match.uri_template.v3.UriTemplateMatchConfig.getDescriptor())
            .add(HealthCheck.getDescriptor())
            .add(io.envoyproxy.envoy.config.trace.v3.ZipkinConfig.getDescriptor()) // HCM / bootstrap tracing providers
            .add(io.envoyproxy.envoy.config.trace.v3.OpenTelemetryConfig.getDescriptor())
            .add(FileAccessLog.getDescriptor())
            .add(io.envoyproxy.envoy.extensions.access_loggers.filters.cel.v3.ExpressionFilter.getDescriptor())
            .add(io.envoyproxy.envoy.config.trace.v3.ZipkinConfig.getDescriptor())
            .add(io.envoyproxy.envoy.config.trace.v3.OpenTelemetryConfig.getDescriptor())
            .add(StdoutAccessLog.getDescriptor())
            .add(StderrAccessLog.getDescriptor())
            .add(UpstreamTlsContext.getDescriptor())
            .add(DownstreamTlsContext.getDescriptor())
            .add(io.envoyproxy.envoy.extensions.transport_sockets.raw_buffer.v3.RawBuffer.getDescriptor())
            .add(io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.Secret.getDescriptor())
            .add(HttpProtocolOptions.getDescriptor())
            .add(com.github.xds.type.v3.TypedStruct.getDescriptor())
            .add(com.github.udpa.udpa.type.v1.TypedStruct.getDescriptor()) // Istio's istio.stats config
            .add(com.github.udpa.udpa.type.v1.TypedStruct.getDescriptor())
            .add(io.envoyproxy.envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector.getDescriptor())
            .add(io.envoyproxy.envoy.extensions.filters.listener.http_inspector.v3.HttpInspector.getDescriptor())
            .add(io.envoyproxy.envoy.extensions.filters.listener.original_dst.v3.OriginalDst.getDescriptor())
            .add(io.envoyproxy.envoy.extensions.filters.listener.original_src.v3.OriginalSrc.getDescriptor())
            .add(io.envoyproxy.envoy.extensions.filters.listener.proxy_protocol.v3.ProxyProtocol.getDescriptor())
            .add(io.envoyproxy.envoy.admin.v3.ConfigDump.getDescriptor())
            .add(io.envoyproxy.envoy.admin.v3.BootstrapConfigDump.getDescriptor())
            .add(io.envoyproxy.envoy.admin.v3.ListenersConfigDump.getDescriptor())
            .add(io.envoyproxy.envoy.admin.v3.ClustersConfigDump.getDescriptor())
            .add(io.envoyproxy.envoy.admin.v3.RoutesConfigDump.getDescriptor())
            .add(io.envoyproxy.envoy.admin.v3.ScopedRoutesConfigDump.getDescriptor())
            .add(io.envoyproxy.envoy.admin.v3.SecretsConfigDump.getDescriptor())
            .add(io.envoyproxy.envoy.admin.v3.EndpointsConfigDump.getDescriptor())
            // authorization (filter.rbac, filter.extauthz)
            .add(io.envoyproxy.envoy.extensions.filters.http.rbac.v3.RBAC.getDescriptor())
            .add(io.envoyproxy.envoy.extensions.filters.http.rbac.v3.RBACPerRoute.getDescriptor())
            .add(io.envoyproxy.envoy.extensions.filters.network.rbac.v3.RBAC.getDescriptor())
            .add(io.envoyproxy.envoy.extensions.filters.http.ext_authz.v3.ExtAuthz.getDescriptor())
            .add(io.envoyproxy.envoy.extensions.filters.http.ext_authz.v3.ExtAuthzPerRoute.getDescriptor())
            .add(io.envoyproxy.envoy.extensions.filters.network.ext_authz.v3.ExtAuthz.getDescriptor())
            // compression and request shaping (filter.compressor, decompressor, buffer, csrf)
            .add(io.envoyproxy.envoy.extensions.filters.http.compressor.v3.Compressor.getDescriptor())
            .add(io.envoyproxy.envoy.extensions.filters.http.compressor.v3.CompressorPerRoute.getDescriptor())
            .add(io.envoyproxy.envoy.extensions.filters.http.decompressor.v3.Decompressor.getDescriptor())
            .add(io.envoyproxy.envoy.extensions.compression.gzip.compressor.v3.Gzip.getDescriptor())
            .add(io.envoyproxy.envoy.extensions.compression.brotli.compressor.v3.Brotli.getDescriptor())
            .add(io.envoyproxy.envoy.extensions.compression.zstd.compressor.v3.Zstd.getDescriptor())
            .add(io.envoyproxy.envoy.extensions.compression.gzip.decompressor.v3.Gzip.getDescriptor())
            .add(io.envoyproxy.envoy.extensions.compression.brotli.decompressor.v3.Brotli.getDescriptor())
            .add(io.envoyproxy.envoy.extensions.compression.zstd.decompressor.v3.Zstd.getDescriptor())
            .add(io.envoyproxy.envoy.extensions.filters.http.buffer.v3.Buffer.getDescriptor())
            .add(io.envoyproxy.envoy.extensions.filters.http.buffer.v3.BufferPerRoute.getDescriptor())
            .add(io.envoyproxy.envoy.extensions.filters.http.csrf.v3.CsrfPolicy.getDescriptor())
            // gRPC bridges, health check and metadata HTTP filters (filter.grpcweb, grpcbridge, healthcheck, metadata)
            .add(io.envoyproxy.envoy.extensions.filters.http.grpc_web.v3.GrpcWeb.getDescriptor())
            .add(io.envoyproxy.envoy.extensions.filters.http.grpc_http1_bridge.v3.Config.getDescriptor())
            .add(io.envoyproxy.envoy.extensions.filters.http.health_check.v3.HealthCheck.getDescriptor())
            .add(io.envoyproxy.envoy.extensions.filters.http.header_to_metadata.v3.Config.getDescriptor())
            .add(io.envoyproxy.envoy.extensions.filters.http.set_metadata.v3.Config.getDescriptor())
            .add(io.envoyproxy.envoy.extensions.filters.http.grpc_json_transcoder.v3.GrpcJsonTranscoder.getDescriptor())
            .build();

    public static final ProtoJson PARSER = new ProtoJson(REGISTRY);

    private EnvoyTypes() {}

    /** {@code type.googleapis.com/} + the message's full name. */
    public static String typeUrl(com.google.protobuf.Descriptors.Descriptor d) {
        return TYPE_URL_PREFIX + d.getFullName();
    }
}
