package io.jmesh.proxy.network;

import java.util.function.Function;

import com.google.protobuf.Any;

import io.jmesh.proxy.config.ConfigException;
import io.jmesh.proxy.extension.ExtensionContext;
import io.jmesh.proxy.extension.ExtensionFactory;
import io.jmesh.proxy.extension.ExtensionKind;
import io.jmesh.proxy.router.RouteTable;

/**
 * Makes a network filter from its {@code typed_config} (Envoy's {@code NamedNetworkFilterConfigFactory}). Found
 * in the {@link io.jmesh.proxy.extension.ExtensionRegistry} by the config's type URL, else by {@link #name()};
 * a user jar adds one by listing it in {@code META-INF/services/io.jmesh.proxy.extension.ExtensionFactory}.
 */
public interface NetworkFilterFactory extends ExtensionFactory {

    /** The kind of network filter factories. */
    ExtensionKind<NetworkFilterFactory> KIND = ExtensionKind.of("network_filter", NetworkFilterFactory.class);

    @Override
    default ExtensionKind<?> kind() {
        return KIND;
    }

    /**
     * Whether this filter ends a chain (http_connection_manager, tcp_proxy, rpc_proxy): a chain's last filter
     * must be terminal and no other may be.
     */
    default boolean terminal() {
        return false;
    }

    /**
     * Validates the config once, off the event loop. Error messages are relative to the filter and start with
     * {@code typed_config}, e.g. {@code typed_config.stat_prefix: "" (expected: ...)}.
     * {@code typedConfig} is the default instance when the filter has none.
     */
    NetworkFilterInstaller create(Any typedConfig, Context context) throws ConfigException;

    /** What a network filter factory may use: the server's parts and the listener's route tables. */
    interface Context extends ExtensionContext {

        /**
         * The current route table of an RDS route configuration name, or null if none has arrived yet; null when
         * the listener does not take routes from RDS.
         */
        Function<String, RouteTable> routes();

        /** The registry the listener was built with (HTTP filters of an HTTP connection manager). */
        io.jmesh.proxy.extension.ExtensionRegistry registry();
    }
}
