package io.jmesh.proxy.filter.fault;

import com.google.protobuf.Any;
import com.google.protobuf.Descriptors.Descriptor;

import io.envoyproxy.envoy.extensions.filters.http.fault.v3.HTTPFault;
import io.jmesh.proxy.config.ConfigException;
import io.jmesh.proxy.filter.HttpFilterFactory;
import io.jmesh.proxy.telemetry.Counter;
import io.jmesh.proxy.telemetry.Gauge;

/**
 * {@code envoy.filters.http.fault} with an {@link HTTPFault} config, at the filter level and per route. The
 * per-route config, when a route has one, replaces the filter-level one (Envoy's rule). Stats:
 * {@code http.<stat_prefix>.fault.delays_injected}, {@code aborts_injected}, {@code active_faults}.
 */
public final class FaultFilterFactory implements HttpFilterFactory {

    /** Envoy's canonical name, also the key of its {@code typed_per_filter_config}. */
    public static final String NAME = "envoy.filters.http.fault";

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public Descriptor configType() {
        return HTTPFault.getDescriptor();
    }

    @Override
    public PerStream create(Any typedConfig, Context context) throws ConfigException {
        FaultSettings defaults = typedConfig.getTypeUrl().isEmpty() ? null
                : FaultSettings.from(HttpFilterFactory.unpack(typedConfig, HTTPFault.class, HTTPFault.getDescriptor()));
        FaultStats stats = new FaultStats(context);
        return route -> {
            Object perRoute = route == null ? null : route.perFilterConfig(NAME);
            FaultSettings s = perRoute == null ? defaults : perRoute instanceof FaultSettings f ? f : null;
            return s == null ? null : new FaultFilter(s, stats);
        };
    }

    @Override
    public Object createRouteConfig(Any typedConfig) throws ConfigException {
        FaultSettings s = FaultSettings.from(HttpFilterFactory.unpack(typedConfig, HTTPFault.class,
                HTTPFault.getDescriptor()));
        return s == null ? FaultFilter.NO_FAULT : s;
    }

    /** The filter's stats, looked up once per filter chain. */
    static final class FaultStats {
        final Counter delaysInjected;
        final Counter abortsInjected;
        final Gauge activeFaults;

        FaultStats(Context context) {
            String p = "http." + context.statPrefix() + ".fault.";
            delaysInjected = context.stats().counter(p + "delays_injected");
            abortsInjected = context.stats().counter(p + "aborts_injected");
            activeFaults = context.stats().gauge(p + "active_faults");
        }
    }
}
