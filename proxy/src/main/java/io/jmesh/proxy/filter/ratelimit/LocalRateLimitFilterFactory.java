package io.jmesh.proxy.filter.ratelimit;

import java.util.function.LongSupplier;

import com.google.protobuf.Any;
import com.google.protobuf.Descriptors.Descriptor;

import io.envoyproxy.envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit;
import io.jmesh.proxy.config.ConfigException;
import io.jmesh.proxy.filter.HttpFilterFactory;

/**
 * {@code envoy.filters.http.local_ratelimit} with a {@code LocalRateLimit} config, at the filter level and per route
 * ({@code typed_per_filter_config}); a route's config replaces the filter's, with buckets of its own. A filter
 * without {@code token_bucket} and without {@code descriptors}, on a route without its own config, does nothing.
 * Stats {@code <stat_prefix>.http_local_rate_limit.enabled|enforced|rate_limited|ok}, under the config's own
 * {@code stat_prefix} as in Envoy.
 */
public final class LocalRateLimitFilterFactory implements HttpFilterFactory {

    /** Envoy's canonical name, also the key of its {@code typed_per_filter_config}. */
    public static final String NAME = "envoy.filters.http.local_ratelimit";

    private final LongSupplier nanoClock;

    /** Buckets on {@link System#nanoTime()}. */
    public LocalRateLimitFilterFactory() {
        this(System::nanoTime);
    }

    /** Buckets on {@code nanoClock} (tests). */
    public LocalRateLimitFilterFactory(LongSupplier nanoClock) {
        this.nanoClock = nanoClock;
    }

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public Descriptor configType() {
        return LocalRateLimit.getDescriptor();
    }

    @Override
    public PerStream create(Any typedConfig, Context context) throws ConfigException {
        LocalRateLimitSettings defaults = typedConfig.getTypeUrl().isEmpty() ? null : parse(typedConfig);
        return route -> {
            Object perRoute = route == null ? null : route.perFilterConfig(NAME);
            LocalRateLimitSettings s = perRoute instanceof LocalRateLimitSettings l ? l : defaults;
            return s == null ? null : new LocalRateLimitFilter(s, context.stats());
        };
    }

    @Override
    public Object createRouteConfig(Any typedConfig) throws ConfigException {
        return parse(typedConfig);
    }

    private LocalRateLimitSettings parse(Any typedConfig) throws ConfigException {
        return LocalRateLimitSettings.from(TypedConfigs.unpack(typedConfig, LocalRateLimit.class,
                LocalRateLimit.getDefaultInstance()), nanoClock);
    }
}
