package io.jmesh.proxy.filter.stats;

import com.google.protobuf.Any;
import com.google.protobuf.Descriptors.Descriptor;

import io.jmesh.proxy.config.ConfigException;
import io.jmesh.proxy.filter.HttpFilterFactory;

/**
 * Istio's HTTP stats filter, {@code istio.stats} with a {@code stats.PluginConfig} ({@link StatsPluginConfig}):
 * records Istio's standard request metrics ({@link IstioMetrics}) for every stream of its HTTP connection manager,
 * and exchanges peer metadata in the {@code x-envoy-peer-metadata} headers ({@link IstioStatsFilter}).
 */
public final class IstioStatsFilterFactory implements HttpFilterFactory {

    /** Istio's filter name. */
    public static final String NAME = "istio.stats";

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public Descriptor configType() {
        return StatsPluginConfig.DESCRIPTOR;
    }

    @Override
    public PerStream create(Any typedConfig, Context context) throws ConfigException {
        StatsPluginConfig config = StatsPluginConfig.parse(typedConfig);
        IstioMetrics metrics;
        try {
            metrics = new IstioMetrics(context.stats(), context.trafficDirection(), config);
        } catch (IllegalArgumentException e) {
            throw new ConfigException("metrics: " + e.getMessage()
                    + " (expected: the same tags_to_remove as the other istio.stats filters of this proxy)");
        }
        return route -> new IstioStatsFilter(metrics);
    }
}
