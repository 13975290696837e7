package io.jmesh.proxy.filter.ratelimit;

import com.google.protobuf.Any;
import com.google.protobuf.Descriptors.Descriptor;

import io.envoyproxy.envoy.extensions.filters.http.ratelimit.v3.RateLimit;
import io.envoyproxy.envoy.extensions.filters.http.ratelimit.v3.RateLimitPerRoute;
import io.jmesh.proxy.config.ConfigException;
import io.jmesh.proxy.filter.HttpFilterFactory;

/**
 * {@code envoy.filters.http.ratelimit}: global rate limits asked of a {@code RateLimitService} (for example
 * {@code jmesh ratelimit} or envoyproxy/ratelimit) with the descriptors of the route's (or virtual host's)
 * {@code rate_limits}; per route a {@code RateLimitPerRoute} ({@code vh_rate_limits}, {@code rate_limits},
 * {@code domain}). Stats, as Envoy's, under the route's cluster:
 * {@code cluster.<cluster>.ratelimit.ok|over_limit|error|failure_mode_allowed}.
 */
public final class RateLimitFilterFactory implements HttpFilterFactory {

    /** Envoy's canonical name, also the key of its {@code typed_per_filter_config}. */
    public static final String NAME = "envoy.filters.http.ratelimit";

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public Descriptor configType() {
        return RateLimit.getDescriptor();
    }

    @Override
    public PerStream create(Any typedConfig, Context context) throws ConfigException {
        if (typedConfig.getTypeUrl().isEmpty()) {
            throw new ConfigException("typed_config: unset (expected: a RateLimit with domain and"
                    + " rate_limit_service)");
        }
        RateLimitSettings s = new RateLimitSettings(TypedConfigs.unpack(typedConfig, RateLimit.class,
                RateLimit.getDefaultInstance()));
        return route -> {
            Object pr = route == null ? null : route.perFilterConfig(NAME);
            return new RateLimitFilter(s, pr instanceof RateLimitSettings.PerRoute p ? p : null, context);
        };
    }

    @Override
    public Object createRouteConfig(Any typedConfig) throws ConfigException {
        return RateLimitSettings.PerRoute.from(TypedConfigs.unpack(typedConfig, RateLimitPerRoute.class,
                RateLimitPerRoute.getDefaultInstance()));
    }
}
