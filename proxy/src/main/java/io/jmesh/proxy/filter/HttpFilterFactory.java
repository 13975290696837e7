package io.jmesh.proxy.filter;

import com.google.protobuf.Any;
import com.google.protobuf.Descriptors.Descriptor;

import java.util.function.Supplier;

import io.jmesh.proxy.config.ConfigException;
import io.jmesh.proxy.router.RouteEntry;
import io.jmesh.proxy.telemetry.Stats;
import io.jmesh.proxy.upstream.ClusterManager;

/**
 * Makes filters of one kind from their typed config. Registered in {@link HttpFilterRegistry} under
 * Envoy's filter name and the type URL of its config message; a factory outside this module is found with
 * {@link java.util.ServiceLoader} (a {@code META-INF/services/io.jmesh.proxy.filter.HttpFilterFactory} entry).
 */
public interface HttpFilterFactory {

    /** Envoy's canonical filter name, e.g. {@code envoy.filters.http.router}. */
    String name();

    /** The config message type, e.g. {@code envoy.extensions.filters.http.router.v3.Router}. */
    Descriptor configType();

    /** Whether this is the terminal router filter. */
    default boolean terminal() {
        return false;
    }

    /**
     * Validates the config once; the result creates one filter per stream (or null for none). Error
     * messages are relative to the {@code typed_config}.
     */
    PerStream create(Any typedConfig, Context context) throws ConfigException;

    /**
     * Parses a route-specific config ({@code typed_per_filter_config}) once, when the route table is built;
     * the filter gets the result from {@link RouteEntry#perFilterConfig(String)} in {@link PerStream#newFilter}
     * or from {@link StreamFilterCallbacks#perFilterConfig(String)}. By default a
     * filter takes none.
     */
    default Object createRouteConfig(Any typedConfig) throws ConfigException {
        throw new ConfigException("@type: " + typedConfig.getTypeUrl() + " (expected: no route-specific config for "
                + name() + ")");
    }

    /** Creates the filter instance of one stream. */
    interface PerStream {
        /**
         * Returns the filter of a stream routed to {@code route} (null when no route matched), or null when
         * neither the filter's own config nor the route's {@code typed_per_filter_config} gives it anything to
         * do on this stream: such a filter is neither created nor run. The result is a {@link StreamDecoderFilter},
         * a {@link StreamEncoderFilter} or both ({@link HttpFilter}); it runs in the directions it implements.
         */
        StreamFilterBase newFilter(RouteEntry route);
    }

    /** Where a filter chain lives: its HTTP connection manager's stats. */
    interface Context {
        Stats stats();

        /** The HCM's {@code stat_prefix}; filter stats are {@code http.<stat_prefix>.<filter>.<name>}. */
        String statPrefix();

        /** The traffic direction of the listener ({@code UNSPECIFIED} when unknown). */
        default io.envoyproxy.envoy.config.core.v3.TrafficDirection trafficDirection() {
            return io.envoyproxy.envoy.config.core.v3.TrafficDirection.UNSPECIFIED;
        }

        /** The clusters (for the router); the supplier returns the current snapshot, or null before any. */
        default Supplier<ClusterManager> clusterManager() {
            return () -> null;
        }

        /**
         * The worker event loops, for filters that work in the background (a JWKS {@code async_fetch}); null when
         * the chain is built without a server (config validation).
         */
        default io.netty.channel.EventLoopGroup eventLoopGroup() {
            return null;
        }

        /** Whether the server is failing health checks ({@code POST /healthcheck/fail}); read per request. */
        default java.util.function.BooleanSupplier healthCheckFailed() {
            return () -> false;
        }
    }

    /** Unpacks {@code any} as {@code type}, or fails with Envoy-style path and expectation. */
    static <T extends com.google.protobuf.Message> T unpack(Any any, Class<T> type, Descriptor descriptor)
            throws ConfigException {
        try {
            return any.unpack(type);
        } catch (com.google.protobuf.InvalidProtocolBufferException e) {
            throw new ConfigException("@type: " + any.getTypeUrl() + " (expected: type.googleapis.com/" + descriptor.getFullName() + ")", e);
        }
    }
}
