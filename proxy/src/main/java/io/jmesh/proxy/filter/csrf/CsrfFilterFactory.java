package io.jmesh.proxy.filter.csrf;

import com.google.protobuf.Any;
import com.google.protobuf.Descriptors.Descriptor;

import io.envoyproxy.envoy.extensions.filters.http.csrf.v3.CsrfPolicy;
import io.jmesh.proxy.config.ConfigException;
import io.jmesh.proxy.filter.HttpFilterFactory;

/**
 * {@code envoy.filters.http.csrf} ({@link CsrfPolicy} at the filter level and per route; a route's policy replaces
 * the filter's). Stats {@code http.<stat_prefix>.csrf.missing_source_origin}, {@code request_invalid},
 * {@code request_valid}.
 */
public final class CsrfFilterFactory implements HttpFilterFactory {

    /** Envoy's canonical name, also the key of its {@code typed_per_filter_config}. */
    public static final String NAME = "envoy.filters.http.csrf";

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public Descriptor configType() {
        return CsrfPolicy.getDescriptor();
    }

    @Override
    public PerStream create(Any typedConfig, Context context) throws ConfigException {
        CsrfPolicyConfig policy = new CsrfPolicyConfig(
                HttpFilterFactory.unpack(typedConfig, CsrfPolicy.class, CsrfPolicy.getDescriptor()));
        String p = "http." + context.statPrefix() + ".csrf.";
        CsrfFilter.Stats stats = new CsrfFilter.Stats(context.stats().counter(p + "missing_source_origin"),
                context.stats().counter(p + "request_invalid"), context.stats().counter(p + "request_valid"));
        return route -> {
            Object perRoute = route == null ? null : route.perFilterConfig(NAME);
            return new CsrfFilter(perRoute instanceof CsrfPolicyConfig r ? r : policy, stats);
        };
    }

    @Override
    public Object createRouteConfig(Any typedConfig) throws ConfigException {
        return new CsrfPolicyConfig(HttpFilterFactory.unpack(typedConfig, CsrfPolicy.class, CsrfPolicy.getDescriptor()));
    }
}
