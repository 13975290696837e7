package io.jmesh.proxy.filter;

import com.google.protobuf.Any;
import com.google.protobuf.Descriptors.Descriptor;

import io.jmesh.proxy.config.ConfigException;

/**
 * Makes filters of one kind from their typed config. Registered in {@link HttpFilterRegistry} under
 * Envoy's filter name and the type URL of its config message.
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

    /** Validates the config once; the result creates one filter per stream (or null for none). */
    PerStream create(Any typedConfig) throws ConfigException;

    /** Creates the filter instance of one stream. */
    interface PerStream {
        HttpFilter newFilter();
    }
}
