package io.jmesh.proxy.filter.grpcjson;

import com.google.protobuf.Any;
import com.google.protobuf.Descriptors.Descriptor;

import io.envoyproxy.envoy.extensions.filters.http.grpc_json_transcoder.v3.GrpcJsonTranscoder;
import io.jmesh.proxy.config.ConfigException;
import io.jmesh.proxy.filter.HttpFilterFactory;

/**
 * {@code envoy.filters.http.grpc_json_transcoder} with its {@link GrpcJsonTranscoder}: {@code proto_descriptor}
 * (a file) or {@code proto_descriptor_bin}, {@code services}, {@code print_options}, {@code auto_mapping},
 * {@code match_incoming_request_route}, {@code ignored_query_parameters}, {@code ignore_unknown_query_parameters}
 * and {@code request_validation_options.reject_unknown_method}; other options are refused by name. No stats.
 */
public final class GrpcJsonTranscoderFilterFactory implements HttpFilterFactory {

    /** Envoy's canonical name. */
    public static final String NAME = "envoy.filters.http.grpc_json_transcoder";

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public Descriptor configType() {
        return GrpcJsonTranscoder.getDescriptor();
    }

    @Override
    public PerStream create(Any typedConfig, Context context) throws ConfigException {
        TranscoderConfig config = TranscoderConfig.from(
                HttpFilterFactory.unpack(typedConfig, GrpcJsonTranscoder.class, GrpcJsonTranscoder.getDescriptor()));
        return route -> new GrpcJsonTranscoderFilter(config);
    }
}
