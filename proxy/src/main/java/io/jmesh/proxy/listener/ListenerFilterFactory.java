package io.jmesh.proxy.listener;

import java.util.function.Supplier;

import com.google.protobuf.Any;

import io.jmesh.proxy.config.ConfigException;
import io.jmesh.proxy.extension.ExtensionContext;
import io.jmesh.proxy.extension.ExtensionFactory;
import io.jmesh.proxy.extension.ExtensionKind;

/**
 * Makes a listener filter from its {@code typed_config} (Envoy's {@code NamedListenerFilterConfigFactory}). Found
 * in the {@link io.jmesh.proxy.extension.ExtensionRegistry} by the config's type URL, else by {@link #name()}.
 */
public interface ListenerFilterFactory extends ExtensionFactory {

    /** The kind of listener filter factories. */
    ExtensionKind<ListenerFilterFactory> KIND = ExtensionKind.of("listener_filter", ListenerFilterFactory.class);

    @Override
    default ExtensionKind<?> kind() {
        return KIND;
    }

    /**
     * Validates the config once, off the event loop; the result gives the filter of each new connection.
     * {@code typedConfig} is the default instance when the filter has none. Error messages start with
     * {@code typed_config}.
     */
    Supplier<ListenerFilter> create(Any typedConfig, ExtensionContext context) throws ConfigException;
}
