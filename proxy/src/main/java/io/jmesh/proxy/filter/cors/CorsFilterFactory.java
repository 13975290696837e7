package io.jmesh.proxy.filter.cors;

import com.google.protobuf.Any;
import com.google.protobuf.Descriptors.Descriptor;

import io.envoyproxy.envoy.extensions.filters.http.cors.v3.Cors;
import io.envoyproxy.envoy.extensions.filters.http.cors.v3.CorsPolicy;
import io.jmesh.proxy.config.ConfigException;
import io.jmesh.proxy.filter.HttpFilterFactory;
import io.jmesh.proxy.telemetry.Counter;

/**
 * {@code envoy.filters.http.cors}: the filter-level config is the empty {@link Cors}; the policy comes per
 * route as a {@link CorsPolicy} in {@code typed_per_filter_config}. Stats:
 * {@code http.<stat_prefix>.cors.origin_valid} and {@code origin_invalid}.
 */
public final class CorsFilterFactory implements HttpFilterFactory {

    /** Envoy's canonical name, also the key of its {@code typed_per_filter_config}. */
    public static final String NAME = "envoy.filters.http.cors";

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public Descriptor configType() {
        return Cors.getDescriptor();
    }

    @Override
    public PerStream create(Any typedConfig, Context context) throws ConfigException {
        if (!typedConfig.getTypeUrl().isEmpty()) {
            HttpFilterFactory.unpack(typedConfig, Cors.class, Cors.getDescriptor());
        }
        String p = "http." + context.statPrefix() + ".cors.";
        Counter valid = context.stats().counter(p + "origin_valid");
        Counter invalid = context.stats().counter(p + "origin_invalid");
        return route -> route != null && route.perFilterConfig(NAME) instanceof CorsPolicyConfig policy
                ? new CorsFilter(policy, valid, invalid) : null;
    }

    @Override
    public Object createRouteConfig(Any typedConfig) throws ConfigException {
        return new CorsPolicyConfig(HttpFilterFactory.unpack(typedConfig, CorsPolicy.class, CorsPolicy.getDescriptor()));
    }
}
