package io.jmesh.proxy.filter.grpcweb;

import com.google.protobuf.Any;
import com.google.protobuf.Descriptors.Descriptor;

import io.envoyproxy.envoy.extensions.filters.http.grpc_web.v3.GrpcWeb;
import io.jmesh.proxy.config.ConfigException;
import io.jmesh.proxy.filter.HttpFilterFactory;
import io.jmesh.proxy.telemetry.Stats;

/**
 * {@code envoy.filters.http.grpc_web} (config: the empty {@link GrpcWeb}). Stats, as Envoy's:
 * {@code cluster.<upstream cluster>.grpc-web.<service>.<method>.total}, {@code .success} and {@code .failure}
 * (by the response's {@code grpc-status}).
 */
public final class GrpcWebFilterFactory implements HttpFilterFactory {

    /** Envoy's canonical name. */
    public static final String NAME = "envoy.filters.http.grpc_web";

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public Descriptor configType() {
        return GrpcWeb.getDescriptor();
    }

    @Override
    public PerStream create(Any typedConfig, Context context) throws ConfigException {
        if (!typedConfig.getTypeUrl().isEmpty()) {
            HttpFilterFactory.unpack(typedConfig, GrpcWeb.class, GrpcWeb.getDescriptor());
        }
        Stats stats = context.stats();
        return route -> new GrpcWebFilter(stats);
    }
}
