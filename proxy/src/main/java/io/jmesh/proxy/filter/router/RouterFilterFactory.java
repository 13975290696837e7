package io.jmesh.proxy.filter.router;

import java.util.function.Supplier;

import com.google.protobuf.Any;
import com.google.protobuf.Descriptors.Descriptor;
import com.google.protobuf.InvalidProtocolBufferException;

import io.envoyproxy.envoy.extensions.filters.http.router.v3.Router;
import io.jmesh.proxy.config.ConfigException;
import io.jmesh.proxy.filter.HttpFilterFactory;
import io.jmesh.proxy.telemetry.Counter;
import io.jmesh.proxy.upstream.ClusterManager;

/**
 * {@code envoy.filters.http.router}: the terminal filter, one {@link RouterFilter} per stream that forwards
 * the request along its route (package {@code io.jmesh.proxy.router}) to an upstream cluster. Its
 * {@link Router} config is validated; none of its fields is acted on yet. Stats:
 * {@code http.<stat_prefix>.shadow_cluster_not_found} and {@code shadow_buffer_overflow}.
 */
public final class RouterFilterFactory implements HttpFilterFactory {

    /** Envoy's canonical name. */
    public static final String NAME = "envoy.filters.http.router";

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public Descriptor configType() {
        return Router.getDescriptor();
    }

    @Override
    public boolean terminal() {
        return true;
    }

    @Override
    public PerStream create(Any typedConfig, Context context) throws ConfigException {
        if (!typedConfig.getTypeUrl().isEmpty()) {
            try {
                typedConfig.unpack(Router.class);
            } catch (InvalidProtocolBufferException e) {
                throw new ConfigException(": " + typedConfig.getTypeUrl()
                        + " (expected: envoy.extensions.filters.http.router.v3.Router)");
            }
        }
        RouterStats stats = new RouterStats(context);
        Supplier<ClusterManager> clusters = context.clusterManager();
        return route -> new RouterFilter(clusters, stats);
    }

    /** The router's HCM-level stats, looked up once per filter chain. */
    static final class RouterStats {
        final Counter shadowClusterNotFound;
        final Counter shadowBufferOverflow;

        RouterStats(Context context) {
            String p = "http." + context.statPrefix() + ".";
            shadowClusterNotFound = context.stats().counter(p + "shadow_cluster_not_found");
            shadowBufferOverflow = context.stats().counter(p + "shadow_buffer_overflow");
        }
    }
}
