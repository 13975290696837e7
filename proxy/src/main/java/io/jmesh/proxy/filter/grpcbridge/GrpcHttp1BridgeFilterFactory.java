package io.jmesh.proxy.filter.grpcbridge;

import com.google.protobuf.Any;
import com.google.protobuf.Descriptors.Descriptor;

import io.envoyproxy.envoy.extensions.filters.http.grpc_http1_bridge.v3.Config;
import io.jmesh.proxy.config.ConfigException;
import io.jmesh.proxy.filter.HttpFilterFactory;

/**
 * {@code envoy.filters.http.grpc_http1_bridge} with its {@link Config} ({@code upgrade_protobuf_to_grpc},
 * {@code ignore_query_parameters}). Like Envoy's, this filter keeps no stats (Envoy moved gRPC stats to the
 * {@code grpc_stats} filter).
 */
public final class GrpcHttp1BridgeFilterFactory implements HttpFilterFactory {

    /** Envoy's canonical name. */
    public static final String NAME = "envoy.filters.http.grpc_http1_bridge";

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public Descriptor configType() {
        return Config.getDescriptor();
    }

    @Override
    public PerStream create(Any typedConfig, Context context) throws ConfigException {
        Config c = typedConfig.getTypeUrl().isEmpty() ? Config.getDefaultInstance()
                : HttpFilterFactory.unpack(typedConfig, Config.class, Config.getDescriptor());
        boolean upgrade = c.getUpgradeProtobufToGrpc();
        boolean ignoreQuery = c.getIgnoreQueryParameters();
        return route -> new GrpcHttp1BridgeFilter(upgrade, ignoreQuery);
    }
}
