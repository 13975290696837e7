package io.jmesh.proxy.filter.healthcheck;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

import com.google.protobuf.Any;
import com.google.protobuf.Descriptors.Descriptor;
import com.google.protobuf.util.Durations;

import io.envoyproxy.envoy.config.route.v3.HeaderMatcher;
import io.envoyproxy.envoy.extensions.filters.http.health_check.v3.HealthCheck;
import io.jmesh.proxy.config.ConfigException;
import io.jmesh.proxy.filter.HttpFilterFactory;
import io.jmesh.proxy.router.HeaderMatch;
import io.jmesh.proxy.upstream.ClusterManager;

/**
 * {@code envoy.filters.http.health_check} with its {@link HealthCheck} config: {@code pass_through_mode} (required),
 * {@code headers} (all must match for a request to be a health check), {@code cache_time} (only with pass-through,
 * as in Envoy) and {@code cluster_min_healthy_percentages}. The filter keeps no stats, as Envoy's.
 */
public final class HealthCheckFilterFactory implements HttpFilterFactory {

    /** Envoy's canonical name. */
    public static final String NAME = "envoy.filters.http.health_check";

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public Descriptor configType() {
        return HealthCheck.getDescriptor();
    }

    @Override
    public PerStream create(Any typedConfig, Context context) throws ConfigException {
        HealthCheck c = HttpFilterFactory.unpack(typedConfig, HealthCheck.class, HealthCheck.getDescriptor());
        if (!c.hasPassThroughMode()) {
            throw new ConfigException("pass_through_mode: (expected: true or false; the field is required)");
        }
        boolean passThrough = c.getPassThroughMode().getValue();
        long cacheNanos = 0;
        if (c.hasCacheTime()) {
            if (!Durations.isValid(c.getCacheTime()) || Durations.toNanos(c.getCacheTime()) < 0) {
                throw new ConfigException("cache_time: " + Durations.toString(c.getCacheTime())
                        + " (expected: a non-negative duration)");
            }
            cacheNanos = Durations.toNanos(c.getCacheTime());
            if (cacheNanos > 0 && !passThrough) {
                throw new ConfigException("cache_time: " + Durations.toString(c.getCacheTime())
                        + " (expected: unset when pass_through_mode is false)");
            }
        }
        List<HeaderMatch> headers = new ArrayList<>();
        for (int i = 0; i < c.getHeadersCount(); i++) {
            HeaderMatcher h = c.getHeaders(i);
            headers.add(HeaderMatch.from(h, "headers[" + i + "]"));
        }
        Map<String, Double> minHealthy = new LinkedHashMap<>();
        for (Map.Entry<String, io.envoyproxy.envoy.type.v3.Percent> e : c.getClusterMinHealthyPercentagesMap().entrySet()) {
            double v = e.getValue().getValue();
            if (v < 0 || v > 100) {
                throw new ConfigException("cluster_min_healthy_percentages[\"" + e.getKey() + "\"].value: " + v
                        + " (expected: 0 to 100)");
            }
            minHealthy.put(e.getKey(), v);
        }
        Supplier<ClusterManager> clusters = context.clusterManager();
        HealthCheckFilter.Config config = new HealthCheckFilter.Config(passThrough, List.copyOf(headers),
                Map.copyOf(minHealthy), clusters, cacheNanos > 0 ? new HealthCheckFilter.Cache(cacheNanos) : null,
                context.healthCheckFailed());
        return route -> new HealthCheckFilter(config);
    }
}
