package io.jmesh.proxy.filter.headertometadata;

import com.google.protobuf.Any;
import com.google.protobuf.Descriptors.Descriptor;

import io.envoyproxy.envoy.extensions.filters.http.header_to_metadata.v3.Config;
import io.jmesh.proxy.config.ConfigException;
import io.jmesh.proxy.filter.HttpFilterFactory;

/**
 * {@code envoy.filters.http.header_to_metadata} with its {@link Config}; the same message in a route's
 * {@code typed_per_filter_config} replaces the filter's rules on that route, as in Envoy. No stats.
 */
public final class HeaderToMetadataFilterFactory implements HttpFilterFactory {

    /** Envoy's canonical name. */
    public static final String NAME = "envoy.filters.http.header_to_metadata";

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
        HeaderToMetadataConfig config = HeaderToMetadataConfig.from(
                HttpFilterFactory.unpack(typedConfig, Config.class, Config.getDescriptor()));
        return route -> {
            Object perRoute = route == null ? null : route.perFilterConfig(NAME);
            return new HeaderToMetadataFilter(perRoute instanceof HeaderToMetadataConfig c ? c : config);
        };
    }

    @Override
    public Object createRouteConfig(Any typedConfig) throws ConfigException {
        return HeaderToMetadataConfig.from(HttpFilterFactory.unpack(typedConfig, Config.class, Config.getDescriptor()));
    }
}
